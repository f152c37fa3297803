package crypt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSWTPM runs a throwaway swtpm (a software TPM 2.0, Debian's swtpm)
// on a unix socket in a temp dir for the rest of t and returns the
// socket's path. Each one has its own seed: its own storage key.
func startSWTPM(t *testing.T) string {
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

func TestTPMSealedIdentity(t *testing.T) {
	sock := startSWTPM(t)
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	tpm, err := OpenTPM(sock)
	if err != nil {
		t.Fatal(err)
	}
	text, err := Seal(tpm, id, time.Now())
	tpm.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "AGE-SECRET-KEY") || !IsSealed([]byte(text)) || !strings.Contains(text, id.Public) {
		t.Fatalf("sealed file:\n%s", text)
	}
	path := filepath.Join(t.TempDir(), "sealed.txt")
	if err := WriteKeyFile(path, []byte(text)); err != nil {
		t.Fatal(err)
	}
	// The lookup unseals it in the TPM, twice (handles are flushed).
	for i := 0; i < 2; i++ {
		env := map[string]string{"HUSH_IDENTITY_FILE": path, "HUSH_TPM": sock}
		got, err := (&Lookup{Getenv: func(k string) string { return env[k] }}).Find()
		if err != nil {
			t.Fatal(err)
		}
		if got.Public != id.Public || !strings.HasPrefix(got.Source, "TPM-sealed ") || got.SecretText() != "" {
			t.Fatalf("unsealed %s from %q (secret kept: %v)", got.Public, got.Source, got.SecretText() != "")
		}
		ct, err := Encrypt([]byte("x"), id.Recipient)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := Decrypt(ct, got); err != nil || string(pt) != "x" {
			t.Fatalf("decrypt with the unsealed key: %v", err)
		}
	}
	// Copied to another machine (another TPM): it does not open.
	other := startSWTPM(t)
	env := map[string]string{"HUSH_IDENTITY_FILE": path, "HUSH_TPM": other}
	if _, err := (&Lookup{Getenv: func(k string) string { return env[k] }}).Find(); !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "this TPM cannot open it") {
		t.Fatalf("another TPM: %v", err)
	}
	// No TPM at all: a clear no-identity error.
	env["HUSH_TPM"] = filepath.Join(t.TempDir(), "none")
	if _, err := (&Lookup{Getenv: func(k string) string { return env[k] }}).Find(); !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "sealed to a TPM") {
		t.Fatalf("no TPM: %v", err)
	}
}
