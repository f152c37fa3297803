package main

import (
	"net/url"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestRotateVaultStaticRole: where Vault owns the credential (a database
// static role), hush asks Vault to rotate it and stores what Vault set:
// real Vault dev server, real PostgreSQL plugin, real PostgreSQL.
func TestRotateVaultStaticRole(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	srv := vaulttest.StartWithPlugins(t)
	plugin := srv.PostgresPlugin(t)
	pg := vaulttest.StartPostgres(t)
	pg.Query(t, `CREATE ROLE app_static LOGIN PASSWORD 'initial-pass-1'`)
	c := srv.Client(t)
	if err := c.Sys().Mount("database", &vaultapi.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("database/config/pg", map[string]any{"plugin_name": plugin, "connection_url": pg.VaultURL(),
		"username": pg.User, "password": pg.Password, "allowed_roles": "*", "verify_connection": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("database/static-roles/app", map[string]any{"db_name": "pg", "username": "app_static", "rotation_period": "24h"}); err != nil {
		t.Fatal(err)
	}
	creds := func() string {
		s, err := c.Logical().Read("database/static-creds/app")
		if err != nil {
			t.Fatal(err)
		}
		return s.Data["password"].(string)
	}
	before := creds()
	f := newFaultEnv(t, "")
	f.env = append(f.env, "VAULT_ADDR="+srv.Addr, "VAULT_TOKEN="+srv.Token)
	f.must("", "init", "--name", "vaultrot")
	f.must(pg.URLFor("app_static", url.QueryEscape(before)), "set", "DB_URL")
	appendConfig(t, f, "rotation:\n  sources:\n    DB_URL:\n      provider: vault\n      role: app\n")
	f.must("", "ack", "--yes")
	out, errs, err := f.run("", "rotate", "DB_URL")
	if err != nil {
		t.Fatalf("rotate: %v %s", err, errs)
	}
	if !strings.Contains(out, "rotated DB_URL in dev at its source (vault): created, stored, verified, old retired") {
		t.Fatalf("rotate said %q", out)
	}
	after := creds()
	if after == before {
		t.Fatal("Vault's static role was not rotated")
	}
	stored := f.must("", "get", "DB_URL")
	u, _ := url.Parse(stored)
	if pw, _ := u.User.Password(); pw != after || u.User.Username() != "app_static" || u.Host != pg.Host+":"+itoaPort(pg.Port) {
		t.Fatalf("stored URL does not carry Vault's new password (user %q host %q)", u.User.Username(), u.Host)
	}
	if _, err := vaulttest.QueryAs(pg.Psql(), stored, "select 1"); err != nil {
		t.Fatalf("the stored credential does not log in: %v", err)
	}
	if _, err := vaulttest.QueryAs(pg.Psql(), pg.URLFor("app_static", url.QueryEscape(before)), "select 1"); err == nil {
		t.Fatal("the old password still logs in")
	}
	audit := f.must("", "audit", "export")
	if !strings.Contains(audit, `"rotate.create"`) || !strings.Contains(audit, "vault "+srv.Addr) {
		t.Fatalf("no rotate.create line naming Vault: %s", audit)
	}
	if strings.Contains(audit, after) || strings.Contains(audit, srv.Token) {
		t.Fatal("the audit log holds a password or the token")
	}

	// --push: the store phase is followed by a push to Vault's KV, as
	// hush rotate --push does for a value by hand; Vault's copy of the
	// environment then holds the new credential.
	out, errs, err = f.run("", "rotate", "DB_URL", "--push")
	if err != nil {
		t.Fatalf("rotate --push: %v %s", err, errs)
	}
	if !strings.Contains(out, "created, stored, pushed, verified, old retired") {
		t.Fatalf("rotate --push said %q", out)
	}
	if out := f.must("", "vault", "diff"); !strings.Contains(out, "in step") {
		t.Fatalf("Vault's copy differs after the push: %s", out)
	}
	if pw := creds(); !strings.Contains(f.must("", "get", "DB_URL"), url.QueryEscape(pw)) && !strings.Contains(f.must("", "get", "DB_URL"), pw) {
		t.Fatal("the pushed rotation did not store Vault's newest password")
	}
	// An environment that synced before is pushed without --push.
	appendConfig(t, f, "vault:\n  address: "+srv.Addr+"\n")
	f.must("", "ack", "--yes")
	if out := f.must("", "rotate", "DB_URL"); !strings.Contains(out, "pushed") {
		t.Fatalf("a synced environment was not pushed: %s", out)
	}
	if out := f.must("", "vault", "diff"); !strings.Contains(out, "in step") {
		t.Fatalf("Vault's copy differs: %s", out)
	}
}
