package vault

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// database enables Vault's database engine at a fresh mount, connected to
// pg through the PostgreSQL plugin as pg's superuser, with a role app whose
// users can log in until their lease ends, and returns the mount.
func database(t testing.TB, srv *vaulttest.Server, pg *vaulttest.Postgres, defaultTTL, maxTTL string) string {
	t.Helper()
	plugin := srv.PostgresPlugin(t)
	mount := "db"
	c := srv.Client(t)
	if err := c.Sys().Mount(mount, &vaultapi.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write(mount+"/config/pg", map[string]any{
		"plugin_name": plugin, "connection_url": pg.VaultURL(),
		"username": pg.User, "password": pg.Password, "allowed_roles": "*",
		"verify_connection": true,
	}); err != nil {
		t.Fatalf("database config: %v", err)
	}
	if _, err := c.Logical().Write(mount+"/roles/app", map[string]any{
		"db_name":             "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		"default_ttl":         defaultTTL, "max_ttl": maxTTL,
	}); err != nil {
		t.Fatalf("database role: %v", err)
	}
	return mount
}

// vaultRoles are the roles Vault's PostgreSQL plugin made (v-…), as
// pg_roles lists them: "name|valid until (Unix seconds)" a line, sorted.
func vaultRoles(t testing.TB, pg *vaulttest.Postgres) []string {
	t.Helper()
	out := pg.Query(t, `select rolname || '|' || coalesce(extract(epoch from rolvaliduntil)::bigint::text, 'infinity') from pg_roles where rolname like 'v-%' order by 1`)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// TestDatabaseLease: the database engine's credentials against a real
// PostgreSQL. Both fields of one creds path are one credential (one
// lease, one role), which logs in as itself; renewal moves the role's
// VALID UNTIL in Postgres; revocation drops the role.
func TestDatabaseLease(t *testing.T) {
	t.Parallel()
	srv := vaulttest.StartWithPlugins(t)
	pg := vaulttest.StartPostgres(t)
	mount := database(t, srv, pg, "1m", "10m")
	v := newVault(t, srv, "secret", setup{})
	ctx := context.Background()
	path := mount + "/creds/app"

	user, err := v.ReadFieldWith(ctx, path, "username", nil)
	if err != nil {
		t.Fatal(err)
	}
	pass, err := v.ReadFieldWith(ctx, path, "password", nil)
	if err != nil {
		t.Fatal(err)
	}
	leases := v.Leases()
	if len(leases) != 1 || !strings.HasPrefix(leases[0].ID, path+"/") || !leases[0].Renewable {
		t.Fatalf("leases after reading two fields: %+v", leases)
	}
	l := leases[0]
	if l.Fields["username"] != user || l.Fields["password"] != pass {
		t.Errorf("the lease's fields are not the ones read")
	}
	if l.Duration < 50*time.Second || l.Duration > time.Minute {
		t.Errorf("lease duration %v, want the role's default_ttl (1m)", l.Duration)
	}
	roles := vaultRoles(t, pg)
	if len(roles) != 1 || !strings.HasPrefix(roles[0], user.Reveal()+"|") {
		t.Fatalf("roles in Postgres after two fields: %q, want one: %s", roles, user.Reveal())
	}
	got, err := vaulttest.QueryAs(pg.Psql(), pg.URLFor(user.Reveal(), pass.Reveal()), "select current_user")
	if err != nil || got != user.Reveal() {
		t.Fatalf("logging in with the credential: %q, %v", got, err)
	}
	// A wrong password is refused: the check above can fail.
	if _, err := vaulttest.QueryAs(pg.Psql(), pg.URLFor(user.Reveal(), pass.Reveal()+"x"), "select 1"); err == nil {
		t.Fatal("a wrong password logged in")
	}

	var until0 int64
	fmt.Sscanf(strings.SplitN(roles[0], "|", 2)[1], "%d", &until0)
	time.Sleep(1100 * time.Millisecond) // VALID UNTIL has a resolution of a second
	d, err := v.Renew(ctx, l.ID, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d < 4*time.Minute || d > 5*time.Minute {
		t.Errorf("renewed for %v, want 5m", d)
	}
	roles = vaultRoles(t, pg)
	var until1 int64
	if len(roles) == 1 {
		fmt.Sscanf(strings.SplitN(roles[0], "|", 2)[1], "%d", &until1)
	}
	if until1-until0 < 3*60 {
		t.Errorf("VALID UNTIL %d → %d after renewing for 5m: Postgres did not hear of the renewal", until0, until1)
	}

	if err := v.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	v.Forget()
	if roles := vaultRoles(t, pg); len(roles) != 0 {
		t.Errorf("roles after revoke: %q", roles)
	}
	if _, err := vaulttest.QueryAs(pg.Psql(), pg.URLFor(user.Reveal(), pass.Reveal()), "select 1"); err == nil {
		t.Error("the revoked credential still logs in")
	}

	// After Forget, a new read is a new credential.
	user2, err := v.ReadFieldWith(ctx, path, "username", nil)
	if err != nil || user2 == user {
		t.Errorf("read after Forget: %v (same user: %v)", err, user2 == user)
	}
	for _, l := range v.Leases() {
		v.Revoke(ctx, l.ID)
	}
}

// TestDatabaseMaxTTL: renewing a database credential up to its max_ttl
// never fails; Vault's last answers are a zero duration (its refusal in
// the last second, "past the max TTL", included), the end Keep waits for
// rather than a failure it retries; then Vault revokes the lease and
// Postgres drops the role.
func TestDatabaseMaxTTL(t *testing.T) {
	t.Parallel()
	srv := vaulttest.StartWithPlugins(t)
	pg := vaulttest.StartPostgres(t)
	mount := database(t, srv, pg, "2s", "5s")
	v := newVault(t, srv, "secret", setup{})
	ctx := context.Background()
	l, err := v.Lease(ctx, mount+"/creds/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Duration
	for i := 0; ; i++ {
		if i == 60 {
			t.Fatalf("no zero duration after %d renewals: %v", i, got)
		}
		d, err := v.Renew(ctx, l.ID, l.Duration)
		if err != nil {
			t.Fatalf("renewal %d (after %v) failed before the end: %v", i, got, err)
		}
		got = append(got, d)
		if d == 0 {
			break
		}
		if d > l.Duration {
			t.Fatalf("renewed for %v, more than the %v asked", d, l.Duration)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(got) < 4 {
		t.Errorf("renewals %v: the lease ended before its max TTL", got)
	}
	for i := 0; len(vaultRoles(t, pg)) != 0; i++ {
		if i == 50 {
			t.Fatalf("roles 10 s after the max TTL: %q", vaultRoles(t, pg))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The lease is gone: a renewal now is a failure, not the end again.
	if _, err := v.Renew(ctx, l.ID, l.Duration); err == nil {
		t.Error("renewing a revoked lease answered no error")
	}
}
