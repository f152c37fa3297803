package inject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Spec describes a child for Run.
type Spec struct {
	// Argv is the command and its arguments, run as given (never through a
	// shell). Argv[0] is looked up in the PATH of Env, not of hush.
	Argv []string
	// Env is the child's whole environment (see BuildEnv).
	Env Environ
	// Dir is the child's working directory; "" keeps hush's.
	Dir string
	// Stdin, Stdout and Stderr are the child's standard streams. An *os.File
	// is handed to the child as it is (byte-exact, and a terminal stays a
	// terminal); another reader or writer is copied through a pipe; nil is
	// the null device.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles are inherited by the child at the same descriptor number
	// they have in hush, so a /dev/fd/N path made before Run holds in the
	// child whether Run execs or supervises. The child gets no other
	// descriptor beyond 0–2.
	ExtraFiles []*os.File
	// Files are secrets as in-memory files (NewSecretFile); Run hands each
	// to the child and stays when one needs hush to feed it.
	Files []*SecretFile
	// Stay makes hush supervise the child instead of exec'ing it, e.g. to
	// renew a lease while it runs. Mask and FIFO-backed Files imply it.
	Stay bool
	// Mask, when set, replaces secret values in the child's stdout and
	// stderr. When Stdout is a terminal, the child writes to a
	// pseudo-terminal (so it still sees a terminal and keeps its colours)
	// whose output is masked on its way to Stdout; NoPTY uses pipes instead.
	Mask  *Masker
	NoPTY bool
	// KillDelay is how long Run waits after ctx is done and SIGTERM was sent
	// before it sends SIGKILL. Zero means 10 seconds.
	KillDelay time.Duration

	// trace, in tests, hears each signal hush received and whether it was
	// forwarded.
	trace func(sig os.Signal, forwarded bool)
}

// Exit codes for a child that did not run, after env(1) and docker run.
const (
	CodeFailed        = 125 // hush failed before starting the child
	CodeNotExecutable = 126 // the command was found but cannot be run
	CodeNotFound      = 127 // the command was not found
)

var (
	// ErrNotFound means argv[0] is not in the child's PATH or does not exist.
	ErrNotFound = errors.New("command not found")
	// ErrNotExecutable means argv[0] exists but cannot be executed.
	ErrNotExecutable = errors.New("command not executable")
)

// StartError is a failure before the child ran. Code is the exit status the
// CLI should use: CodeFailed, CodeNotExecutable or CodeNotFound.
type StartError struct {
	Code int
	Cmd  string
	Err  error
}

