package arch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoGCPClientInHush keeps Google's client libraries out of the hush
// binary: they add about 7 MB and 3 ms to every command, and live in the
// companion executable with sync/gcpsm (issue #22).
func TestNoGCPClientInHush(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"cmd/hush").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("only %d dependencies listed; is go list seeing the module?", len(deps))
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "cloud.google.com/") || p == module+"sync/gcpsm" {
			t.Errorf("cmd/hush links %s", p)
		}
	}
}
