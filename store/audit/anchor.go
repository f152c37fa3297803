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

	"github.com/hush-secrets/hush/store"
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
	MAC     string `json:"mac"`
}

func (a *anchor) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "hush audit anchor v1\n%s\n%d\n%s", a.Segment, a.Offset, a.Head)
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Log) anchorPath() string { return l.Path + ".anchor" }

func (l *Log) writeAnchor(key []byte, offset int64, head string, durable bool) error {
	a := anchor{Segment: filepath.Base(l.Path), Offset: offset, Head: head}
	a.MAC = a.mac(key)
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	// Replaced atomically: a torn anchor would read as a forgery.
	if durable {
		return store.WriteFileAtomic(l.anchorPath(), append(b, '\n'))
	}
	return store.ReplaceFile(l.anchorPath(), append(b, '\n'))
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
	ab, err := os.ReadFile(l.anchorPath())
	if errors.Is(err, fs.ErrNotExist) {
		if !hadIdentity {
			rep.AnchorNote = "no anchor yet (no line was written with an identity)"
			return rep, nil
		}
		return rep, fmt.Errorf("%w: the anchor %s is missing: the log may have been replaced or cut short", ErrChain, l.anchorPath())
	}
	if err != nil {
		return rep, err
	}
	var a anchor
	if json.Unmarshal(ab, &a) != nil || !hmac.Equal([]byte(a.MAC), []byte(a.mac(key))) {
		return rep, fmt.Errorf("%w: the anchor is not authentic for your identity (forged, or written with another identity)", ErrChain)
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
