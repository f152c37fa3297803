package main

import (
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store/audit"
)

// hush run's one line names its keys: --key finds it, and the table shows
// the key asked about, or how many keys the line covers.
func TestAuditTableRunLine(t *testing.T) {
	s, _ := testSession(t, map[string]string{})
	if err := s.AuditRun(audit.SecretRead, "dev", []string{"API_KEY", "DB_PASSWORD"}, nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	s.env.Stdout, s.env.StdoutTTY = &out, true
	if err := runAudit(s, auditOptions{key: "DB_PASSWORD"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "?/dev/DB_PASSWORD") {
		t.Errorf("--key DB_PASSWORD:\n%s", out.String())
	}
	out.Reset()
	if err := runAudit(s, auditOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "?/dev (2 keys)") {
		t.Errorf("all lines:\n%s", out.String())
	}
	out.Reset()
	if err := runAudit(s, auditOptions{key: "OTHER"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "secret.read") {
		t.Errorf("--key OTHER matched the run line:\n%s", out.String())
	}
}
