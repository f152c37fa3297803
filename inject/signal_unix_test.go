//go:build unix

package inject

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// startHush starts the test binary as hush supervising a "signals" child.
// It returns hush's process, the merged output of hush and the child, and
// a way to wait for hush.
func startHush(t *testing.T, attr *syscall.SysProcAttr, stdio *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(self(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), helperEnv + "=hush-stay:signals"}
	cmd.SysProcAttr = attr
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio, stdio, stdio
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(cmd) })
	watchdog(t, cmd)
	return cmd
}

// killGroup ends hush and its child, which share the process group of the
// session hush leads, so a failed test leaves no orphan behind.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

// watchdog kills hush if a test is still waiting for it after a minute, so
// that a signal never passed on fails the test instead of hanging it. It
// asserts nothing about time.
func watchdog(t *testing.T, cmd *exec.Cmd) {
	timer := time.AfterFunc(time.Minute, func() {
		t.Errorf("hush still running after a minute: killed")
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	t.Cleanup(func() { timer.Stop() })
}

// termClean drops what a terminal adds to a line: CR, and the echo of
// Ctrl-C and Ctrl-\.
var termClean = strings.NewReplacer("^C", "", "^\\", "", "\r", "")

// countLines counts the lines of out that equal line.
func countLines(out, line string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if termClean.Replace(l) == line {
			n++
		}
	}
	return n
}

// TestSignalsForwardedOnce: with no terminal around, every signal sent to
// hush's PID reaches the child exactly once.
func TestSignalsForwardedOnce(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A new session has no controlling terminal, whatever runs the tests.
	cmd := startHush(t, &syscall.SysProcAttr{Setsid: true}, w)
	_ = w.Close()
	var out bytes.Buffer
	lines := &lineReader{t, bufio.NewScanner(io.TeeReader(r, &out))}
	lines.waitFor("ready")
	sigs := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGINT,
		syscall.SIGQUIT, syscall.SIGWINCH, syscall.SIGTERM}
	for _, sig := range sigs {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		lines.waitFor(fmt.Sprintf("got %v", sig))
	}
	_, _ = io.Copy(io.Discard, io.TeeReader(r, &out))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hush: %v\n%s", err, out.String())
	}
	for _, sig := range sigs {
		if n := countLines(out.String(), fmt.Sprintf("got %v", sig)); n != 1 {
			t.Errorf("child got %v %d times", sig, n)
		}
		if n := countLines(out.String(), fmt.Sprintf("hush: %v forwarded=true", sig)); n != 1 {
			t.Errorf("hush forwarded %v %d times", sig, n)
		}
	}
}

// TestTerminalSignalsNotDoubled runs hush in the foreground of a real
// pseudo-terminal. Ctrl-C, Ctrl-\ and a resize reach the child from the
// terminal itself, so hush must not forward them; SIGTERM sent to hush's
// PID must be.
func TestTerminalSignalsNotDoubled(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		requireOrSkip(t, "no pseudo-terminal: "+err.Error())
	}
	defer master.Close()
	cmd := startHush(t, &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}, slave)
	_ = slave.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	lines := &lineReader{t, bufio.NewScanner(io.TeeReader(master, lockedWriter{&mu, &out}))}
	lines.waitFor("ready")
	steps := []struct {
		send func() error
		sig  syscall.Signal
	}{
		{func() error { _, err := master.Write([]byte{0x03}); return err }, syscall.SIGINT},  // Ctrl-C
		{func() error { _, err := master.Write([]byte{0x1c}); return err }, syscall.SIGQUIT}, // Ctrl-\
		{func() error { return pty.Setsize(master, &pty.Winsize{Rows: 33, Cols: 101}) }, syscall.SIGWINCH},
	}
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatal(err)
		}
		// Both hush and the child get it: wait for both to say so.
		want := []string{fmt.Sprintf("got %v", s.sig), fmt.Sprintf("hush: %v forwarded=false", s.sig)}
		for seen := map[string]bool{}; len(seen) < 2; {
			if !lines.s.Scan() {
				t.Fatalf("output ended waiting for %v:\n%s", s.sig, out.String())
			}
			// The terminal echoes the control characters as ^C and ^\.
			l := termClean.Replace(lines.s.Text())
			if l == want[0] || l == want[1] {
				seen[l] = true
			} else if strings.HasPrefix(l, "hush: ") {
				t.Fatalf("unexpected %q", l)
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	lines.waitFor("got terminated")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hush: %v", err)
	}
	// Read what hush wrote last, up to the EIO of a terminal nobody holds.
	_, _ = io.Copy(io.Discard, io.TeeReader(master, lockedWriter{&mu, &out}))
	mu.Lock()
	defer mu.Unlock()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH, syscall.SIGTERM} {
		if n := countLines(out.String(), fmt.Sprintf("got %v", sig)); n != 1 {
			t.Errorf("child got %v %d times:\n%s", sig, n, out.String())
		}
	}
	if n := countLines(out.String(), "hush: terminated forwarded=true"); n != 1 {
		t.Errorf("SIGTERM forwarded %d times", n)
	}
}

// TestHangupReachesChild closes the terminal of a hush that leads its
// session: the kernel sends SIGHUP to hush alone, so hush must pass it on.
func TestHangupReachesChild(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		requireOrSkip(t, "no pseudo-terminal: "+err.Error())
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(self(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), helperEnv + "=hush-stay:signals"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(cmd) })
	watchdog(t, cmd)
	_, _ = slave.Close(), w.Close()
	var out bytes.Buffer
	lines := &lineReader{t, bufio.NewScanner(io.TeeReader(r, &out))}
	lines.waitFor("ready")
	_ = master.Close() // hang up
	lines.waitFor("got hangup")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, io.TeeReader(r, &out))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hush: %v\n%s", err, out.String())
	}
	if n := countLines(out.String(), "got hangup"); n != 1 {
		t.Errorf("child got SIGHUP %d times:\n%s", n, out.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRunMaskPTY runs a masked child whose stdout is a real terminal: the
// child must see a terminal, and the terminal must see no secret.
func TestRunMaskPTY(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		requireOrSkip(t, "no pseudo-terminal: "+err.Error())
	}
	defer master.Close()
	if err := pty.Setsize(slave, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, master) // ends with EIO once the slave is closed
		close(done)
	}()
	const value = "fake-token-\u00e9\u00e9-0123"
	m, _ := NewMasker(sec("FAKE_TOKEN", value))
	spec := childSpec(t, "isatty:"+value)
	spec.Stdout, spec.Stderr, spec.Mask = slave, slave, m
	code, err := Run(context.Background(), spec)
	_ = slave.Close()
	<-done
	if code != 0 || err != nil {
		t.Fatalf("%d, %v", code, err)
	}
	got := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if strings.Contains(got, value) || strings.Contains(got, "fake-token") {
		t.Errorf("secret reached the terminal: %q", got)
	}
	for _, want := range []string{"tty=true\n", "out: [hush:FAKE_TOKEN]\n", "err: [hush:FAKE_TOKEN]\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal got %q, want %q in it", got, want)
		}
	}
}

func TestStartErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Spec{Argv: []string{"hush-no-such-command"}, Env: Environ{"PATH=/nonexistent"}})
	if err == nil || err.Error() != "run hush-no-such-command: command not found" {
		t.Errorf("err = %v", err)
	}
	var se *StartError
	if code, err := Run(context.Background(), Spec{}); code != CodeFailed || !errors.As(err, &se) {
		t.Errorf("empty argv: %d, %v", code, err)
	}
}
