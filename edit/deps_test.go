package edit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNothingOfHush keeps edit a leaf: it works on paths and argv,
// so cmd (or the coming session layer) can use it without a cycle.
func TestImportsNothingOfHush(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/hush-secrets/hush/") && p != "github.com/hush-secrets/hush/edit" {
			t.Errorf("edit imports %s", p)
		}
	}
}
