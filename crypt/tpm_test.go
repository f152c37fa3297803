package crypt

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt/tpmtest"
)

func TestTPMSealedIdentity(t *testing.T) {
	sock := tpmtest.Start(t)
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
	other := tpmtest.Start(t)
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
