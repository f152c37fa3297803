package vaulttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"
)

// LDAP is a throwaway OpenLDAP server (Debian's slapd) on 127.0.0.1: a
// generated slapd.conf and an MDB database in a temporary directory, a
// free port, and a directory under dc=hush,dc=test holding one user,
// uid=USER,ou=people, with a random password, member of
// cn=deployers,ou=groups.
type LDAP struct {
	URL      string // ldap://127.0.0.1:PORT
	BaseDN   string // dc=hush,dc=test
	UserDN   string // ou=people,dc=hush,dc=test
	GroupDN  string // ou=groups,dc=hush,dc=test
	User     string // the user's uid
	Password string // the user's password
	Group    string // deployers, which the user is a member of

	cmd  *exec.Cmd
	dir  string
	log  *bytes.Buffer
	done chan struct{}
}

// SlapdBin finds slapd and slapadd: on PATH, else Debian's /usr/sbin. It
// skips t when they are missing, or fails it under HUSH_TEST_REQUIRE_ALL=1.
func SlapdBin(t testing.TB) (slapd, slapadd string) {
	t.Helper()
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		p := filepath.Join("/usr/sbin", name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
		return ""
	}
	slapd, slapadd = find("slapd"), find("slapadd")
	if slapd != "" && slapadd != "" {
		return slapd, slapadd
	}
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but OpenLDAP's slapd is not installed: run .ci/deps")
	}
	t.Skip("no slapd (OpenLDAP; run .ci/deps)")
	return "", ""
}

// StartLDAP runs a slapd for the rest of t, and removes it after.
func StartLDAP(t testing.TB) *LDAP {
	t.Helper()
	slapd, slapadd := SlapdBin(t)
	l, err := startLDAP(slapd, slapadd, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {{dir}}/slapd.pid
argsfile {{dir}}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "dc=hush,dc=test"
rootdn "cn=admin,dc=hush,dc=test"
directory {{dir}}/data
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
`

const ldapSeed = `dn: dc=hush,dc=test
objectClass: dcObject
objectClass: organization
o: hush
dc: hush

dn: ou=people,dc=hush,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=hush,dc=test
objectClass: organizationalUnit
ou: groups

dn: uid={{user}},ou=people,dc=hush,dc=test
objectClass: inetOrgPerson
uid: {{user}}
cn: Alice Test
sn: Test
userPassword: {{password}}

dn: cn=deployers,ou=groups,dc=hush,dc=test
objectClass: groupOfNames
cn: deployers
member: uid={{user}},ou=people,dc=hush,dc=test
`

func startLDAP(slapd, slapadd, dir string) (*LDAP, error) {
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	l := &LDAP{
		BaseDN: "dc=hush,dc=test", UserDN: "ou=people,dc=hush,dc=test", GroupDN: "ou=groups,dc=hush,dc=test",
		User: "alice", Password: "ldap-test-" + hex.EncodeToString(rnd[:]), Group: "deployers",
		dir: dir, log: &bytes.Buffer{}, done: make(chan struct{}),
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "slapd.conf")
	r := strings.NewReplacer("{{dir}}", dir, "{{user}}", l.User, "{{password}}", l.Password)
	if err := os.WriteFile(conf, []byte(r.Replace(slapdConf)), 0o600); err != nil {
		return nil, err
	}
	seed := filepath.Join(dir, "seed.ldif")
	if err := os.WriteFile(seed, []byte(r.Replace(ldapSeed)), 0o600); err != nil {
		return nil, err
	}
	// Loaded offline, before the server starts: no administrator password
	// is needed, on a command line or anywhere.
	add := exec.Command(slapadd, "-f", conf, "-l", seed)
	add.Env = []string{"PATH=/usr/sbin:/usr/bin:/bin", "LANG=C"}
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd: %v: %s", err, out)
	}
	os.Remove(seed)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	l.URL = "ldap://" + addr
	// -d 0: stay in the foreground (no daemon to lose track of), logging
	// nothing but errors.
	l.cmd = exec.Command(slapd, "-f", conf, "-h", l.URL+"/", "-d", "0")
	l.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/bin", "LANG=C"}
	l.cmd.Stdout, l.cmd.Stderr = l.log, l.log
	// Should the test binary die without stopping it, slapd goes too.
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	go func() { l.cmd.Wait(); close(l.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-l.done:
			return nil, fmt.Errorf("slapd exited: %s", l.log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return l, nil
		}
		if time.Now().After(deadline) {
			l.Stop()
			return nil, fmt.Errorf("slapd not listening after 30s: %s", l.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Port is the server's TCP port.
func (l *LDAP) Port() int {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(l.URL, "ldap://"))
	n, _ := strconv.Atoi(p)
	return n
}

// Stop ends slapd and waits for it.
func (l *LDAP) Stop() {
	daemon.Stop(l.cmd, l.done, syscall.SIGTERM, 10*time.Second)
}

// AuthPlugin is the name under which StartWithPlugins registered the
// external auth plugin for kind ("ldap", "kubernetes", "aws": the
// -tags minimal Vault leaves them out; .ci/vault-plugins builds them as
// vault-plugin-auth-KIND). A server without it skips t, or fails it under
// HUSH_TEST_REQUIRE_ALL=1.
func (s *Server) AuthPlugin(t testing.TB, kind string) string {
	t.Helper()
	name := "vault-plugin-auth-" + kind
	for _, n := range s.Plugins {
		if n == name {
			return name
		}
	}
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatalf("HUSH_TEST_REQUIRE_ALL=1 but Vault's %s is not in .cache/bin/plugins: run make vault", name)
	}
	t.Skipf("no %s in .cache/bin/plugins (run make vault)", name)
	return ""
}
