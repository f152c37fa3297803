package inject

import (
	"errors"
	"os"
)

// SecretFile is a secret the child reads as a file (hush run --file
// VAR=KEY), never written to disk: on Linux a sealed memfd the child
// inherits, elsewhere on Unix a FIFO in a private directory fed by hush.
// Hand it to Run in Spec.Files and set VAR to Path in the child's
// environment. Close it after Run.
type SecretFile struct {
	path string
	file *os.File // the memfd handed to the child; nil for a FIFO
	dir  string   // the FIFO's private directory
	stop func()   // stops the FIFO's feeder
}

// ErrFileUnsupported is returned by NewSecretFile where no in-memory file
// can be made (Windows): hush refuses rather than write a plain file.
var ErrFileUnsupported = errors.New("secrets as files are not supported on this system (it would need a plaintext file)")

// Path is what the child opens: /dev/fd/N for a memfd (N is the same in
// hush and in the child), the FIFO's path otherwise. It is not secret.
func (f *SecretFile) Path() string { return f.path }

// Rereadable reports whether the child may open Path more than once. A
// memfd can be; a FIFO yields its content to the first reader only.
func (f *SecretFile) Rereadable() bool { return f.file != nil }

// feeder reports whether hush must stay to feed the file.
func (f *SecretFile) feeder() bool { return f.file == nil }

// Close releases the file: the memfd is closed (the child keeps its own
// copy while it runs), the FIFO's feeder stopped and its directory removed.
func (f *SecretFile) Close() error {
	var err error
	if f.stop != nil {
		f.stop()
	}
	if f.file != nil {
		err = f.file.Close()
	}
	if f.dir != "" {
		err = errors.Join(err, os.RemoveAll(f.dir))
	}
	return err
}
