package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The hash chain finds edited, deleted, inserted and reordered lines, but
// not a log cut short at its end or replaced whole by a consistent forgery.
// The anchor closes that gap: after each append made with the user's
// identity at hand, hush records, next to the log, the size of the current
// segment and the hash of its last line, authenticated with an HMAC keyed
// from the identity. A log shorter than its anchor, or whose line at the
// anchored offset has another hash, fails verification; so does a missing
// anchor for a log that identity-holding commands wrote to.

// anchor is the content of <log>.anchor.
type anchor struct {
	Segment string `json:"segment"`
	Offset  int64  `json:"offset"`
	Head    string `json:"head"`
	// Seq counts anchored appends; the witness keeps the same count
	// elsewhere, so a log and anchor restored from an older copy are
	// behind it. Anchors of hush before the witness have none (v1).
	Seq int64  `json:"seq,omitempty"`
	MAC string `json:"mac"`
}

func (a *anchor) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	if a.Seq == 0 {
		fmt.Fprintf(m, "hush audit anchor v1\n%s\n%d\n%s", a.Segment, a.Offset, a.Head)
	} else {
		fmt.Fprintf(m, "hush audit anchor v2\n%s\n%d\n%s\n%d", a.Segment, a.Offset, a.Head, a.Seq)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Log) anchorPath() string { return l.Path + ".anchor" }

// writeAnchor replaces the anchor, then the witness copies. The order
// matters: a crash between the two leaves the witness behind the anchor,
// which verifies, never ahead of it, which reads as a rollback. When the
// witness cannot be written the old anchor (old, nil: none) is put back.
//
// The anchor is one record padded to 512 bytes and written in place at
// the start of the file (storeRecord), not a temporary file renamed over
// the old one: creating and renaming a file on every append was most of
// an append's cost on a busy disk. A write of one aligned sector is
// atomic on the disks hush runs on, so a crash leaves the old record or
// the new one. Unlike the file witness, the anchor keeps no second slot
// with the previous append: that record would be all one needs to cut
// the last append off the log and fall back to it.
func (l *Log) writeAnchor(key []byte, offset int64, head string, seq int64, old []byte, durable bool) error {
	a := anchor{Segment: filepath.Base(l.Path), Offset: offset, Head: head, Seq: seq}
	a.MAC = a.mac(key)
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := storeRecord(l.anchorPath(), b, durable); err != nil {
		return err
	}
	if err := l.storeWitness(append(b, '\n'), durable); err != nil {
		putBack(l.anchorPath(), old, durable)
		return err
	}
	return nil
}

// segments returns the archived segments in order, then the live log.
func (l *Log) segments() ([]string, error) {
	dir, base := filepath.Split(l.Path)
	stem := strings.TrimSuffix(base, ".jsonl")
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var segs []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, stem+".") && strings.HasSuffix(n, ".jsonl") && n != base {
			segs = append(segs, filepath.Join(dir, n))
		}
	}
	sort.Strings(segs) // zero-padded sequence numbers sort in order
	return append(segs, l.Path), nil
}

// rotate archives the live log as the next numbered segment. The chain
// simply continues in the new file. Called under the log's lock.
func (l *Log) rotate() (archived string, err error) {
	segs, err := l.segments()
	if err != nil {
		return "", err
	}
	stem := strings.TrimSuffix(l.Path, ".jsonl")
	next := fmt.Sprintf("%s.%06d.jsonl", stem, len(segs))
	if _, err := os.Lstat(next); err == nil {
		return "", fmt.Errorf("audit: cannot rotate: %s exists", next)
	}
	return next, os.Rename(l.Path, next)
}

// Report is the outcome of VerifyAll.
type Report struct {
	Lines    int
	Segments int
	// Anchored says the anchor was checked and holds; AnchoredLine is the
	// last line it covers (lines after it were written without an
	// identity at hand).
	Anchored     bool
	AnchoredLine int
	// AnchorNote explains why the anchor was not checked, if it was not.
	AnchorNote string
	// Witnessed says the witness agrees with the anchor; Seq is the
	// anchored append count. WitnessNote explains why it was not checked.
	Witnessed   bool
	Seq         int64
	WitnessNote string
	// Rollbacks are the lines recording a rollback found at an append.
	Rollbacks []int
}

