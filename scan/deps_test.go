package scan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoHush keeps the scanner on plain values: it imports nothing
// of hush but its own internal packages (DESIGN.md, "Packages").
func TestImportsNoHush(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/hush-secrets/hush") && p != "github.com/hush-secrets/hush/scan" &&
			!strings.HasPrefix(p, "github.com/hush-secrets/hush/scan/") {
			t.Errorf("scan imports %s", p)
		}
	}
}
