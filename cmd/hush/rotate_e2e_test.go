package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// queryLoop is a client that re-reads its credential through hush get
// before every query (a new login each time) until stop is closed.
type queryLoop struct {
	ok, failed atomic.Int64
	mu         gosync.Mutex
	firstFails []string
	done       chan struct{}
}

func startQueryLoop(t *testing.T, f *faultEnv, key string, stop chan struct{}) *queryLoop {
	return startLoop(f, key, stop, pgQuery)
}

// pgQuery logs in with a postgres:// URL and reads the table.
func pgQuery(cred string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, cred)
	if err != nil {
		return fmt.Errorf("login: %v", err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT n FROM items").Scan(&n); err != nil || n != 7 {
		return fmt.Errorf("query: %v (n %d)", err, n)
	}
	return nil
}

func startLoop(f *faultEnv, key string, stop chan struct{}, query func(cred string) error) *queryLoop {
	q := &queryLoop{done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, errs, err := f.run("", "get", key)
			if err != nil {
				q.fail("hush get: " + errs)
				continue
			}
			if err := query(out); err != nil {
				q.fail(err.Error())
				continue
			}
			q.ok.Add(1)
		}
	}()
	return q
}

func (q *queryLoop) fail(msg string) {
	q.failed.Add(1)
	q.mu.Lock()
	if len(q.firstFails) < 5 {
		q.firstFails = append(q.firstFails, msg)
	}
	q.mu.Unlock()
}

func rotationProject(t *testing.T, pg *vaulttest.Postgres, sources string) *faultEnv {
	f := newFaultEnv(t, "")
	f.withCompanion()
	f.must("", "init", "--name", "dbrot")
	f.must(pg.URL(), "set", "PG_ADMIN")
	cfg := filepath.Join(f.dir, ".hush", "hush.yaml")
	fh, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(fh, sources)
	fh.Close()
	f.must("", "ack", "--yes")
	return f
}

