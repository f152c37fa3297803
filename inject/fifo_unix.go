//go:build unix

package inject

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// newFIFOFile makes a FIFO in a new 0700 directory and feeds v to the first
// process that opens it, from a goroutine: the value passes through the
// kernel's pipe buffer only, never a file on disk. Run stays while the child
// runs so the feeder lives. NewSecretFile uses it where there is no memfd.
func newFIFOFile(name string, v Value) (*SecretFile, error) {
	dir, err := os.MkdirTemp("", "hush-") // created 0700
	if err != nil {
		return nil, fmt.Errorf("inject: fifo for %s: %w", quoteName(name), err)
	}
	path := filepath.Join(dir, name)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("inject: fifo for %s: %w", quoteName(name), err)
	}
	done := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(done)
		w, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for a reader
		if err != nil {
			return
		}
		_, _ = w.WriteString(v.s)
		_ = w.Close()
	}()
	stop := func() {
		once.Do(func() {
			// Unblock the feeder wherever it is: be a reader, so its open
			// succeeds (or wakes), and drain what it writes until it is done.
			r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := r.Read(buf); err != nil { // EOF before the feeder opens, EAGAIN
						select {
						case <-done:
							return
						case <-time.After(5 * time.Millisecond):
						}
					}
				}
			}()
			<-done
			_ = r.Close()
		})
	}
	return &SecretFile{path: path, dir: dir, stop: stop}, nil
}
