package inject

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// drainIdle is how long, once the child has exited, Run keeps reading its
// output while nothing arrives. It only matters when a descendant of the
// child still holds the pipe or terminal open; the child's own output is in
// the pipe already and is read without waiting.
const drainIdle = 500 * time.Millisecond

// streams are the child's standard streams as wired by Run.
type streams struct {
	pty       *os.File   // the masking pseudo-terminal's master, or nil
	ttyOut    *os.File   // the real terminal the pty mirrors, or nil
	childSide []*os.File // our copies of the child's ends, closed once it runs
	copiers   []*copier
	once      sync.Once
}

// copier moves one output stream from the child to its destination,
// through a MaskWriter when masking.
type copier struct {
	r      *os.File
	w      io.Writer
	mw     *MaskWriter
	exited atomic.Bool
	done   chan struct{}
}

// wire sets cmd's streams from spec.
func wire(spec Spec, cmd *exec.Cmd) (*streams, error) {
	s := &streams{}
	switch in := spec.Stdin.(type) {
	case nil:
	case *os.File:
		cmd.Stdin = in
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.Stdin = r
		s.childSide = append(s.childSide, r)
		// This goroutine outlives Run if in blocks; it ends at in's EOF or
		// when the child's end is gone.
		go func() {
			_, _ = io.Copy(w, in)
			_ = w.Close()
		}()
	}
	if spec.Mask != nil && !spec.NoPTY {
		if out, ok := spec.Stdout.(*os.File); ok && isTerminal(out) {
			master, slave, err := openPTY(out)
			if err != nil {
				return nil, err
			}
			s.pty, s.ttyOut = master, out
			s.childSide = append(s.childSide, slave)
			s.copiers = append(s.copiers, newCopier(master, spec.Stdout, spec.Mask))
			cmd.Stdout = slave
			if errf, ok := spec.Stderr.(*os.File); ok && isTerminal(errf) {
				cmd.Stderr = slave
				return s, nil
			}
			return s, s.output(&cmd.Stderr, spec.Stderr, spec.Mask)
		}
	}
	if err := s.output(&cmd.Stdout, spec.Stdout, spec.Mask); err != nil {
		s.abort()
		return nil, err
	}
	if sameWriter(spec.Stdout, spec.Stderr) {
		// One pipe for both keeps their order and one writer at a time, as
		// os/exec does.
		cmd.Stderr = cmd.Stdout
		return s, nil
	}
	if err := s.output(&cmd.Stderr, spec.Stderr, spec.Mask); err != nil {
		s.abort()
		return nil, err
	}
	return s, nil
}

// output sets *dst, the child's side of one output stream.
func (s *streams) output(dst *io.Writer, w io.Writer, m *Masker) error {
	if w == nil {
		return nil // the null device
	}
	if f, ok := w.(*os.File); ok && m == nil {
		*dst = f
		return nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	*dst = pw
	s.childSide = append(s.childSide, pw)
	s.copiers = append(s.copiers, newCopier(r, w, m))
	return nil
}

func sameWriter(a, b io.Writer) (same bool) {
	defer func() { _ = recover() }() // an incomparable dynamic type
	return a != nil && a == b
}

func newCopier(r *os.File, w io.Writer, m *Masker) *copier {
	c := &copier{r: r, w: w, done: make(chan struct{})}
	if m != nil {
		c.mw = m.Writer(w)
		c.w = c.mw
	}
	return c
}

func (c *copier) run() {
	defer close(c.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.r.Read(buf)
		if n > 0 {
			if _, werr := c.w.Write(buf[:n]); werr != nil {
				// Our destination is gone: close the child's pipe so its
				// next write fails as it would have without hush between.
				_ = c.r.Close()
				return
			}
			if c.exited.Load() {
				_ = c.r.SetReadDeadline(time.Now().Add(drainIdle))
			}
		}
		if err != nil {
			return // EOF; EIO from a pty whose other side is closed; idle
		}
	}
}

// started closes hush's copies of the child's ends, so that the child's exit
// ends the streams, and starts copying.
func (s *streams) started() {
	for _, f := range s.childSide {
		_ = f.Close()
	}
	s.childSide = nil
	for _, c := range s.copiers {
		go c.run()
	}
}

// drain, once the child has exited, copies what is left of its output,
// gives up on a stream that stays silent for drainIdle, and flushes the
// maskers.
func (s *streams) drain() {
	for _, c := range s.copiers {
		c.exited.Store(true)
		if err := c.r.SetReadDeadline(time.Now().Add(drainIdle)); errors.Is(err, os.ErrNoDeadline) {
			// Not pollable: the stream ends when its last writer closes.
			continue
		}
	}
	for _, c := range s.copiers {
		<-c.done
		if c.mw != nil {
			_ = c.mw.Close()
		}
	}
	s.abort()
}

// abort closes everything Run opened. It is idempotent.
func (s *streams) abort() {
	s.once.Do(func() {
		for _, f := range s.childSide {
			_ = f.Close()
		}
		for _, c := range s.copiers {
			_ = c.r.Close()
		}
		if s.pty != nil {
			_ = s.pty.Close()
		}
	})
}
