package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRepair: whatever bytes follow a valid log, Verify never panics;
// a torn tail is named where it starts; and Repair either refuses,
// changing nothing, or leaves a log that verifies and keeps every valid
// line that was there.
func FuzzRepair(f *testing.F) {
	f.Add([]byte(`{"timestamp":"2026-11-01T10:00:00Z","act`))
	f.Add([]byte("\x00\x00\x00"))
	f.Add([]byte("garbage\n{\"timestamp\""))
	f.Add([]byte("\n"))
	dir := f.TempDir()
	base := &Log{Path: filepath.Join(dir, "seed.jsonl")}
	for i := 0; i < 3; i++ {
		if err := base.Append(Entry{Time: time.Unix(int64(i), 0).UTC(), Action: SecretRead, Path: "p/dev/K", Success: true}); err != nil {
			f.Fatal(err)
		}
	}
	good, _ := os.ReadFile(base.Path)
	f.Fuzz(func(t *testing.T, tail []byte) {
		log := append(append([]byte{}, good...), tail...)
		_, verr := Verify(bytes.NewReader(log))
		var torn *TornError
		if errors.As(verr, &torn) {
			if torn.Offset+int64(torn.Len) != int64(len(log)) || bytes.IndexByte(log[torn.Offset:], '\n') >= 0 {
				t.Fatalf("torn at %d+%d of %d bytes", torn.Offset, torn.Len, len(log))
			}
		}
		l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
		if err := os.WriteFile(l.Path, log, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := l.Repair(nil, Entry{Time: time.Unix(9, 0).UTC(), Command: "fuzz"})
		after, _ := os.ReadFile(l.Path)
		if err != nil || r == nil {
			if !bytes.Equal(after, log) {
				t.Fatalf("Repair (%v) changed the log", err)
			}
			return
		}
		if !bytes.HasPrefix(after, log[:r.Offset]) {
			t.Fatal("Repair changed lines before the tear")
		}
		if _, err := Verify(bytes.NewReader(after)); err != nil {
			t.Fatalf("after Repair: %v", err)
		}
	})
}
