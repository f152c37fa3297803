package main

import (
	"os/exec"
	"strings"
	"testing"
)

// hush must not link the sops library: its ~350 packages would cost every
// command ~40 ms of start-up (testdata/sops/README.md). Only hush-sops does.
func TestHushDoesNotLinkSops(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "getsops") || strings.HasSuffix(pkg, "/sopslib") {
			t.Errorf("hush links %s; SOPS code that needs the sops library belongs in sync/sopsfile/sopslib, run by hush-sops", pkg)
		}
	}
}
