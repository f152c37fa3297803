package session

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

type fakeRunLeaser struct{ renewErr error }

func (fakeRunLeaser) Lease(context.Context, string, map[string]string) (*sync.Lease, error) {
	return nil, errors.New("unused")
}
func (f fakeRunLeaser) Renew(context.Context, string, time.Duration) (time.Duration, error) {
	return time.Minute, f.renewErr
}
func (fakeRunLeaser) Revoke(context.Context, string) error { return nil }

// runOutsideProject is a session outside any project, with its own HOME and
// the given environment.
func runOutsideProject(t *testing.T, vars map[string]string) (*Session, *runRecorder) {
	home := t.TempDir()
	vars["HOME"] = home
	vars["HUSH_KEYRING"] = "off"
	rep := &runRecorder{}
	return New(Options{Dir: home, Command: "run", Getenv: func(k string) string { return vars[k] }, Version: "test", Report: rep}), rep
}

// Renewals and revocations through the wrapper sync.Keep is given are
// audit lines with the lease id, the address and the outcome. (Vault's
// PKI leases are not renewable, so the real-Vault script sees revocations
// only.)
func TestAuditedLeaserRecords(t *testing.T) {
	s, _ := runOutsideProject(t, map[string]string{})
	l := auditedLeaser{Leaser: fakeRunLeaser{renewErr: errors.New("vault: permission denied")}, s: s, source: "https://vault.example:8200"}
	l.Renew(context.Background(), "database/creds/app/abc", time.Minute)
	l.Revoke(context.Background(), "database/creds/app/abc")
	got := runAuditLog(t, s)
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

// pkiVault is a dev server with a PKI engine whose role app issues
// leased certificates, and a KV secret secret/app/db.
func pkiVault(t *testing.T) (*vaulttest.Server, *vaultapi.Client) {
	t.Helper()
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	if err := root.Sys().Mount("pki", &vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("pki/root/generate/internal", map[string]any{"common_name": "test.local", "ttl": "24h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("pki/roles/app", map[string]any{"allowed_domains": "test.local", "allow_subdomains": true, "generate_lease": true, "max_ttl": "1h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/app/db", map[string]any{"data": map[string]any{"password": "pw-from-vault"}}); err != nil {
		t.Fatal(err)
	}
	return srv, root
}

func leaseCount(t *testing.T, root *vaultapi.Client) int {
	t.Helper()
	leases, err := root.Logical().List("sys/leases/lookup/pki/issue/app")
	if err != nil {
		t.Fatal(err)
	}
	if leases == nil {
		return 0
	}
	return len(leases.Data["keys"].([]any))
}

func TestStartLeasesPKI(t *testing.T) {
	srv, root := pkiVault(t)
	s, rep := runOutsideProject(t, map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.Token})
	ctx := context.Background()
	rv := &runVault{s: s}
	lr, err := s.startLeases(ctx, rv, []string{"TLS=pki/issue/app?common_name=a.test.local&ttl=10m"}, "")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			lr.stop()
		}
	}()
	got := map[string]string{}
	for _, sec := range lr.secrets {
		got[sec.Name] = sec.Value.Reveal()
	}
	for _, name := range []string{"TLS_CERTIFICATE", "TLS_PRIVATE_KEY", "TLS_ISSUING_CA", "TLS_SERIAL_NUMBER", "TLS_CA_CHAIN"} {
		if got[name] == "" {
			t.Errorf("no %s among %d secrets", name, len(lr.secrets))
		}
	}
	if !strings.Contains(got["TLS_CERTIFICATE"], "BEGIN CERTIFICATE") {
		t.Errorf("TLS_CERTIFICATE is not a PEM certificate")
	}
	if !lr.active {
		t.Error("a leased run does not ask hush to stay")
	}
	if n := leaseCount(t, root); n != 1 {
		t.Fatalf("leases after start: %d", n)
	}
	lr.stop()
	stopped = true
	lr.stop() // idempotent
	if n := leaseCount(t, root); n != 0 {
		t.Errorf("leases after stop: %d", n)
	}
	if len(rep.warns) > 0 {
		t.Errorf("warnings: %q", rep.warns)
	}

	// vault:// references, audited.
	rv = &runVault{s: s}
	v, err := s.resolveVaultRef(ctx, rv, "vault://secret/app/db#password")
	if err != nil || v != "pw-from-vault" {
		t.Errorf("resolveVaultRef = %q, %v", v, err)
	}
	if _, err := s.resolveVaultRef(ctx, rv, "vault://secret/app/db"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("reference without a field: %v", err)
	}
	if _, err := s.resolveVaultRef(ctx, rv, "vault://secret/app/db#nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing field: %v", err)
	}
	s.dropVault(rv)
	log, _ := os.ReadFile(s.AuditLog().Path)
	for _, want := range []string{`"vault:pki/issue/app#certificate"`, `"vault:secret/app/db#password"`} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if bytes.Contains(log, []byte("pw-from-vault")) || bytes.Contains(log, []byte(srv.Token)) {
		t.Error("audit log holds a value or the token")
	}

	// A lease that cannot be had leaves none behind and says why.
	_, err = s.startLeases(ctx, &runVault{s: s}, []string{"TLS=pki/issue/app?common_name=a.test.local", "BAD=pki/issue/nope?common_name=x"}, "")
	if err == nil || !strings.Contains(err.Error(), "--vault-lease BAD") {
		t.Errorf("bad lease: %v", err)
	}
	if n := leaseCount(t, root); n != 0 {
		t.Errorf("%d lease(s) left behind after a failed start", n)
	}
	var ue *UsageError
	if _, err := s.startLeases(ctx, &runVault{s: s}, []string{"lower-case=x"}, ""); !errors.As(err, &ue) {
		t.Errorf("bad spec: %v", err)
	}
	if _, err := s.startLeases(ctx, &runVault{s: s}, nil, "later"); !errors.As(err, &ue) {
		t.Errorf("bad --on-lease-end: %v", err)
	}
}

