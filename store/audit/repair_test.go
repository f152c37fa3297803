package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// failingWrite writes the first n bytes of a batch, then fails with err
// (nil: a short write that reports no error).
func failingWrite(n int, err error) func(*os.File, []byte) (int, error) {
	return func(f *os.File, b []byte) (int, error) {
		k, werr := f.Write(b[:min(n, len(b))])
		if werr != nil {
			return k, werr
		}
		return k, err
	}
}

func TestFailedAppendLeavesNoTornLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		n    int
		err  error
	}{
		{"disk full", 37, syscall.ENOSPC},
		{"quota", 1, syscall.EDQUOT},
		{"file size limit", 200, syscall.EFBIG},
		{"short write", 90, nil},
		{"nothing written", 0, syscall.EIO},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
			appendN(t, l, 3, "age1me")
			before, _ := os.ReadFile(l.Path)
			l.write = failingWrite(c.n, c.err)
			err := l.Append(Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev/A", Success: true},
				Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev/B", Success: true})
			if err == nil || !strings.HasPrefix(err.Error(), "audit: write: ") {
				t.Fatalf("Append = %v, want a write error", err)
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("Append = %v, want %v", err, c.err)
			}
			if c.err == nil && !strings.Contains(err.Error(), "short write") {
				t.Fatalf("Append = %v, want short write", err)
			}
			after, _ := os.ReadFile(l.Path)
			if !bytes.Equal(before, after) {
				t.Fatalf("log changed by a failed append: %d bytes before, %d after", len(before), len(after))
			}
			// The next append works and everything verifies.
			l.write = nil
			appendN(t, l, 1, "age1me")
			if rep, err := l.VerifyAll(testKey, nil); err != nil || rep.Lines != 4 || !rep.Anchored || rep.AnchoredLine != 4 {
				t.Fatalf("after: %+v, %v", rep, err)
			}
		})
	}
}

func TestFailedAnchorCutsTheLineBack(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
	appendN(t, l, 2, "age1me")
	before, _ := os.ReadFile(l.Path)
	// A directory where the anchor's temporary file must go cannot take
	// it: replace the anchor by a non-empty directory.
	os.Remove(l.anchorPath())
	os.MkdirAll(filepath.Join(l.anchorPath(), "x"), 0o700)
	if err := l.Append(Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev/A", Identity: "age1me"}); err == nil || !strings.Contains(err.Error(), "audit: anchor:") {
		t.Fatalf("Append = %v, want an anchor error", err)
	}
	if after, _ := os.ReadFile(l.Path); !bytes.Equal(before, after) {
		t.Fatal("the line the anchor could not cover stayed")
	}
}

func TestTornTailIsNamedAndRefused(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
	appendN(t, l, 3, "age1me")
	good, _ := os.ReadFile(l.Path)
	cases := []struct {
		name, tail, looks string
	}{
		{"cut line", `{"timestamp":"2026-11-01T10:00:00Z","action":"secret.re`, "the start of an audit line, cut short"},
		{"zeros", "\x00\x00\x00\x00\x00\x00\x00\x00", "NUL bytes"},
		{"other", "garbage", "not the start of an audit line"},
	}
	for _, c := range cases {
		os.WriteFile(l.Path, append(append([]byte{}, good...), c.tail...), 0o600)
		want := fmt.Sprintf("torn last line at byte %d: %d bytes without a newline (%s", len(good), len(c.tail), c.looks)
		_, err := l.VerifyAll(testKey, nil)
		var torn *TornError
		if !errors.As(err, &torn) || !errors.Is(err, ErrChain) || torn.Line != 4 || !strings.Contains(err.Error(), "at line 4: "+want) {
			t.Errorf("%s: VerifyAll = %v", c.name, err)
		}
		if strings.Contains(err.Error(), c.tail) {
			t.Errorf("%s: the error quotes the torn bytes: %v", c.name, err)
		}
		for what, err := range map[string]error{"Append": l.Append(Entry{Action: SecretRead}), "Writable": l.Writable()} {
			if !errors.As(err, &torn) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %s = %v", c.name, what, err)
			}
		}
	}
}

func TestRepairCutsAndRecords(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
	appendN(t, l, 3, "age1me")
	good, _ := os.ReadFile(l.Path)
	tail := []byte(`{"timestamp":"2026-11-01T10:00:00Z","act`)
	os.WriteFile(l.Path, append(append([]byte{}, good...), tail...), 0o600)

	r, err := l.Repair(testKey, Entry{Time: time.Now(), Identity: "age1me", Command: "hush audit repair", PID: 7})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tail)
	if r.Offset != int64(len(good)) || r.Len != len(tail) || r.SHA256 != hex.EncodeToString(sum[:]) || r.Line != 4 {
		t.Fatalf("Repair = %+v", r)
	}
	var last Entry
	rep, err := l.VerifyAll(testKey, func(_ int, e Entry) error { last = e; return nil })
	if err != nil || rep.Lines != 4 || !rep.Anchored || rep.AnchoredLine != 4 {
		t.Fatalf("after repair: %+v, %v", rep, err)
	}
	if last.Action != AuditRepair || last.Path != "audit.jsonl" || last.Detail != r.Detail() ||
		!strings.Contains(last.Detail, fmt.Sprintf("offset %d, %d bytes, sha256 %s", len(good), len(tail), r.SHA256)) {
		t.Fatalf("repair line: %+v", last)
	}
	after, _ := os.ReadFile(l.Path)
	if !bytes.HasPrefix(after, good) || bytes.Contains(after[len(good):], tail) {
		t.Fatal("repair changed the lines before the tear")
	}
	// Nothing left to repair; appends work again.
	if r, err := l.Repair(testKey, Entry{}); r != nil || err != nil {
		t.Fatalf("second Repair = %+v, %v", r, err)
	}
	appendN(t, l, 1, "age1me")
	if rep, err := l.VerifyAll(testKey, nil); err != nil || rep.Lines != 5 {
		t.Fatalf("append after repair: %+v, %v", rep, err)
	}
}

