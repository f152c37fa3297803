//go:build linux

// Package tpmtest runs throwaway software TPMs (Debian's swtpm) for tests.
package tpmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start runs a throwaway swtpm (a software TPM 2.0, Debian's swtpm)
// on a unix socket in a temp dir for the rest of t and returns the
// socket's path. Each one has its own seed: its own storage key.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but there is no swtpm (Debian swtpm)")
		}
		t.Skip("no swtpm")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "tpm.sock")
	cmd := exec.Command(bin, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(dir, "ctrl.sock"),
		"--flags", "not-need-init,startup-clear")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st, err := os.Stat(sock); err == nil && st.Mode()&os.ModeSocket != 0 {
			return sock
		}
		select {
		case <-done:
			t.Fatalf("swtpm exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not start: %s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
