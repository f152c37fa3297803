// Package mysqltest starts a throwaway MariaDB server (Debian's
// mariadb-server) for tests: its own data directory made by
// mariadb-install-db, a free port on 127.0.0.1, a Unix socket in the temp
// directory, and an administrator with a random password. As root it runs
// as the mysql user (or nobody): mariadbd refuses root without --user, and
// a child that changed its own user would lose the parent-death signal
// that stops it should the test binary die.
package mysqltest

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"

	"github.com/go-sql-driver/mysql"
)

// Server is a running MariaDB.
type Server struct {
	Host     string // 127.0.0.1
	Port     int
	User     string // the administrator, hush (from 127.0.0.1)
	Password string

	base string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

func find(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin"} {
			if st, err := os.Stat(filepath.Join(d, n)); err == nil && st.Mode()&0o111 != 0 {
				return filepath.Join(d, n)
			}
		}
	}
	return ""
}

// Start starts a server for the rest of t and removes it after. No
// MariaDB skips t, or fails it under HUSH_TEST_REQUIRE_ALL=1.
func Start(t testing.TB) *Server {
	t.Helper()
	server, install := find("mariadbd", "mysqld"), find("mariadb-install-db", "mysql_install_db")
	if server == "" || install == "" {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but MariaDB is not installed (mariadbd, mariadb-install-db): run .ci/deps")
		}
		t.Skip("no MariaDB server (mariadbd, mariadb-install-db; run .ci/deps)")
	}
	s, err := start(server, install)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func credential() (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		u, _ := user.Current()
		name := ""
		if u != nil {
			name = u.Username
		}
		return nil, name, nil
	}
	for _, name := range []string{"mysql", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, name, nil
	}
	return nil, "", fmt.Errorf("mariadb: running as root, and there is neither a mysql nor a nobody user to run the server as")
}

func start(server, install string) (s *Server, err error) {
	cred, uname, err := credential()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its root-owned 0700 parents would stop the mysql
	// user.
	base, err := os.MkdirTemp("", "hush-mariadb-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(base)
		}
	}()
	// Its own temporary directory: the bootstrap's internal temporary
	// tables otherwise go to the shared /tmp, where CI once saw one vanish
	// under a parallel bootstrap ("Could not remove temporary table ...
	// error: 2", then "Unknown table 'mysql.tmp_proxies_priv'").
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, d := range []string{base, tmp} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	s = &Server{Host: "127.0.0.1", User: "hush", Password: "my-test-" + hex.EncodeToString(rnd[:]), base: base, log: &bytes.Buffer{}, done: make(chan struct{})}
	data := filepath.Join(base, "data")
	env := []string{"PATH=/usr/sbin:/usr/bin:/bin", "LANG=C", "TZ=UTC", "HOME=" + base, "TMPDIR=" + tmp}
	args := []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, "--auth-root-authentication-method=normal", "--skip-test-db"}
	if uname != "" {
		args = append(args, "--user="+uname)
	}
	in := exec.Command(install, args...)
	in.Dir, in.Env = base, env
	in.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := in.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	sock := filepath.Join(base, "sock")
	s.cmd = exec.Command(server, "--no-defaults", "--datadir="+data, "--tmpdir="+tmp, "--port="+strconv.Itoa(s.Port), "--bind-address=127.0.0.1",
		"--skip-networking=0", "--socket="+sock, "--pid-file="+filepath.Join(base, "pid"), "--skip-name-resolve",
		"--innodb-buffer-pool-size=16M", "--skip-log-bin", "--max-connections=60", "--log-error="+filepath.Join(base, "err.log"))
	s.cmd.Dir, s.cmd.Env = base, env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("mariadbd: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	// root@localhost has no password over the socket until this runs.
	rootDSN := (&mysql.Config{User: "root", Net: "unix", Addr: sock, AllowNativePasswords: true}).FormatDSN()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			b, _ := os.ReadFile(filepath.Join(base, "err.log"))
			return nil, fmt.Errorf("mariadbd exited: %s %s", s.log.String(), b)
		default:
		}
		db, err := sql.Open("mysql", rootDSN)
		if err == nil {
			err = db.Ping()
			if err == nil {
				_, err = db.Exec(fmt.Sprintf("CREATE USER 'hush'@'127.0.0.1' IDENTIFIED BY '%s'", s.Password))
				if err == nil {
					_, err = db.Exec("GRANT ALL PRIVILEGES ON *.* TO 'hush'@'127.0.0.1' WITH GRANT OPTION")
				}
				db.Close()
				if err != nil {
					s.stop()
					return nil, fmt.Errorf("mariadb: make the administrator: %w", err)
				}
				return s, nil
			}
			db.Close()
		}
		if time.Now().After(deadline) {
			s.stop()
			b, _ := os.ReadFile(filepath.Join(base, "err.log"))
			return nil, fmt.Errorf("mariadb not ready after 60s: %v: %s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is a mysql:// URL for user (the form the provider stores).
func (s *Server) URL(user, password, db string) string {
	return fmt.Sprintf("mysql://%s:%s@%s:%d/%s", user, password, s.Host, s.Port, db)
}

// AdminURL is the administrator's URL.
func (s *Server) AdminURL() string { return s.URL(s.User, s.Password, "") }

// Open connects as user over TCP.
func (s *Server) Open(user, password, db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), db
	cfg.Timeout = 5 * time.Second
	return sql.Open("mysql", cfg.FormatDSN())
}

// Exec runs statements as the administrator.
func (s *Server) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	db, err := s.Open(s.User, s.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// CanLogin reports whether user logs in with password.
func (s *Server) CanLogin(user, password string) bool {
	db, err := s.Open(user, password, "")
	if err != nil {
		return false
	}
	defer db.Close()
	return db.Ping() == nil
}

// Stop shuts the server down and removes its files.
func (s *Server) Stop() {
	s.stop()
	os.RemoveAll(s.base)
}

func (s *Server) stop() {
	daemon.Stop(s.cmd, s.done, syscall.SIGTERM, 15*time.Second)
}
