package arch

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// rulesOfSource are what the import table cannot say: a call that has one
// home. Each forbids a pattern in the non-test Go files under a directory
// of the repository, except in the package that is its home.
var rulesOfSource = []struct {
	what, home string
	under      []string
	pattern    *regexp.Regexp
	// except, when set, is what the pattern may match after all: the
	// session's own methods, which do the job with its audit line.
	except *regexp.Regexp
}{
	{"running git", "internal/git", []string{"."}, regexp.MustCompile(`exec\.Command(Context)?\([^)]*"git"`), nil},
	// cmd starts no program: the editor is edit.Run's, a child inject's.
	{"starting a program", "edit or inject", []string{"cmd/hush"}, regexp.MustCompile(`exec\.Command(Context)?\(`), nil},
	// cmd writes no audit line and changes no store: the session does
	// both, together (contract 4). Reading the log to show it is fine.
	{"writing an audit line", "session", []string{"cmd"},
		regexp.MustCompile(`\.(Audit|AuditWith|AuditRun|AuditRemote|AuditReady|Record|Entry)\(|audit\.Entry\{|\.Append\(`), nil},
	{"changing a store", "session", []string{"cmd"},
		regexp.MustCompile(`\.(Update|CreateEnv|RemoveEnv|RemoveMember|AddRecipients|Acknowledge|Link|WriteConflicts)\(|store\.WriteTo\(`),
		regexp.MustCompile(`^[^.]*\bs\.(Update|RemoveEnv|RemoveMember|Acknowledge|Link)\([^.]*$`)},
	// A project's Config changes only inside store, whose every change
	// forgets the settings derived from it (Project.touchConfig): a change
	// made elsewhere would leave the pinned-settings check reading the
	// settings as they were before it.
	{"changing a project's Config", "store", []string{"."},
		regexp.MustCompile(`\.Config\.[A-Za-z]+(\.[A-Za-z]+|\[[^]]*\])*\s*(=[^=]|\+=|-=|\+\+|--)|delete\([^,]*\.Config\.`), nil},
}

func TestOneHomePerCall(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rulesOfSource {
		for _, under := range r.under {
			err := filepath.WalkDir(filepath.Join(root, under), func(path string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(root, path)
				if d.IsDir() {
					if rel == r.home || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
						return filepath.SkipDir
					}
					return nil
				}
				if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
					return nil
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for i, line := range strings.Split(string(b), "\n") {
					if r.pattern.MatchString(line) && (r.except == nil || !r.except.MatchString(line)) {
						t.Errorf("%s:%d: %s belongs in %s", rel, i+1, r.what, r.home)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestNoCloudSDKInHush keeps the cloud SDKs out of the hush binary: they
// live in hush-cloud (sync/cloud), so hush get and hush run do not pay
// their start-up cost.
func TestNoCloudSDKInHush(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"cmd/hush").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "aws-sdk-go") || strings.HasPrefix(p, "cloud.google.com/") || strings.HasPrefix(p, "k8s.io/client-go") || p == module+"sync/aws" {
			t.Errorf("hush links %s: cloud SDKs belong in hush-cloud", p)
		}
	}
}

// TestNoRotationDriversInHush keeps the rotation providers' drivers out
// of the hush binary: pgx (with x/text's precis and cases), the MySQL
// driver and the ACME client made hush 19.5 MB against 14.0 without them,
// and every command mapped and initialised them, hush run included, for
// rotations most projects run once a month. The providers run in
// hush-cloud (sync/cloud/rotate.go).
func TestNoRotationDriversInHush(t *testing.T) {
	for _, p := range hushDeps(t, module+"rotate") {
		if strings.HasPrefix(p, "github.com/jackc/") || strings.HasPrefix(p, "github.com/go-sql-driver/") || p == "golang.org/x/crypto/acme" ||
			p == module+"rotate/postgres" || p == module+"rotate/mysql" || p == module+"rotate/acme" {
			t.Errorf("hush links %s: rotation providers with drivers of their own run in hush-cloud", p)
		}
	}
}

// TestNoVaultAPIInHush keeps github.com/hashicorp/vault/api (and the rest
// of the vault module) out of the hush binary: sync/vault has its own
// small client (client.go). vaultapi's package init was the largest of
// hush's, some forty regexps compiled before main, with hcl, go-sockaddr,
// parseutil, mapstructure, go-jose and x/net/http2 that only it pulled in,
// paid by every command, hush run included. Tests may still use it.
func TestNoVaultAPIInHush(t *testing.T) {
	for _, p := range hushDeps(t, module+"sync/vault") {
		if strings.HasPrefix(p, "github.com/hashicorp/vault/") {
			t.Errorf("hush links %s: sync/vault talks to Vault with its own client (client.go)", p)
		}
	}
}

// hushDeps is every package cmd/hush links, checked to include one it
// must (so a go list that sees nothing cannot pass a test for absence).
func hushDeps(t *testing.T, must string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"cmd/hush").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, must) {
		t.Fatalf("hush does not link %s: is go list seeing the module? %d packages", must, len(deps))
	}
	return deps
}
