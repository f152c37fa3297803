//go:build unix

package inject

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/term"
)

// helperEnv selects what the re-executed test binary does instead of
// running tests: it is the child (or the hush) of the process tests.
const helperEnv = "HUSH_INJECT_HELPER"

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// helperMain runs one helper mode and returns its exit code.
func helperMain(mode string) int {
	verb, arg, _ := strings.Cut(mode, ":")
	switch verb {
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n
	case "killself": // die by a signal, as a shell's kill -TERM $$
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {}
	case "pwd":
		wd, _ := os.Getwd()
		fmt.Println(wd)
		return 0
	case "pid":
		fmt.Printf("pid=%d\n", os.Getpid())
		return 0
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			return 1
		}
		return 0
	case "fds": // list open descriptors and what they are
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			fmt.Printf("%s %s\n", e.Name(), target)
		}
		return 0
	case "readfile": // print a file twice (is it re-readable?) and try to write it
		for i := 0; i < 2; i++ {
			b, err := os.ReadFile(arg)
			if err != nil {
				fmt.Printf("read error: %v\n", err)
				return 1
			}
			fmt.Printf("content=%q\n", b)
		}
		if f, err := os.OpenFile(arg, os.O_WRONLY, 0); err == nil {
			_, err = f.WriteString("overwrite")
			fmt.Printf("write error=%v\n", err != nil)
		} else {
			fmt.Printf("write error=true\n")
		}
		return 0
	case "signals": // report every signal; leave on SIGTERM
		c := make(chan os.Signal, 16)
		signal.Notify(c, ForwardedSignals...)
		fmt.Println("ready")
		for s := range c {
			fmt.Printf("got %v\n", s)
			if s == syscall.SIGTERM {
				return 0
			}
		}
	case "isatty": // say whether stdout is a terminal and print a fake secret on both streams
		fmt.Printf("tty=%v\n", term.IsTerminal(1))
		fmt.Printf("out: %s\n", arg)
		fmt.Fprintf(os.Stderr, "err: %s\n", arg)
		return 0
	case "hush": // act as hush: run a helper child in mode arg, exec'ing if possible
		return helperHush(arg, false)
	case "hush-stay":
		return helperHush(arg, true)
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// helperHush calls Run with hush's real streams and a helper child. It
// reports signal decisions on stderr. A childMode of "file" makes a secret
// file and has the child read it; "missing" runs a command that is not there.
func helperHush(childMode string, stay bool) int {
	self, _ := os.Executable()
	env := Environ{"PATH=" + os.Getenv("PATH"), helperEnv + "=" + childMode}
	spec := Spec{Argv: []string{self}, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Stay: stay,
		trace: func(sig os.Signal, fwd bool) { fmt.Fprintf(os.Stderr, "hush: %v forwarded=%v\n", sig, fwd) }}
	switch childMode {
	case "file":
		f, err := NewSecretFile("FAKE_FILE", NewValue("fake-file-content"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		spec.Files = []*SecretFile{f}
		spec.Env[1] = helperEnv + "=readfile:" + f.Path()
	case "missing":
		spec.Argv = []string{"hush-no-such-command"}
	case "noexec":
		spec.Argv = []string{os.Getenv("HUSH_INJECT_NOEXEC")}
	}
	code, err := Run(context.Background(), spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hush:", err)
	}
	return code
}

// lineReader reads a child's output line by line for a test.
type lineReader struct {
	t *testing.T
	s *bufio.Scanner
}

func (l *lineReader) waitFor(want string) {
	l.t.Helper()
	for l.s.Scan() {
		if strings.TrimRight(l.s.Text(), "\r") == want {
			return
		}
	}
	l.t.Fatalf("output ended before %q (%v)", want, l.s.Err())
}