// VerifyAll checks the chain across every segment and, when key is not
// nil, the anchor. fn, when not nil, receives each entry in order.
func (l *Log) VerifyAll(key []byte, fn func(lineNo int, e Entry) error) (Report, error) {
	var rep Report
	segs, err := l.segments()
	if err != nil {
		return rep, err
	}
	var readers []io.Reader
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var liveStart int // line number of the first line of the live log
	hadIdentity := false
	for i, s := range segs {
		if i == len(segs)-1 {
			rc, err := l.Open()
			if err != nil {
				return rep, err
			}
			closers = append(closers, rc)
			readers = append(readers, rc)
			continue
		}
		f, err := os.Open(s)
		if err != nil {
			return rep, err
		}
		closers = append(closers, f)
		readers = append(readers, f)
	}
	rep.Segments = len(segs)
	// Count the lines of archived segments to know where the live log
	// starts, then walk everything as one chain.
	var archivedBytes int64
	for _, s := range segs[:len(segs)-1] {
		b, err := os.ReadFile(s)
		if err != nil {
			return rep, err
		}
		liveStart += bytes.Count(b, []byte("\n"))
		archivedBytes += int64(len(b))
	}
	var offsets []int64 // end offset in the live log of each live line
	var hashes []string
	var off int64
	err = Scan(io.MultiReader(readers...), func(n int, e Entry) error {
		rep.Lines = n
		if e.Identity != "" {
			hadIdentity = true
		}
		if e.Action == AuditRollback {
			rep.Rollbacks = append(rep.Rollbacks, n)
		}
		if n > liveStart {
			hashes = append(hashes, e.Hash)
		}
		if fn != nil {
			return fn(n, e)
		}
		return nil
	})
	var torn *TornError
	if errors.As(err, &torn) {
		// Scan counts bytes across every segment; the torn line is in the
		// live log.
		torn.Path, torn.Offset = l.Path, torn.Offset-archivedBytes
	}
	if err != nil {
		return rep, err
	}
	// Line end offsets of the live log, from its bytes.
	if live, rerr := l.Open(); rerr == nil {
		b, _ := io.ReadAll(live)
		live.Close()
		for i, c := range b {
			if c == '\n' {
				offsets = append(offsets, int64(i+1))
			}
		}
		off = int64(len(b))
	}
	if key == nil {
		rep.AnchorNote = "anchor not checked (no identity at hand)"
		return rep, nil
	}
	w, err := l.loadWitness(key)
	if err != nil {
		return rep, err
	}
	a, _, err := l.readAnchor(key)
	if err != nil {
		return rep, err
	}
	if a == nil {
		switch {
		case w.a != nil:
			return rep, fmt.Errorf("%w: the anchor %s is missing, but %s records %d anchored appends: the log was deleted or replaced together with its anchor", ErrChain, l.anchorPath(), w.where, w.a.Seq)
		case hadIdentity:
			return rep, fmt.Errorf("%w: the anchor %s is missing: the log may have been replaced or cut short", ErrChain, l.anchorPath())
		}
		rep.AnchorNote = "no anchor yet (no line was written with an identity)"
		return rep, nil
	}
	if w.a != nil && w.a.Seq > a.Seq {
		return rep, fmt.Errorf("%w: the log and its anchor are behind %s (append %d there, %d in the anchor): they were rolled back to an older copy", ErrChain, w.where, w.a.Seq, a.Seq)
	}
	if w.a != nil && w.a.Seq == a.Seq && (w.a.Head != a.Head || w.a.Offset != a.Offset || w.a.Segment != a.Segment) {
		return rep, fmt.Errorf("%w: the anchor does not match %s at append %d: the log and its anchor were replaced", ErrChain, w.where, a.Seq)
	}
	switch {
	case a.Seq > 0 && w.a == nil && len(l.Witnesses) > 0:
		return rep, fmt.Errorf("%w: the audit witness is missing (%s): it was deleted, or the log and anchor come from elsewhere", ErrChain, l.Witnesses[len(l.Witnesses)-1].Name())
	case a.Seq == 0 && len(l.Witnesses) > 0:
		rep.WitnessNote = "no witness yet (the anchor predates it; the next append writes one)"
	case w.a != nil:
		rep.Witnessed, rep.Seq = true, a.Seq
	}
	if a.Segment != filepath.Base(l.Path) {
		return rep, fmt.Errorf("%w: the anchor names segment %s", ErrChain, a.Segment)
	}
	if a.Offset > off {
		return rep, fmt.Errorf("%w: the log is shorter (%d bytes) than anchored (%d bytes): lines were cut from its end", ErrChain, off, a.Offset)
	}
	if a.Offset == 0 && len(offsets) == 0 {
		rep.Anchored = true
		return rep, nil
	}
	for i, o := range offsets {
		if o == a.Offset {
			if hashes[i] != a.Head {
				return rep, fmt.Errorf("%w at line %d: it is not the line anchored there: the log was rewritten", ErrChain, liveStart+i+1)
			}
			rep.Anchored, rep.AnchoredLine = true, liveStart+i+1
			return rep, nil
		}
	}
	return rep, fmt.Errorf("%w: no line ends at the anchored offset %d: the log was rewritten", ErrChain, a.Offset)
}
