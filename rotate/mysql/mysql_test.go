package mysql

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/rotate/mysql/mysqltest"
	"github.com/hush-secrets/hush/store"
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

// TestPasswordMode: ALTER USER on a real MariaDB, for an account whose
// name and new password need escaping (quotes, a backslash), with the
// server in NO_BACKSLASH_ESCAPES mode too.
func TestPasswordMode(t *testing.T) {
	srv := mysqltest.Start(t)
	user := `o'neil\app`
	srv.Exec(t, `CREATE USER 'o''neil\\app'@'%' IDENTIFIED BY 'old-pass-1'`)
	for i, mode := range []string{"", "NO_BACKSLASH_ESCAPES"} {
		srv.Exec(t, "SET GLOBAL sql_mode = '"+mode+"'")
		oldPW := "old-pass-1"
		if i > 0 {
			oldPW = `n3w'pa\ss-0`
		}
		old := "mysql://" + url.UserPassword(user, oldPW).String() + "@" + srv.Host + ":" + strconv.Itoa(srv.Port) + "/"
		newPW := `n3w'pa\ss-` + strconv.Itoa(i)
		prov, req := request(t, map[string]any{"provider": "mariadb", "admin": "ADMIN"}, map[string]string{"ADMIN": srv.AdminURL()}, old, newPW)
		ctx := context.Background()
		res, err := prov.Create(ctx, req)
		if err != nil {
			t.Fatalf("sql_mode %q: %v", mode, err)
		}
		if srv.CanLogin(user, oldPW) {
			t.Errorf("sql_mode %q: the old password still logs in", mode)
		}
		if !srv.CanLogin(user, newPW) {
			t.Fatalf("sql_mode %q: the new password does not log in", mode)
		}
		if err := prov.Verify(ctx, req, res); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(res.Value.Reveal())
		if pw, _ := u.User.Password(); u.User.Username() != user || pw != newPW {
			t.Fatalf("stored URL user %q", u.User.Username())
		}
		if _, err := prov.Create(ctx, req); err != nil {
			t.Fatalf("rerun of Create: %v", err)
		}
	}
}

// TestAlternateMode: two accounts with one role; the old keeps working
// until retired (ACCOUNT LOCK), the new reads the table through the role.
func TestAlternateMode(t *testing.T) {
	srv := mysqltest.Start(t)
	srv.Exec(t, "CREATE DATABASE app", "CREATE TABLE app.items (n int)", "INSERT INTO app.items VALUES (7)",
		"CREATE ROLE app_rw", "GRANT SELECT ON app.* TO app_rw",
		"CREATE USER 'app_blue'@'%' IDENTIFIED BY 'blue-pass-1'", "GRANT app_rw TO 'app_blue'@'%'", "SET DEFAULT ROLE app_rw FOR 'app_blue'@'%'")
	raw := map[string]any{"provider": "mysql", "admin": "ADMIN", "mode": "alternate", "users": []any{"app_blue", "app_green"}, "grant_role": "app_rw"}
	cur, curUser, curPW := srv.URL("app_blue", "blue-pass-1", "app"), "app_blue", "blue-pass-1"
	ctx := context.Background()
	for i, want := range []string{"app_green", "app_blue", "app_green"} {
		pw := "rotated-" + strconv.Itoa(i) + "-abcdefghij"
		prov, req := request(t, raw, map[string]string{"ADMIN": srv.AdminURL()}, cur, pw)
		res, err := prov.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.State["active"] != want || !res.OldValid {
			t.Fatalf("rotation %d: active %q", i, res.State["active"])
		}
		if !srv.CanLogin(curUser, curPW) {
			t.Fatalf("rotation %d: the old account stopped before retire", i)
		}
		if err := prov.Verify(ctx, req, res); err != nil {
			t.Fatal(err)
		}
		db, err := srv.Open(want, pw, "app")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow("SELECT n FROM items").Scan(&n); err != nil || n != 7 {
			t.Fatalf("rotation %d: %s reads: %v", i, want, err)
		}
		db.Close()
		if err := prov.Retire(ctx, req, res); err != nil {
			t.Fatal(err)
		}
		if err := prov.Retire(ctx, req, res); err != nil {
			t.Fatalf("retire again: %v", err)
		}
		if srv.CanLogin(curUser, curPW) {
			t.Fatalf("rotation %d: %s still logs in after retire", i, curUser)
		}
		cur, curUser, curPW = res.Value.Reveal(), want, pw
	}
}