func TestRepairWithoutKeyKeepsTheAnchorValid(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
	appendN(t, l, 2, "age1me")
	f, _ := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("{\"times"))
	f.Close()
	if _, err := l.Repair(nil, Entry{Time: time.Now(), Command: "hush audit repair"}); err != nil {
		t.Fatal(err)
	}
	rep, err := l.VerifyAll(testKey, nil)
	if err != nil || rep.Lines != 3 || !rep.Anchored || rep.AnchoredLine != 2 {
		t.Fatalf("after a repair without the key: %+v, %v", rep, err)
	}
}

func TestRepairRefusesWhatACrashCannotDo(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
	appendN(t, l, 3, "age1me")
	good, _ := os.ReadFile(l.Path)

	// The last anchored line lost its newline: cutting it would launder
	// a truncation.
	os.WriteFile(l.Path, good[:len(good)-1], 0o600)
	if r, err := l.Repair(testKey, Entry{}); r != nil || !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "anchored lines were cut or rewritten") {
		t.Fatalf("anchored tail: %+v, %v", r, err)
	}
	if b, _ := os.ReadFile(l.Path); !bytes.Equal(b, good[:len(good)-1]) {
		t.Fatal("a refused repair changed the log")
	}

	// An edited line before the tear.
	edited := bytes.Replace(good, []byte("K1"), []byte("K7"), 1)
	os.WriteFile(l.Path, append(edited, "{\"ti"...), 0o600)
	if r, err := l.Repair(testKey, Entry{}); r != nil || !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "at line 2: content does not match its hash") {
		t.Fatalf("edited line: %+v, %v", r, err)
	}
}

func TestFailedAppendAfterRotationUndoesIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := &Log{Path: filepath.Join(dir, "audit.jsonl"), MaxSize: 1, AnchorKey: testKey}
	appendN(t, l, 2, "age1me") // the second append rotated the first line away
	live, _ := os.ReadFile(l.Path)
	before, _ := os.ReadDir(dir)
	// The next append rotates, then its write fails.
	l.write = failingWrite(10, syscall.ENOSPC)
	if err := l.Append(Entry{Action: SecretRead}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append = %v", err)
	}
	after, _ := os.ReadDir(dir)
	if got, _ := os.ReadFile(l.Path); !bytes.Equal(got, live) || len(after) != len(before) {
		t.Fatalf("the failed append left the rotation: %d files before, %d after", len(before), len(after))
	}
	l.write = nil
	appendN(t, l, 1, "age1me")
	if rep, err := l.VerifyAll(testKey, nil); err != nil || rep.Lines != 3 || rep.Segments != 3 || !rep.Anchored {
		t.Fatalf("VerifyAll = %+v, %v", rep, err)
	}
}

func TestRepairCompletesAWholeLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := &Log{Path: path, AnchorKey: testKey}
	appendN(t, l, 2, "age1me")
	good, _ := os.ReadFile(path)
	// A line written whole but for its newline (a power loss can keep
	// that much), never anchored since the anchor follows the line.
	appendN(t, &Log{Path: path}, 1, "")
	full, _ := os.ReadFile(path)
	os.WriteFile(path, full[:len(full)-1], 0o600)
	r, err := l.Repair(testKey, Entry{Time: time.Now(), Command: "hush audit repair"})
	if err != nil || !r.Completed || r.Offset != int64(len(good)) || r.Len != len(full)-len(good)-1 || r.Line != 4 ||
		!strings.HasPrefix(r.Detail(), "completed a last line that lacked only its newline: offset ") {
		t.Fatalf("Repair = %+v, %v", r, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.HasPrefix(after, full) {
		t.Fatal("the whole line was not kept")
	}
	if rep, err := l.VerifyAll(testKey, nil); err != nil || rep.Lines != 4 || !rep.Anchored || rep.AnchoredLine != 4 {
		t.Fatalf("after: %+v, %v", rep, err)
	}
}

func TestLongTornTail(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	appendN(t, l, 2, "")
	good, _ := os.ReadFile(l.Path)
	os.WriteFile(l.Path, append(append([]byte{}, good...), bytes.Repeat([]byte("x"), 200<<10)...), 0o600)
	var torn *TornError
	if err := l.Writable(); !errors.As(err, &torn) || torn.Offset != int64(len(good)) || torn.Len != 200<<10 {
		t.Fatalf("Writable = %v (%+v)", err, torn)
	}
	if r, err := l.Repair(nil, Entry{}); err != nil || r.Len != 200<<10 {
		t.Fatalf("Repair = %+v, %v", r, err)
	}
	if rep, err := l.VerifyAll(nil, nil); err != nil || rep.Lines != 3 {
		t.Fatalf("after: %+v, %v", rep, err)
	}
}
