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

// Nor client-go (~26 MB and ~7 ms a command, issue #22): the Kubernetes
// backend, sync/k8s, is linked by the companion hush-cloud only.
func TestHushDoesNotLinkClientGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "k8s.io/") || strings.HasPrefix(pkg, "sigs.k8s.io/") || strings.HasSuffix(pkg, "/sync/k8s") {
			t.Errorf("hush links %s; Kubernetes code belongs in sync/k8s, run by the companion hush-cloud", pkg)
		}
	}
}