// TestRotatePostgresZeroDowntime is issue 21's goal: a database
// credential rotates three times (alternate mode, a 2 s grace) while a
// client loops queries, each with a fresh login from the credential it
// re-reads through hush get; not one query fails.
func TestRotatePostgresZeroDowntime(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	pg := vaulttest.StartPostgres(t)
	pg.Query(t, `CREATE ROLE app NOLOGIN; CREATE TABLE items (n int); ALTER TABLE items OWNER TO app; INSERT INTO items VALUES (7);
		CREATE ROLE app_blue LOGIN PASSWORD 'blue-pass-1' IN ROLE app`)
	f := rotationProject(t, pg, `rotation:
  sources:
    DB_URL:
      provider: postgres
      admin: PG_ADMIN
      mode: alternate
      roles: [app_blue, app_green]
      group: app
      grace: 2s
`)
	f.must(pg.URLFor("app_blue", "blue-pass-1"), "set", "DB_URL")
	stop := make(chan struct{})
	q := startQueryLoop(t, f, "DB_URL", stop)
	time.Sleep(500 * time.Millisecond)
	users := []string{}
	for i := 0; i < 3; i++ {
		out := f.must("", "rotate", "DB_URL", "--wait")
		t.Logf("rotation %d: %s", i, out)
		v := f.must("", "get", "DB_URL")
		u, _ := url.Parse(v)
		users = append(users, u.User.Username())
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	<-q.done
	t.Logf("%d queries succeeded, %d failed, through 3 rotations (users %v)", q.ok.Load(), q.failed.Load(), users)
	if q.failed.Load() != 0 {
		t.Fatalf("%d queries failed in zero-downtime mode: %v", q.failed.Load(), q.firstFails)
	}
	if q.ok.Load() < 10 {
		t.Fatalf("only %d queries ran: the loop did not exercise the rotations", q.ok.Load())
	}
	if fmt.Sprint(users) != "[app_green app_blue app_green]" {
		t.Fatalf("stored users %v", users)
	}
	if got := pg.Query(t, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_blue'"); got != "f" {
		t.Fatalf("the retired role can log in: %s", got)
	}
	if out := f.must("", "status"); strings.Contains(out, "unfinished rotation") {
		t.Fatalf("status after the rotations: %s", out)
	}
}

// TestRotatePostgresPasswordMode states what a client sees when ALTER
// ROLE replaces the password in place: a session already open keeps
// working (PostgreSQL checks passwords at login only), a new login with
// the old password is refused from the ALTER on, and a client that
// re-reads the credential fails only if it read the old value in the
// moment between the ALTER and the store write (counted, not hidden).
func TestRotatePostgresPasswordMode(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	pg := vaulttest.StartPostgres(t)
	pg.Query(t, `CREATE ROLE app LOGIN PASSWORD 'app-pass-1'; CREATE TABLE items (n int); ALTER TABLE items OWNER TO app; INSERT INTO items VALUES (7)`)
	f := rotationProject(t, pg, `rotation:
  sources:
    DB_URL:
      provider: postgres
      admin: PG_ADMIN
      grace: 1h
`)
	old := pg.URLFor("app", "app-pass-1")
	f.must(old, "set", "DB_URL")
	ctx := context.Background()
	held, err := pgx.Connect(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(ctx)
	stop := make(chan struct{})
	q := startQueryLoop(t, f, "DB_URL", stop)
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 3; i++ {
		out, errs, err := f.run("", "rotate", "DB_URL")
		if err != nil {
			t.Fatalf("rotate: %v %s", err, errs)
		}
		// The grace is for an old password that still works: this one
		// does not, so the rotation finishes without waiting.
		if !strings.Contains(out, "created, stored, verified, old retired") {
			t.Errorf("rotate said %q", out)
		}
		if i == 0 && !strings.Contains(errs, "the old credential stopped working at the source") {
			t.Errorf("no warning that the old password stopped working: %s", errs)
		}
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	<-q.done
	t.Logf("password mode: %d queries succeeded, %d failed through 3 rotations (a failure is a login with the value read just before the store changed): %v",
		q.ok.Load(), q.failed.Load(), q.firstFails)
	var n int
	if err := held.QueryRow(ctx, "SELECT n FROM items").Scan(&n); err != nil || n != 7 {
		t.Fatalf("the session opened before the rotations: %v", err)
	}
	if _, err := pgx.Connect(ctx, old); err == nil {
		t.Fatal("the old password still logs in")
	}
	if _, err := pgx.Connect(ctx, f.must("", "get", "DB_URL")); err != nil {
		t.Fatalf("the stored credential: %v", err)
	}
}

func appendConfig(t *testing.T, f *faultEnv, text string) {
	t.Helper()
	fh, err := os.OpenFile(filepath.Join(f.dir, ".hush", "hush.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func itoaPort(n int) string { return fmt.Sprint(n) }

// Without hush-cloud installed, a provider that runs there (postgres,
// mysql, acme) fails before anything is asked of the source or written:
// exit 8 naming what is missing, no journal, the store as it was.
func TestRotateWithoutCompanion(t *testing.T) {
	t.Parallel()
	f := newFaultEnv(t, "")
	// Nothing of hush's on the PATH, and none beside f's hush (a link to
	// the test binary).
	f.env = append(f.env, "PATH=/usr/bin:/bin")
	f.must("", "init", "--name", "nocomp")
	f.must("postgres://root:r@127.0.0.1:1/db", "set", "PG_ADMIN")
	f.must("postgres://app:a@127.0.0.1:1/db", "set", "DB_URL")
	appendConfig(t, f, "rotation:\n  sources:\n    DB_URL:\n      provider: postgres\n      admin: PG_ADMIN\n")
	f.must("", "ack", "--yes")
	storePath := filepath.Join(f.dir, ".hush", "dev.age")
	before, err := os.ReadFile(storePath)
	if err != nil {
		t.Fatal(err)
	}
	_, errs, err := f.run("", "rotate", "DB_URL")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 8 || !strings.Contains(errs, "hush-cloud is not installed") {
		t.Fatalf("rotate without the companion: %v\n%s", err, errs)
	}
	after, err := os.ReadFile(storePath)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the store changed (%v)", err)
	}
	if out := f.must("", "status"); strings.Contains(out, "unfinished rotation") {
		t.Errorf("a journal was left:\n%s", out)
	}
}