// A run of an --env-file of vault:// references needs no project and no
// identity; its leases live as long as the plan, and the reads are audited
// with the Vault's address. When the audit log cannot be written, nothing
// is read from Vault, no lease is taken and there is no plan to run.
func TestPrepareRunFromVault(t *testing.T) {
	srv, root := pkiVault(t)
	s, _ := runOutsideProject(t, map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.Token})
	envFile := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(envFile, []byte("DB_PASSWORD=vault://secret/app/db#password\nLD_PRELOAD=vault://secret/app/db#password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pl, err := s.PrepareRun(context.Background(), RunOptions{EnvFiles: []string{envFile}, Leases: []string{"TLS=pki/issue/app?common_name=a.test.local&ttl=10m"}})
	if err != nil {
		t.Fatal(err)
	}
	env := planEnv(pl)
	if env["DB_PASSWORD"] != "pw-from-vault" || !strings.Contains(env["TLS_CERTIFICATE"], "BEGIN CERTIFICATE") || !pl.Stay {
		t.Errorf("plan: stay %v, DB_PASSWORD %q", pl.Stay, env["DB_PASSWORD"])
	}
	// The loader policy holds before Vault is asked.
	if _, ok := env["LD_PRELOAD"]; ok {
		t.Error("LD_PRELOAD from an --env-file reached the child")
	}
	if n := leaseCount(t, root); n != 1 {
		t.Errorf("leases while the plan lives: %d", n)
	}
	pl.Close()
	if n := leaseCount(t, root); n != 0 {
		t.Errorf("leases after Close: %d", n)
	}
	var reads []string
	for _, e := range runAuditLog(t, s) {
		if e.Action == audit.SecretRead {
			if e.Source != srv.Addr {
				t.Errorf("read line without the Vault's address: %+v", e)
			}
			reads = append(reads, e.Path)
		}
	}
	// One read of secret/app/db: LD_PRELOAD's reference was never read.
	if strings.Count(strings.Join(reads, " "), "vault:secret/app/db#password") != 1 || !slices.Contains(reads, "vault:pki/issue/app#certificate") {
		t.Errorf("read lines: %q", reads)
	}

	// The audit log unwritable: refused before Vault is asked.
	before := len(runAuditLog(t, s))
	logPath := s.AuditLog().Path
	if err := os.Rename(logPath, logPath+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(logPath, 0o700); err != nil {
		t.Fatal(err)
	}
	s2, _ := runOutsideProject(t, map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.Token})
	s2.Getenv = s.Getenv
	pl, err = s2.PrepareRun(context.Background(), RunOptions{EnvFiles: []string{envFile}, Leases: []string{"TLS=pki/issue/app?common_name=b.test.local"}})
	if err == nil || pl != nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("unwritable log: %v, %v", pl, err)
	}
	if n := leaseCount(t, root); n != 0 {
		t.Errorf("a refused run left %d lease(s)", n)
	}
	os.Remove(logPath)
	if err := os.Rename(logPath+".moved", logPath); err != nil {
		t.Fatal(err)
	}
	if after := len(runAuditLog(t, s)); after != before {
		t.Errorf("a refused run was recorded: %d lines, then %d", before, after)
	}
}
