package vaulttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"
)

// Postgres is a throwaway PostgreSQL cluster (Debian's postgresql
// package) on 127.0.0.1, for Vault's database secrets engine: its own
// data directory, a free port, no Unix socket, and a superuser with a
// random password. As root it runs as the postgres user (initdb and
// postgres refuse root), or nobody.
type Postgres struct {
	Host     string // 127.0.0.1
	Port     int
	User     string // the superuser, hush
	Password string // its password
	Database string // postgres

	bindir string
	psql   string
	base   string
	cmd    *exec.Cmd
	log    *bytes.Buffer
	done   chan struct{}
}

// PostgresBin finds the directory holding initdb and postgres: beside an
// initdb on PATH, else Debian's /usr/lib/postgresql/VERSION/bin (the
// newest). It skips t when there is none, or fails it under
// HUSH_TEST_REQUIRE_ALL=1.
func PostgresBin(t testing.TB) string {
	t.Helper()
	if dir := postgresBin(); dir != "" {
		return dir
	}
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but PostgreSQL is not installed (initdb, postgres): run .ci/deps")
	}
	t.Skip("no PostgreSQL server (initdb, postgres; run .ci/deps)")
	return ""
}

func postgresBin() string {
	ok := func(dir string) bool {
		for _, n := range []string{"initdb", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil && ok(filepath.Dir(r)) {
			return filepath.Dir(r)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if ok(d) {
			return d
		}
	}
	return ""
}

func pgVersion(bindir string) float64 {
	f, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bindir)), 64)
	return f
}

// StartPostgres initialises and starts a cluster for the rest of t, and
// removes it after.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := startPostgres(PostgresBin(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// pgCredential is who the cluster runs as: nil (ourselves) unless we are
// root, then the postgres user, else nobody.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("postgres: running as root, and there is neither a postgres nor a nobody user to run the cluster as")
}

func startPostgres(bindir string) (p *Postgres, err error) {
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	psql := filepath.Join(bindir, "psql")
	if _, err := os.Stat(psql); err != nil {
		if psql, err = exec.LookPath("psql"); err != nil {
			return nil, fmt.Errorf("postgres: no psql beside %s or on PATH", bindir)
		}
	}
	// Not t.TempDir: its parents are root's 0700 directories, which the
	// cluster's user cannot cross. /tmp is.
	base, err := os.MkdirTemp("", "hush-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(base)
		}
	}()
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	p = &Postgres{
		Host: "127.0.0.1", User: "hush", Password: "pg-test-" + hex.EncodeToString(rnd[:]), Database: "postgres",
		bindir: bindir, psql: psql, base: base, log: &bytes.Buffer{}, done: make(chan struct{}),
	}
	pwfile := filepath.Join(base, "pw")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, f := range []string{base, pwfile} {
			if err := os.Chown(f, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	data := filepath.Join(base, "data")
	env := []string{"PATH=" + bindir + ":/usr/bin:/bin", "LANG=C", "LC_ALL=C", "TZ=UTC", "HOME=" + base}
	initdb := exec.Command(filepath.Join(bindir, "initdb"), "-D", data, "-U", p.User, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.Dir, initdb.Env = base, env
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postgres: initdb: %v: %s", err, out)
	}
	os.Remove(pwfile)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	// No Unix socket: every connection, the superuser's too, goes over
	// TCP with a password, as Vault's and the child's do.
	p.cmd = exec.Command(filepath.Join(bindir, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(p.Port),
		"-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=50", "-c", "shared_buffers=16MB")
	p.cmd.Dir, p.cmd.Env = base, env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// SIGQUIT is PostgreSQL's immediate shutdown: should the test binary
	// die without stopping the cluster, it goes with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("postgres exited: %s", p.log.String())
		default:
		}
		if _, err := p.query("select 1"); err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("postgres not ready after 60s: %s", p.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is a connection URL for the superuser.
func (p *Postgres) URL() string {
	return p.URLFor(p.User, p.Password)
}

// URLFor is a connection URL for another user, such as one Vault created.
func (p *Postgres) URLFor(user, password string) string {
	return fmt.Sprintf("postgresql://%s:%s@%s:%d/%s?sslmode=disable", user, password, p.Host, p.Port, p.Database)
}

// VaultURL is the connection_url for Vault's database engine, its
// templated credentials being the superuser's.
func (p *Postgres) VaultURL() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@%s:%d/%s?sslmode=disable", p.Host, p.Port, p.Database)
}

// Psql is the psql client used for queries.
func (p *Postgres) Psql() string { return p.psql }

// BinDir holds the server's and its clients' binaries.
func (p *Postgres) BinDir() string { return p.bindir }

// Query runs sql as the superuser and returns psql's unaligned, tuples-only
// output, trimmed (one row a line, columns separated by |).
func (p *Postgres) Query(t testing.TB, sql string) string {
	t.Helper()
	out, err := p.query(sql)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *Postgres) query(sql string) (string, error) {
	return QueryAs(p.psql, p.URL(), sql)
}

// QueryAs runs sql through psql against url (no ~/.psqlrc, no password
// prompt) and returns its trimmed, unaligned, tuples-only output.
func QueryAs(psql, url, sql string) (string, error) {
	cmd := exec.Command(psql, "-X", "-w", "-v", "ON_ERROR_STOP=1", "-tA", "-d", url, "-c", sql)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "PGCONNECT_TIMEOUT=5"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("psql %q: %v: %s", sql, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Stop shuts the cluster down (fast shutdown: open sessions end) and
// removes its files.
func (p *Postgres) Stop() {
	p.stop()
	os.RemoveAll(p.base)
}

func (p *Postgres) stop() {
	daemon.Stop(p.cmd, p.done, syscall.SIGINT, 10*time.Second)
}
