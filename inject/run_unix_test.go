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
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// childSpec runs the test binary as a helper child in mode.
func childSpec(t *testing.T, mode string) Spec {
	return Spec{Argv: []string{self(t)}, Env: Environ{"PATH=" + os.Getenv("PATH"), helperEnv + "=" + mode}, Stay: true}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		argv0   string
		mode    string
		want    int
		wantErr error
	}{
		{"success", "", "exit:0", 0, nil},
		{"failure", "", "exit:3", 3, nil},
		{"killed by SIGTERM", "", "killself", 128 + 15, nil},
		{"not found", "hush-no-such-command", "", CodeNotFound, ErrNotFound},
		{"missing path", filepath.Join(dir, "nope"), "", CodeNotFound, ErrNotFound},
		{"not executable", plain, "", CodeNotExecutable, ErrNotExecutable},
		{"directory", dir, "", CodeNotExecutable, ErrNotExecutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := childSpec(t, tt.mode)
			if tt.argv0 != "" {
				spec.Argv[0] = tt.argv0
			}
			code, err := Run(context.Background(), spec)
			if code != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run = %d, %v; want %d, %v", code, err, tt.want, tt.wantErr)
			}
			var se *StartError
			if tt.wantErr != nil && (!errors.As(err, &se) || se.Code != tt.want) {
				t.Fatalf("error %v is not a StartError with code %d", err, tt.want)
			}
		})
	}
}

// TestRunUsesChildPath checks that argv[0] is looked up in the child's PATH,
// not hush's.
func TestRunUsesChildPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Symlink(self(t), filepath.Join(dir, "hush-test-helper")); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Argv: []string{"hush-test-helper"}, Env: Environ{"PATH=.:" + dir, helperEnv + "=exit:7"}}
	if code, err := Run(context.Background(), spec); code != 7 || err != nil {
		t.Fatalf("found via the child's PATH: %d, %v", code, err)
	}
	spec = Spec{Argv: []string{"sh"}, Env: Environ{"PATH=" + dir}}
	if code, err := Run(context.Background(), spec); code != CodeNotFound || !errors.Is(err, ErrNotFound) {
		t.Fatalf("sh with a PATH lacking it: %d, %v", code, err)
	}
}

// TestRunExec re-executes the test binary as hush, which execs the child in
// its place (its streams are its own 0–2): the code is the child's own, and
// a death by signal is the process's.
func TestRunExec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode     string
		wantCode int
		wantSig  syscall.Signal
		wantOut  string
	}{
		{"exit:0", 0, 0, ""},
		{"exit:3", 3, 0, ""},
		{"killself", -1, syscall.SIGTERM, ""},
		{"missing", CodeNotFound, 0, ""},
		{"noexec", CodeNotExecutable, 0, ""},
		{"file", 0, 0, `content="fake-file-content"`}, // a memfd: Linux only, see below
		{"pid", 0, 0, "pid=PID"},                      // the child is hush's own process: it exec'd
	}
	for _, tt := range tests {
		if tt.mode == "file" && runtime.GOOS != "linux" {
			continue // a FIFO can be read once; the helper reads twice
		}
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(self(t))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), helperEnv + "=hush:" + tt.mode, "HUSH_INJECT_NOEXEC=" + plain}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if tt.wantSig != 0 {
				if !ws.Signaled() || ws.Signal() != tt.wantSig {
					t.Fatalf("status %v, want death by %v", ws, tt.wantSig)
				}
			} else if ws.ExitStatus() != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", ws.ExitStatus(), tt.wantCode, stderr.String())
			}
			tt.wantOut = strings.ReplaceAll(tt.wantOut, "PID", fmt.Sprint(cmd.Process.Pid))
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantOut)
			}
		})
	}
}

