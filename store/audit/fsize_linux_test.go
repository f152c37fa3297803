package audit

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFileSizeLimit appends past a real RLIMIT_FSIZE (what `ulimit -f`
// sets) in a child process, where the kernel makes the write short and then
// fails it with EFBIG (Go ignores the SIGXFSZ that comes with it): the log
// must be cut back to its last whole line.
func TestFileSizeLimit(t *testing.T) {
	if os.Getenv("HUSH_AUDIT_FSIZE_CHILD") == "" {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		l := &Log{Path: path, AnchorKey: testKey}
		appendN(t, l, 2, "age1me")
		before, _ := os.ReadFile(path)
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileSizeLimit$", "-test.count=1")
		cmd.Env = append(os.Environ(), "HUSH_AUDIT_FSIZE_CHILD="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "child: file too large") {
			t.Fatalf("child did not hit the limit:\n%s", out)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) {
			t.Fatalf("log after the failed append: %d bytes, want %d", len(after), len(before))
		}
		if rep, err := l.VerifyAll(testKey, nil); err != nil || rep.Lines != 2 || !rep.Anchored {
			t.Fatalf("VerifyAll = %+v, %v", rep, err)
		}
		return
	}
	path := os.Getenv("HUSH_AUDIT_FSIZE_CHILD")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Room for part of one more line: the batch below is torn by the limit.
	lim := uint64(st.Size() + 100)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		t.Fatal(err)
	}
	l := &Log{Path: path, AnchorKey: testKey}
	var batch []Entry
	for i := 0; i < 10; i++ {
		batch = append(batch, Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev/K" + strconv.Itoa(i), Identity: "age1me", Success: true})
	}
	err = l.Append(batch...)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("Append past RLIMIT_FSIZE = %v, want EFBIG", err)
	}
	os.Stdout.WriteString("child: file too large: " + err.Error() + "\n")
}
