package scan

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/scan/internal/corpusgen"
)

// fakeToken makes a fake secret shaped for rule, the same for the same seed.
func fakeToken(t testing.TB, rule string, seed uint64) string {
	t.Helper()
	tok, ok := corpusgen.Tokens[rule]
	if !ok {
		t.Fatalf("no token recipe for %s", rule)
	}
	return corpusgen.Expand(rand.New(rand.NewPCG(seed, 99)), tok.Template)
}

// requireGit skips without git, unless HUSH_TEST_REQUIRE_ALL=1 says every
// component must be there.
func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("git not found")
		}
		t.Skip("git not found")
	}
}

// isolateGit keeps the user's and the system's git configuration out of a
// test, for the test's git commands and the scanner's alike.
func isolateGit(t *testing.T) {
	t.Helper()
	requireGit(t)
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
	t.Setenv("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
}

// runGit runs git in dir as a test user and returns its trimmed output.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Test User",
		"-c", "user.email=test@example.test", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// writeFile writes a test file, creating directories.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(path[:strings.LastIndexByte(path, '/')], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertNoSecret fails if out holds any of the secrets whole.
func assertNoSecret(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("output holds a whole secret (%.4s…)", s)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func newBufReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
