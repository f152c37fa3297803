package postgres

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

func request(t *testing.T, raw map[string]any, secrets map[string]string, old, proposed string) (rotate.Provider, *rotate.Request) {
	t.Helper()
	set, err := rotate.ParseSettings("DB_URL", raw)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := New(set)
	if err != nil {
		t.Fatal(err)
	}
	return prov, &rotate.Request{ID: "t", Env: "dev", Key: "DB_URL", Settings: set, Old: store.Value(old), Proposed: store.Value(proposed),
		Secret: func(name string) (store.Value, error) {
			v, ok := secrets[name]
			if !ok {
				return "", store.ErrNotFound
			}
			return store.Value(v), nil
		}, Now: time.Now, Logf: t.Logf}
}

func canLogin(pg *vaulttest.Postgres, user, pw string) bool {
	_, err := vaulttest.QueryAs(pg.Psql(), pg.URLFor(url.PathEscape(user), url.QueryEscape(pw)), "select 1")
	return err == nil
}

// TestPasswordMode: ALTER ROLE … PASSWORD on a real server, for a role
// whose name needs quoting; the old password stops working, the new one
// works, a rerun of Create with the same proposal converges, and the
// server never saw the password itself (its verifier is SCRAM).
func TestPasswordMode(t *testing.T) {
	pg := vaulttest.StartPostgres(t)
	role := `app "x" o'neil; drop`
	pg.Query(t, `CREATE ROLE "app ""x"" o'neil; drop" LOGIN PASSWORD 'old-pass-1'`)
	old := pg.URLFor(url.PathEscape(role), "old-pass-1")
	newPW := `n3w-p@ss'word\x`
	prov, req := request(t, map[string]any{"provider": "postgres", "admin": "PG_ADMIN"}, map[string]string{"PG_ADMIN": pg.URL()}, old, newPW)
	ctx := context.Background()
	res, err := prov.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.OldValid {
		t.Error("password mode reports the old password still valid")
	}
	u, err := url.Parse(res.Value.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); u.User.Username() != role || pw != newPW || u.Host != pg.Host+":"+strconv.Itoa(pg.Port) || u.Query().Get("sslmode") != "disable" {
		t.Fatalf("new URL: user %q, host %q, query %q", u.User.Username(), u.Host, u.RawQuery)
	}
	if canLogin(pg, role, "old-pass-1") {
		t.Error("the old password still logs in")
	}
	if !canLogin(pg, role, newPW) {
		t.Error("the new password does not log in")
	}
	if got := pg.Query(t, `SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = $$`+role+`$$`); got != "SCRAM-SHA-256$" {
		t.Errorf("stored verifier starts %q", got)
	}
	if err := prov.Verify(ctx, req, res); err != nil {
		t.Fatal(err)
	}
	// A crash after the ALTER and before the journal: Create again.
	res2, err := prov.Create(ctx, req)
	if err != nil || res2.Value != res.Value {
		t.Fatalf("rerun of Create: %v (same value %v)", err, res2 != nil && res2.Value == res.Value)
	}
	if err := prov.Verify(ctx, req, res2); err != nil {
		t.Fatal(err)
	}
	if err := prov.Retire(ctx, req, res2); err != nil {
		t.Fatal(err)
	}
	// A wrong admin password is ErrUnavailable (exit 8) and names no
	// password.
	_, req = request(t, map[string]any{"provider": "postgres", "admin": "PG_ADMIN"}, map[string]string{"PG_ADMIN": pg.URLFor(pg.User, "wrong-admin-pw")}, old, "x-new-1234567890")
	_, err = prov.Create(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "rotation source unavailable") || strings.Contains(err.Error(), "wrong-admin-pw") {
		t.Fatalf("bad admin: %v", err)
	}
}

// TestAlternateMode: two login roles under a group that owns the table;
// each rotation re-passwords the idle one and retires the other, which
// keeps working until then; objects are never dropped.
func TestAlternateMode(t *testing.T) {
	pg := vaulttest.StartPostgres(t)
	pg.Query(t, `CREATE ROLE app NOLOGIN; CREATE TABLE items (n int); ALTER TABLE items OWNER TO app; INSERT INTO items VALUES (7);
		CREATE ROLE app_blue LOGIN PASSWORD 'blue-pass-1' IN ROLE app`)
	raw := map[string]any{"provider": "postgres", "admin": "PG_ADMIN", "mode": "alternate", "roles": []any{"app_blue", "app_green"}, "group": "app"}
	secrets := map[string]string{"PG_ADMIN": pg.URL()}
	cur, curPW, curRole := pg.URLFor("app_blue", "blue-pass-1"), "blue-pass-1", "app_blue"
	ctx := context.Background()
	for i, want := range []string{"app_green", "app_blue", "app_green"} {
		pw := "rotated-" + strconv.Itoa(i) + "-abcdefghijklmnop"
		prov, req := request(t, raw, secrets, cur, pw)
		res, err := prov.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OldValid || res.State["active"] != want {
			t.Fatalf("rotation %d: active %q, old valid %v", i, res.State["active"], res.OldValid)
		}
		if !canLogin(pg, curRole, curPW) {
			t.Fatalf("rotation %d: the old role stopped working before retire", i)
		}
		if err := prov.Verify(ctx, req, res); err != nil {
			t.Fatal(err)
		}
		out, err := vaulttest.QueryAs(pg.Psql(), res.Value.Reveal(), "SELECT n FROM items")
		if err != nil || out != "7" {
			t.Fatalf("rotation %d: the new role reads %q: %v", i, out, err)
		}
		if err := prov.Retire(ctx, req, res); err != nil {
			t.Fatal(err)
		}
		if err := prov.Retire(ctx, req, res); err != nil {
			t.Fatalf("retire is not idempotent: %v", err)
		}
		if canLogin(pg, curRole, curPW) {
			t.Fatalf("rotation %d: the old role %s still logs in after retire", i, curRole)
		}
		cur, curPW, curRole = res.Value.Reveal(), pw, want
	}
	if got := pg.Query(t, "SELECT count(*) FROM items"); got != "1" {
		t.Fatalf("items: %s", got)
	}
}

func TestSettings(t *testing.T) {
	for _, raw := range []map[string]any{
		{"provider": "postgres"},
		{"provider": "postgres", "admin": "A", "mode": "alternate", "roles": []any{"a"}, "group": "g"},
		{"provider": "postgres", "admin": "A", "mode": "alternate", "roles": []any{"a", "a"}, "group": "g"},
		{"provider": "postgres", "admin": "A", "mode": "alternate", "roles": []any{"a", "b"}},
		{"provider": "postgres", "admin": "A", "mode": "swap"},
		{"provider": "postgres", "admin": "A", "rol": "typo"},
	} {
		set, err := rotate.ParseSettings("K", raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(set); err == nil {
			t.Errorf("%v accepted", raw)
		}
	}
}
