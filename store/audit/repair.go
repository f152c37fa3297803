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
	"os"
	"path/filepath"
)

// Repaired describes what Repair cut.
type Repaired struct {
	Offset int64  // where the torn line started
	Len    int    // how many bytes were cut
	SHA256 string // of the bytes cut
	Looks  string
	Line   int // the line number of the repair record
	// Completed says the last line was whole and chained but for its
	// newline: it was kept and the newline added, not cut.
	Completed bool
}

// Detail is the text of the repair record.
func (r *Repaired) Detail() string {
	if r.Completed {
		return fmt.Sprintf("completed a last line that lacked only its newline: offset %d, %d bytes, sha256 %s", r.Offset, r.Len, r.SHA256)
	}
	return fmt.Sprintf("cut a torn last line: offset %d, %d bytes, sha256 %s (%s)", r.Offset, r.Len, r.SHA256, r.Looks)
}

// maxRepairRead bounds the live log Repair reads whole: far above the
// rotation size, so only a log something else grew is refused.
const maxRepairRead = 256 << 20

// Repair cuts a torn last line (bytes after the last newline) off the live
// log and records the cut in the chain as an AuditRepair line built from
// e, naming its offset, length and SHA-256, so the log verifies again and
// still shows that something was removed. It returns nil and no error
// when the log does not end in a torn line.
//
// Repair changes nothing when the log is broken anywhere but at its end,
// or when the bytes it would cut hold lines the anchor covers (a crash
// tears only what was never anchored; anything else was cut or rewritten,
// and repair must not launder it). key, when not nil, authenticates the
// anchor and is used to refresh it after the repair.
func (l *Log) Repair(key []byte, e Entry) (*Repaired, error) {
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	f, st, err := l.openLive(0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > maxRepairRead {
		return nil, fmt.Errorf("audit: %s is %d bytes, more than hush ever writes to one segment; refusing to repair it", l.Path, st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("audit: read: %w", err)
	}
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return nil, nil
	}
	cut := bytes.LastIndexByte(b, '\n') + 1
	tail := b[cut:]
	prev, err := l.checkBefore(b[:cut])
	if err != nil {
		return nil, err
	}
	if err := l.checkAnchorBefore(key, int64(cut)); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tail)
	r := &Repaired{Offset: int64(cut), Len: len(tail), SHA256: hex.EncodeToString(sum[:]), Looks: looks(tail)}
	r.Line = bytes.Count(b[:cut], []byte("\n")) + 1
	if chainsAfter(tail, prev) {
		// Nothing is missing but the newline: keep the line.
		r.Completed = true
		r.Line++
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return nil, l.cutBack(f, int64(len(b)), fmt.Errorf("audit: repair: %w", err))
		}
	} else if err := f.Truncate(int64(cut)); err != nil {
		return nil, fmt.Errorf("audit: repair: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("audit: repair: %w", err)
	}
	e.Action, e.Path, e.Success, e.Error, e.Detail = AuditRepair, filepath.Base(l.Path), true, "", r.Detail()
	withKey := *l
	withKey.AnchorKey = key
	if err := withKey.appendLocked([]Entry{e}); err != nil {
		return nil, fmt.Errorf("audit: the torn line was cut (%s) but the repair could not be recorded: %w", r.Detail(), err)
	}
	return r, nil
}

// checkBefore verifies the chain of every archived segment and of live,
// the live log's bytes up to the torn line, and returns its last hash.
func (l *Log) checkBefore(live []byte) (string, error) {
	segs, err := l.segments()
	if err != nil {
		return "", err
	}
	var readers []io.Reader
	for _, s := range segs[:len(segs)-1] {
		f, err := os.Open(s)
		if err != nil {
			return "", err
		}
		defer f.Close()
		readers = append(readers, f)
	}
	readers = append(readers, bytes.NewReader(live))
	last := genesis
	if err := Scan(io.MultiReader(readers...), func(_ int, e Entry) error { last = e.Hash; return nil }); err != nil {
		return "", fmt.Errorf("%w; repair cuts only a torn last line and changed nothing", err)
	}
	return last, nil
}

// chainsAfter says line (without its newline) is a whole audit line that
// follows the line whose hash is prev.
func chainsAfter(line []byte, prev string) bool {
	body, hash, err := splitLine(line)
	if err != nil {
		return false
	}
	var e Entry
	if json.Unmarshal(line, &e) != nil {
		return false
	}
	return e.Prev == prev && e.Hash == hash && chainHash(prev, body) == hash
}

// checkAnchorBefore refuses a cut at offset when the anchor covers bytes
// past it, or (with key) is not authentic.
func (l *Log) checkAnchorBefore(key []byte, offset int64) error {
	ab, _, err := loadSlots(l.anchorPath())
	if err == nil && ab == nil {
		return nil
	}
	if err != nil && !errors.Is(err, errNoRecord) && !errors.Is(err, errTooLarge) {
		return fmt.Errorf("audit: %w", err)
	}
	var a anchor
	if err != nil || json.Unmarshal(ab, &a) != nil {
		return fmt.Errorf("%w: the anchor %s is not valid; repair changed nothing", ErrChain, l.anchorPath())
	}
	if key != nil && !hmac.Equal([]byte(a.MAC), []byte(a.mac(key))) {
		return fmt.Errorf("%w: the anchor is not authentic for your identity; repair changed nothing", ErrChain)
	}
	if a.Segment == filepath.Base(l.Path) && a.Offset > offset {
		return fmt.Errorf("%w: the torn line starts at byte %d but the anchor covers the log to byte %d: anchored lines were cut or rewritten, not torn by a crash; repair changed nothing", ErrChain, offset, a.Offset)
	}
	return nil
}
