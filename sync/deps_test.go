package sync

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsPointDown keeps sync and its backends below cmd and beside
// inject and scan: of hush they import only store and crypt (DESIGN.md,
// "Packages"), the leaf escaper internal/safe, and (for vaulttest's
// servers) internal/daemon.
func TestImportsPointDown(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".", "./vault/...", "./gcpsm/...", "./k8s/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const mod = "github.com/hush-secrets/hush"
	for _, p := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(p, mod+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rest, "/")
		if top != "sync" && top != "store" && top != "crypt" && rest != "internal/safe" && rest != "internal/daemon" || rest == "store/audit" {
			t.Errorf("sync imports %s", p)
		}
	}
}
