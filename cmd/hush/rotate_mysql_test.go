package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/rotate/mysql/mysqltest"
)

// TestRotateMariaDBZeroDowntime: the goal against a real MariaDB — two
// accounts alternate (a 2 s grace) while a client logs in afresh for each
// query with the URL it re-reads through hush get; none fails, and the
// retired account is locked.
func TestRotateMariaDBZeroDowntime(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	srv := mysqltest.Start(t)
	srv.Exec(t, "CREATE DATABASE app", "CREATE TABLE app.items (n int)", "INSERT INTO app.items VALUES (7)",
		"CREATE ROLE app_rw", "GRANT SELECT ON app.* TO app_rw",
		"CREATE USER 'app_blue'@'%' IDENTIFIED BY 'blue-pass-1'", "GRANT app_rw TO 'app_blue'@'%'", "SET DEFAULT ROLE app_rw FOR 'app_blue'@'%'")
	f := newFaultEnv(t, "")
	f.withCompanion()
	f.must("", "init", "--name", "myrot")
	f.must(srv.AdminURL(), "set", "MYSQL_ADMIN")
	f.must(srv.URL("app_blue", "blue-pass-1", "app"), "set", "DB_URL")
	appendConfig(t, f, `rotation:
  sources:
    DB_URL:
      provider: mariadb
      admin: MYSQL_ADMIN
      mode: alternate
      users: [app_blue, app_green]
      grant_role: app_rw
      grace: 2s
`)
	f.must("", "ack", "--yes")
	query := func(cred string) error {
		u, err := url.Parse(cred)
		if err != nil {
			return err
		}
		pw, _ := u.User.Password()
		db, err := srv.Open(u.User.Username(), pw, "app")
		if err != nil {
			return err
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT n FROM items").Scan(&n); err != nil || n != 7 {
			return fmt.Errorf("query as %s: %v", u.User.Username(), err)
		}
		return nil
	}
	stop := make(chan struct{})
	q := startLoop(f, "DB_URL", stop, query)
	time.Sleep(500 * time.Millisecond)
	var users []string
	for i := 0; i < 3; i++ {
		f.must("", "rotate", "DB_URL", "--wait")
		u, _ := url.Parse(f.must("", "get", "DB_URL"))
		users = append(users, u.User.Username())
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	<-q.done
	t.Logf("%d queries succeeded, %d failed through 3 rotations (users %v)", q.ok.Load(), q.failed.Load(), users)
	if q.failed.Load() != 0 {
		t.Fatalf("%d queries failed in zero-downtime mode: %v", q.failed.Load(), q.firstFails)
	}
	if q.ok.Load() < 10 || strings.Join(users, ",") != "app_green,app_blue,app_green" {
		t.Fatalf("%d queries, users %v", q.ok.Load(), users)
	}
	db, err := srv.Open(srv.User, srv.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var create string
	if err := db.QueryRow("SHOW CREATE USER 'app_blue'@'%'").Scan(&create); err != nil || !strings.Contains(create, "ACCOUNT LOCK") {
		t.Fatalf("the retired account is not locked: %q %v", create, err)
	}
	if err := db.QueryRow("SHOW CREATE USER 'app_green'@'%'").Scan(&create); err != nil || strings.Contains(create, "ACCOUNT LOCK") {
		t.Fatalf("the active account is locked: %q %v", create, err)
	}
}
