package inject

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSecretFileFallsBackToFIFO: a kernel without memfd (ENOSYS) or a
// seccomp filter that refuses it (EPERM) gets the FIFO other Unix systems
// use, read once, never a plain file; another failure is an error.
func TestSecretFileFallsBackToFIFO(t *testing.T) {
	// Not parallel: it replaces memfdCreate for the package.
	defer func(orig func(string, int) (int, error)) { memfdCreate = orig }(memfdCreate)
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM} {
		memfdCreate = func(string, int) (int, error) { return -1, errno }
		sf, err := NewSecretFile("DOTENV_PATH", NewValue("A='x'\n"))
		if err != nil {
			t.Fatalf("%v: %v", errno, err)
		}
		if sf.Rereadable() || sf.file != nil {
			t.Fatalf("%v: not a FIFO", errno)
		}
		st, err := os.Lstat(sf.Path())
		if err != nil || st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o600 {
			t.Fatalf("%v: %s is %v, %v", errno, sf.Path(), st.Mode(), err)
		}
		b, err := os.ReadFile(sf.Path())
		if err != nil || string(b) != "A='x'\n" {
			t.Fatalf("%v: read %q, %v", errno, b, err)
		}
		dir := sf.dir
		if err := sf.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%v: %s left behind: %v", errno, dir, err)
		}
	}
	memfdCreate = func(string, int) (int, error) { return -1, unix.EMFILE }
	if sf, err := NewSecretFile("X", NewValue("v")); err == nil {
		sf.Close()
		t.Fatal("EMFILE: no error")
	}
}
