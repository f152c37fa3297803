package scan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoHush keeps the scanner on plain values: it imports nothing
// of hush but its own internal packages and the leaves anyone may use
// (git, the one way hush runs git; safe, the terminal escaper).
func TestImportsNoHush(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	leaf := map[string]bool{"github.com/hush-secrets/hush/internal/git": true, "github.com/hush-secrets/hush/internal/safe": true}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/hush-secrets/hush") && p != "github.com/hush-secrets/hush/scan" &&
			!strings.HasPrefix(p, "github.com/hush-secrets/hush/scan/") && !leaf[p] {
			t.Errorf("scan imports %s", p)
		}
	}
}
