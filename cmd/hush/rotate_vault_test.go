package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestRotateVaultStaticRole: where Vault owns the credential (a database
// static role), hush asks Vault to rotate it and stores what Vault set:
// real Vault dev server, real PostgreSQL plugin, real PostgreSQL.
func TestRotateVaultStaticRole(t *testing.T) {
	t.Parallel()
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

	rotateVaultRoot(t, srv, plugin, pg, f)
}

// rotateVaultRoot: a connection's root credential, which only Vault is to
// know. The team's store held it (that is how it reached Vault); after
// hush rotate it holds a note, the old root password no longer logs in,
// Vault still can (verify reconnects and issues a credential through it,
// and revokes that credential again).
func rotateVaultRoot(t *testing.T, srv *vaulttest.Server, plugin string, pg *vaulttest.Postgres, f *faultEnv) {
	t.Helper()
	rootURL := pg.URLFor("vault_root", "root-pass-1")
	pg.Query(t, `CREATE ROLE vault_root LOGIN CREATEROLE PASSWORD 'root-pass-1'`)
	c := srv.Client(t)
	if _, err := c.Logical().Write("database/config/pgroot", map[string]any{"plugin_name": plugin, "connection_url": pg.VaultURL(),
		"username": "vault_root", "password": "root-pass-1", "allowed_roles": "verify", "verify_connection": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("database/roles/verify", map[string]any{"db_name": "pgroot", "default_ttl": "5m",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`}); err != nil {
		t.Fatal(err)
	}
	f.must(rootURL, "set", "PG_ROOT_URL")

	// Settings that would make hush write elsewhere, or mix the two
	// modes, are refused before anything is asked of Vault.
	for _, bad := range []string{"root: pgroot\n      role: app", "root: ../../sys/seal", "root: pgroot\n      format: url", "role: app\n      verify_role: verify"} {
		cfg := readConfig(t, f)
		addSource(t, f, "    PG_ROOT_URL:\n      provider: vault\n      "+strings.ReplaceAll(bad, `\n`, "\n")+"\n")
		f.must("", "ack", "--yes")
		_, errs, err := f.run("", "rotate", "PG_ROOT_URL")
		if code := exitCodeOf(err); code != 1 && code != 2 || !strings.Contains(errs, "rotation.sources.PG_ROOT_URL") {
			t.Fatalf("settings %q: exit %d, %s", bad, code, errs)
		}
		writeConfig(t, f, cfg)
		f.must("", "ack", "--yes")
	}
	if got := f.must("", "get", "PG_ROOT_URL"); got != rootURL {
		t.Fatal("a refused rotation changed the stored root URL")
	}

	addSource(t, f, "    PG_ROOT_URL:\n      provider: vault\n      root: pgroot\n      verify_role: verify\n")
	f.must("", "ack", "--yes")
	out, errs, err := f.run("", "rotate", "PG_ROOT_URL")
	if err != nil {
		t.Fatalf("rotate root: %v %s", err, errs)
	}
	if !strings.Contains(out, "rotated PG_ROOT_URL in dev at its source (vault): created, stored, pushed, verified") {
		t.Fatalf("rotate root said %q", out)
	}
	if _, err := vaulttest.QueryAs(pg.Psql(), rootURL, "select 1"); err == nil {
		t.Fatal("the old root password still logs in")
	}
	note := f.must("", "get", "PG_ROOT_URL")
	if !strings.HasPrefix(note, "held by Vault only: database/config/pgroot") || strings.Contains(note, "root-pass-1") {
		t.Fatalf("the store holds %q, not a note", note)
	}
	// Vault still logs in with what it now holds: it issues credentials.
	sec, err := c.Logical().Read("database/creds/verify")
	if err != nil || sec == nil {
		t.Fatalf("Vault cannot use its rotated root credential: %v", err)
	}
	if _, err := c.Logical().Write("sys/leases/revoke", map[string]any{"lease_id": sec.LeaseID}); err != nil {
		t.Fatal(err)
	}
	// verify's own credential was revoked: no role of the verify role
	// is left in the database.
	if n := pg.Query(t, `select count(*) from pg_roles where rolname like 'v-%verify%'`); n != "0" {
		t.Fatalf("%s verification roles left in Postgres", n)
	}
	audit := f.must("", "audit", "export")
	if !strings.Contains(audit, `"rotate.verify"`) || strings.Contains(audit, "root-pass-1") {
		t.Fatal("no rotate.verify line, or the old root password in the audit log")
	}

	// A verify_role Vault cannot issue stops the rotation at verify, with
	// the journal kept for a rerun: hush does not call it done.
	addSource(t, f, "    prod/PG_ROOT_URL:\n      provider: vault\n      root: pgroot\n      verify_role: nosuch\n")
	f.must("", "ack", "--yes")
	f.must("", "env", "add", "prod")
	f.must(rootURL, "set", "--env", "prod", "PG_ROOT_URL")
	_, errs, err = f.run("", "rotate", "--env", "prod", "PG_ROOT_URL")
	if err == nil || !strings.Contains(errs, "nosuch") {
		t.Fatalf("a failing verify passed: %v %s", err, errs)
	}
	if out, _, _ := f.run("", "status"); !strings.Contains(out, "unfinished rotation of PG_ROOT_URL in prod (vault), next phase verify") {
		t.Fatalf("status does not show the unfinished rotation: %s", out)
	}
}

func readConfig(t *testing.T, f *faultEnv) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, ".hush", "hush.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeConfig(t *testing.T, f *faultEnv, cfg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, ".hush", "hush.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// addSource adds entries to hush.yaml's rotation.sources, wherever later
// sections put it.
func addSource(t *testing.T, f *faultEnv, entries string) {
	t.Helper()
	cfg := readConfig(t, f)
	const at = "rotation:\n  sources:\n"
	if !strings.Contains(cfg, at) {
		t.Fatalf("hush.yaml has no rotation.sources:\n%s", cfg)
	}
	writeConfig(t, f, strings.Replace(cfg, at, at+entries, 1))
}
