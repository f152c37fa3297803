//go:build unix

package edit

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRunEndsOnTERM: a TERM (or HUP) while the editor runs removes the
// buffer at once, ends the editor and is returned; INT and QUIT are the
// editor's and do not end the edit.
func TestRunEndsOnTERM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev.env")
	if err := os.WriteFile(path, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 4)
	sigs <- syscall.SIGINT
	sigs <- syscall.SIGQUIT
	sigs <- syscall.SIGTERM
	start := time.Now()
	sig, err := Run([]string{"sleep", "30"}, path, sigs)
	if sig != syscall.SIGTERM || err != nil {
		t.Fatalf("Run = %v, %v; want SIGTERM", sig, err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the editor was not ended")
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the buffer is still there: %v", err)
	}
}

// TestRunEditorOutcomes: an editor that exits 0 is no error, even after an
// INT it handled; one that fails is an *exec.ExitError; one that cannot
// start is a *StartError; the buffer is left to the caller in each case.
func TestRunEditorOutcomes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev.env")
	os.WriteFile(path, []byte("A=1\n"), 0o600)
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGINT
	if sig, err := Run([]string{"sh", "-c", "sleep 0.2"}, path, sigs); sig != nil || err != nil {
		t.Errorf("a good editor after INT: %v, %v", sig, err)
	}
	var ee *exec.ExitError
	if sig, err := Run([]string{"false"}, path, sigs); sig != nil || !errors.As(err, &ee) {
		t.Errorf("a failing editor: %v, %v", sig, err)
	}
	var se *StartError
	if _, err := Run([]string{filepath.Join(t.TempDir(), "no-such-editor")}, path, sigs); !errors.As(err, &se) {
		t.Errorf("a missing editor: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the buffer went: %v", err)
	}
}
