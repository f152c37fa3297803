package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
)

type fakeLeaser struct{ renewErr error }

func (fakeLeaser) Lease(context.Context, string, map[string]string) (*sync.Lease, error) {
	return nil, errors.New("unused")
}
func (f fakeLeaser) Renew(context.Context, string, time.Duration) (time.Duration, error) {
	return time.Minute, f.renewErr
}
func (fakeLeaser) Revoke(context.Context, string) error { return nil }

// Renewals and revocations through the wrapper sync.Keep is given are
// audit lines with the lease id, the address and the outcome. (Vault's
// PKI leases are not renewable, so the real-Vault script sees revocations
// only.)
func TestAuditedLeaserRecords(t *testing.T) {
	s, _ := testSession(t, map[string]string{})
	l := auditedLeaser{Leaser: fakeLeaser{renewErr: errors.New("vault: permission denied")}, s: s, source: "https://vault.example:8200"}
	l.Renew(context.Background(), "database/creds/app/abc", time.Minute)
	l.Revoke(context.Background(), "database/creds/app/abc")
	var got []audit.Entry
	if _, err := s.AuditLog().VerifyAll(nil, func(_ int, e audit.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2: %+v", len(got), got)
	}
	r, v := got[0], got[1]
	if r.Action != audit.LeaseRenew || r.Success || !strings.Contains(r.Error, "permission denied") || r.Lease != "database/creds/app/abc" || r.Source != "https://vault.example:8200" || r.Path != "vault:database/creds/app" {
		t.Errorf("renew line: %+v", r)
	}
	if v.Action != audit.LeaseRevoke || !v.Success || v.Lease != "database/creds/app/abc" || v.Host == "" || v.Version == "" {
		t.Errorf("revoke line: %+v", v)
	}
}

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