func TestRunStdinBinary(t *testing.T) {
	t.Parallel()
	var data []byte
	for i := 0; i < 4096; i++ {
		for b := 0; b < 256; b++ {
			data = append(data, byte(b^i))
		}
	}
	// Through a pipe Run makes (a reader) and handed over directly (a file).
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = w.Write(data)
		_ = w.Close()
	}()
	defer r.Close()
	for name, in := range map[string]io.Reader{"reader": bytes.NewReader(data), "file": r} {
		var out bytes.Buffer
		spec := childSpec(t, "cat")
		spec.Stdin, spec.Stdout = in, &out
		if code, err := Run(context.Background(), spec); code != 0 || err != nil {
			t.Fatalf("%s: %d, %v", name, code, err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Errorf("%s: stdin not passed byte-exact (%d bytes back of %d)", name, out.Len(), len(data))
		}
	}
}

func TestRunMaskPipes(t *testing.T) {
	t.Parallel()
	m, _ := NewMasker(sec("FAKE_TOKEN", "fake-token-0123"))
	var out, errOut bytes.Buffer
	spec := childSpec(t, "isatty:fake-token-0123")
	spec.Stdout, spec.Stderr, spec.Mask = &out, &errOut, m
	if code, err := Run(context.Background(), spec); code != 0 || err != nil {
		t.Fatalf("%d, %v", code, err)
	}
	if out.String() != "tty=false\nout: [hush:FAKE_TOKEN]\n" || errOut.String() != "err: [hush:FAKE_TOKEN]\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestRunContextCancel(t *testing.T) {
	t.Parallel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	spec := childSpec(t, "signals")
	spec.Stdout = pw
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, err := Run(ctx, spec)
		_ = pw.Close()
		res <- result{code, err}
	}()
	lines := &lineReader{t, bufio.NewScanner(pr)}
	lines.waitFor("ready")
	cancel()
	lines.waitFor("got terminated")
	if r := <-res; r.code != 0 || r.err != nil {
		t.Fatalf("Run = %d, %v", r.code, r.err)
	}
}

// TestSecretFileFIFO tests the FIFO used where there is no memfd: the child
// reads the value once, hush stays to feed it, and Close removes it all.
func TestSecretFileFIFO(t *testing.T) {
	t.Parallel()
	sf, err := newFIFOFile("FAKE_FIFO", NewValue("fake-fifo-value"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Dir(sf.Path()))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("FIFO directory %v, %v", st.Mode(), err)
	}
	if fi, err := os.Lstat(sf.Path()); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("not a FIFO: %v", err)
	}
	std := Spec{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if !mayExec(std) {
		t.Fatal("hush's own streams and nothing else: exec refused")
	}
	if std.Files = []*SecretFile{sf}; mayExec(std) {
		t.Fatal("a FIFO must keep hush running to feed it")
	}
	var out bytes.Buffer
	spec := childSpec(t, "cat")
	spec.Stdout, spec.Files = &out, []*SecretFile{sf}
	spec.Stdin, err = os.Open(sf.Path()) // the child reads it on stdin here
	if err != nil {
		t.Fatal(err)
	}
	if code, err := Run(context.Background(), spec); code != 0 || err != nil || out.String() != "fake-fifo-value" {
		t.Fatalf("%d, %v, %q", code, err, out.String())
	}
	if err := sf.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(sf.Path())); !os.IsNotExist(err) {
		t.Errorf("FIFO directory left behind: %v", err)
	}
	// Close also works when nobody ever read the FIFO.
	unread, err := newFIFOFile("FAKE_UNREAD", NewValue("fake"))
	if err != nil {
		t.Fatal(err)
	}
	if err := unread.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunDir: the child runs in Dir, and a relative command is relative to it.
func TestRunDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Symlink(self(t), filepath.Join(dir, "helper")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	spec := childSpec(t, "pwd")
	spec.Argv[0], spec.Dir, spec.Stdout = "./helper", dir, &out
	if code, err := Run(context.Background(), spec); code != 0 || err != nil {
		t.Fatalf("%d, %v", code, err)
	}
	if want, _ := filepath.EvalSymlinks(dir); strings.TrimSpace(out.String()) != want {
		t.Errorf("child ran in %q, want %q", out.String(), want)
	}
}
