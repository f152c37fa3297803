package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/hush-secrets/hush/"

// allowed maps a package (or a prefix ending in "/") to the packages of
// hush it may import (prefixes ending in "/" match a subtree). Imports
// point down: cmd → session → {sync, inject, scan, store/audit, edit} → store →
// crypt; inject, scan and edit take plain values and import no store;
// crypt imports nothing of hush; internal/safe, the terminal escaper, is
// a leaf anyone may use. A package missing from the table fails the test,
// so a new one gets its place on purpose.
var allowed = []struct {
	pkg  string
	deps []string
}{
	{"crypt", nil},
	{"crypt/cctvtest", nil},
	// crypt/awskms links the AWS SDK: for the companion hush-cloud only
	// (session and cmd/hush may import "crypt", not this).
	{"crypt/awskms", []string{"crypt"}},
	{"internal/safe", nil},
	{"internal/hint", nil},
	{"internal/git", nil},
	{"internal/arch", nil},
	{"internal/daemon", nil},
	{"internal/benchcpu", nil},
	{"crypt/tpmtest", nil},
	{"edit", nil},
	{"inject", nil},
	{"scan", nil},
	{"scan/internal/", nil},
	{"scan/cmd/", []string{"scan", "scan/internal/"}},
	{"store", []string{"crypt"}},
	{"store/audit", []string{"store", "crypt"}},
	{"store/audit/forward", []string{"store/audit", "store", "crypt"}},
	{"store/gitmerge", []string{"store", "crypt"}},
	{"sync", []string{"store", "crypt"}},
	{"sync/vault", []string{"sync", "store", "crypt"}},
	{"sync/vault/vaulttest", nil},
	{"sync/synctest", []string{"sync", "store", "crypt"}},
	// sync/gcpsm links Google's Secret Manager client: only the companion
	// executable imports it, never cmd/hush (TestNoGCPClientInHush).
	{"sync/gcpsm", []string{"sync", "store", "crypt"}},
	{"sync/gcpsm/gcpsmtest", nil},
	// sync/civars: hush ci, one way to CI services' secret variables; its
	// fakes take nothing of hush, so they cannot share the client's mistakes.
	{"sync/civars", []string{"sync", "store", "crypt"}},
	{"sync/civars/civarstest", nil},
	// sync/cloud: both ends of the hush-cloud protocol; no SDK, and no
	// rotation provider (the companion links those).
	{"sync/cloud", []string{"sync", "store", "crypt", "rotate"}},
	// sync/aws: the AWS backends; they link the SDK, so only cmd/hush-cloud imports them.
	{"sync/aws", []string{"sync", "store", "crypt"}},
	// sync/k8s links client-go: only the companion hush-cloud imports it.
	{"sync/k8s", []string{"sync", "store", "crypt"}},
	{"sync/k8s/k8stest", nil},
	// rotate: the provider interface and the rotation journal; each
	// provider (rotate/postgres, rotate/acme…) is a package under it.
	{"rotate", []string{"store", "crypt"}},
	{"rotate/", []string{"rotate", "store", "crypt"}},
	{"sync/sopsfile", []string{"sync", "store", "crypt"}},
	{"sync/sopsfile/sopslib", []string{"sync/sopsfile", "sync", "store", "crypt"}},
	{"cmd/hush-sops", []string{"sync/sopsfile/sopslib"}},
	{"cmd/hush-cloud", []string{"sync/cloud", "sync/aws", "sync/gcpsm", "sync/k8s", "sync", "store", "crypt", "crypt/awskms", "rotate", "rotate/"}},
	{"session", []string{"crypt", "edit", "inject", "scan", "store", "store/", "sync", "sync/vault", "sync/sopsfile", "sync/cloud", "sync/civars", "rotate", "rotate/"}},
	{"cmd/hush", []string{"session", "crypt", "edit", "inject", "scan", "store", "store/", "sync", "sync/vault", "sync/sopsfile", "sync/cloud", "sync/civars", "rotate"}},
}

func rule(pkg string) ([]string, bool) {
	for _, r := range allowed {
		if r.pkg == pkg || strings.HasSuffix(r.pkg, "/") && strings.HasPrefix(pkg, r.pkg) {
			return r.deps, true
		}
	}
	return nil, false
}

// leaves are the internal packages anyone may import: they import nothing
// of hush.
var leaves = map[string]bool{"internal/safe": true, "internal/hint": true, "internal/git": true, "internal/daemon": true, "internal/benchcpu": true}

func matches(dep string, deps []string) bool {
	if leaves[dep] {
		return true
	}
	for _, d := range deps {
		if d == dep || strings.HasSuffix(d, "/") && strings.HasPrefix(dep, d) {
			return true
		}
	}
	return false
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		deps, ok := rule(pkg)
		if !ok {
			t.Errorf("%s has no place in the import table; add it to allowed (and ARCHITECTURE.md)", pkg)
			continue
		}
		seen++
		for _, imp := range f[1:] {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if !matches(dep, deps) {
				t.Errorf("%s imports %s, against the direction of imports", pkg, dep)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d packages listed; is go list seeing the module?", seen)
	}
}