func (e *StartError) Error() string { return fmt.Sprintf("run %s: %v", e.Cmd, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// Run runs spec.Argv and returns its exit code: the child's own, or 128+N
// when signal N killed it. When the child could not be started, the code is
// 125, 126 or 127 and err is a *StartError.
//
// When nothing needs hush to stay (no Stay, Mask or FIFO file, and the three
// streams are hush's own descriptors 0, 1 and 2), Run execs the child in
// place of hush and returns only on failure. Otherwise it starts the child in
// hush's own process group, forwards the signals hush receives (see
// ForwardedSignals for which and when), waits, drains the child's output and
// returns. When ctx is done it sends the child SIGTERM, then SIGKILL after
// KillDelay, and returns the code the child ends with.
func Run(ctx context.Context, spec Spec) (code int, err error) {
	fail := func(code int, err error) (int, error) {
		name := ""
		if len(spec.Argv) > 0 {
			name = spec.Argv[0]
		}
		return code, &StartError{Code: code, Cmd: name, Err: err}
	}
	if len(spec.Argv) == 0 {
		return fail(CodeFailed, errors.New("no command given"))
	}
	if err := ctx.Err(); err != nil {
		return fail(CodeFailed, err)
	}
	argv0 := spec.Argv[0]
	if spec.Dir != "" && strings.ContainsRune(argv0, filepath.Separator) && !filepath.IsAbs(argv0) {
		// A relative command is relative to the child's directory.
		if argv0, err = filepath.Abs(filepath.Join(spec.Dir, argv0)); err != nil {
			return fail(CodeFailed, err)
		}
	}
	path, err := lookPath(argv0, spec.Env)
	if err != nil {
		return fail(classify(err), err)
	}
	keep := append([]*os.File(nil), spec.ExtraFiles...)
	for _, f := range spec.Files {
		if !f.feeder() {
			keep = append(keep, f.file)
		}
	}
	extra, err := identityFiles(keep)
	if err != nil {
		return fail(CodeFailed, err)
	}
	if mayExec(spec) {
		err := execChild(path, spec.Argv, spec.Env, spec.Dir, keep)
		return fail(classify(err), err)
	}
	return supervise(ctx, spec, path, extra)
}

// mayExec reports whether nothing needs hush to stay while the child runs.
func mayExec(spec Spec) bool {
	if spec.Stay || spec.Mask != nil || runtime.GOOS == "windows" {
		return false
	}
	for _, f := range spec.Files {
		if f.feeder() {
			return false
		}
	}
	return isStd(spec.Stdin, 0) && isStd(spec.Stdout, 1) && isStd(spec.Stderr, 2)
}

// isStd reports whether s is hush's own descriptor fd.
func isStd(s any, fd uintptr) bool {
	f, ok := s.(*os.File)
	return ok && f != nil && f.Fd() == fd
}

// identityFiles lays files out as exec.Cmd.ExtraFiles so that each keeps its
// descriptor number in the child: entry i is descriptor 3+i, gaps are nil
// (closed in the child).
func identityFiles(files []*os.File) ([]*os.File, error) {
	var out []*os.File
	for _, f := range files {
		fd := int(f.Fd())
		if fd < 3 || fd > 1<<16 {
			return nil, fmt.Errorf("extra file %s has descriptor %d (want 3…65536)", f.Name(), fd)
		}
		for len(out) <= fd-3 {
			out = append(out, nil)
		}
		out[fd-3] = f
	}
	return out, nil
}

// exitCode reads a finished child's status: its code, or 128+N for a death
// by signal N.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return CodeFailed
	}
	if n, ok := signalNumber(ps); ok {
		return 128 + n
	}
	return ps.ExitCode()
}

// supervise starts the child, forwards signals, waits and drains its output.
func supervise(ctx context.Context, spec Spec, path string, extra []*os.File) (int, error) {
	fail := func(err error) (int, error) {
		return CodeFailed, &StartError{Code: CodeFailed, Cmd: spec.Argv[0], Err: err}
	}
	cmd := &exec.Cmd{Path: path, Args: spec.Argv, Env: spec.Env, Dir: spec.Dir, ExtraFiles: extra}
	st, err := wire(spec, cmd)
	// The death signal is tied to the thread that forks the child: keep
	// this goroutine on one thread, which lives as long as the child does.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dieWithHush(cmd)
	if err != nil {
		return fail(err)
	}
	defer st.abort()
	sigs, stop := notifySignals()
	defer stop()
	fwd := newForwarder(st.pty, st.ttyOut)
	defer fwd.close()
	if err := closeOnExecAll(); err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return CodeFailed, &StartError{Code: classify(err), Cmd: spec.Argv[0], Err: err}
	}
	st.started()
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	var kill <-chan time.Time
	done := ctx.Done()
	for {
		select {
		case sig := <-sigs:
			forwarded := fwd.forward(sig)
			if forwarded {
				_ = cmd.Process.Signal(sig) // fails only when the child is gone
			}
			if spec.trace != nil {
				spec.trace(sig, forwarded)
			}
		case <-done:
			done = nil
			_ = terminate(cmd.Process)
			delay := spec.KillDelay
			if delay <= 0 {
				delay = 10 * time.Second
			}
			kill = time.After(delay)
		case <-kill:
			_ = cmd.Process.Kill()
		case <-waitc:
			// The child's status is in cmd.ProcessState whatever Wait said.
			st.drain()
			return exitCode(cmd.ProcessState), nil
		}
	}
}
