package sopslib

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

const testdata = "../../../testdata/sops"

// sopsBin finds the real sops binary: on PATH, or where .ci/deps builds it.
// Without it the test skips, or fails with HUSH_TEST_REQUIRE_ALL=1 (CI).
func sopsBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("sops"); err == nil {
		return p
	}
	if p, err := filepath.Abs("../../../.cache/bin/sops"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but sops is not installed (run .ci/deps)")
	}
	t.Skip("sops not installed (run .ci/deps)")
	return ""
}

// runSops runs the real sops with only the given age key available.
func runSops(t *testing.T, bin string, key *age.X25519Identity, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := trySops(t, bin, key, stdin, args...)
	if err != nil {
		t.Fatalf("sops %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func trySops(t *testing.T, bin string, key *age.X25519Identity, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "SOPS_DISABLE_VERSION_CHECK=1", "PATH=/usr/bin:/bin"}
	if key != nil {
		cmd.Env = append(cmd.Env, "SOPS_AGE_KEY="+key.String())
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &sopsError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type sopsError struct {
	err    error
	stderr string
}

func (e *sopsError) Error() string { return e.err.Error() + ": " + e.stderr }

// testKey is the committed, public, TEST ONLY key of testdata/sops.
func testKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "TEST-ONLY-age-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return ids[0].(*age.X25519Identity)
}

func newKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	k, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keysOf(ids ...*age.X25519Identity) Keys {
	var k Keys
	for _, id := range ids {
		k.Identities = append(k.Identities, id)
		k.Own = append(k.Own, id.Recipient().String())
	}
	return k
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isolate keeps sops' own key sources (which Decrypt also tries) from
// finding a developer's real keys.
func isolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, v := range []string{"SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}
