// Package vaulttest starts a real Vault server in dev mode for tests: the
// binary `make vault` builds into .cache/bin/vault (or a vault on PATH), on
// a free loopback port, with a random root token and a temporary HOME.
// Without the binary a test skips, or fails when HUSH_TEST_REQUIRE_ALL=1.
// StartWithPlugins also registers the plugins `make vault` builds into
// .cache/bin/plugins (the database engine's PostgreSQL plugin, and the
// LDAP, Kubernetes and AWS auth methods: see AuthPlugin); StartPostgres,
// StartLDAP and StartMoto run a throwaway PostgreSQL cluster, OpenLDAP
// slapd and moto (AWS STS and IAM) for them.
package vaulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"

	vaultapi "github.com/hashicorp/vault/api"
)

// Server is a running dev server.
type Server struct {
	Addr  string // http://127.0.0.1:PORT
	Token string // the root token
	cmd   *exec.Cmd
	log   *bytes.Buffer
	done  chan struct{}

	// Plugins are the external plugins registered at start
	// (StartWithPlugins: the files of the plugin directory beside the
	// binary).
	Plugins []string

	bin  string
	args []string
	env  []string
	hc   *http.Client
}

// Binary finds the vault binary: .cache/bin/vault in this directory or a
// parent (the repository root), then PATH. It skips t when there is none,
// or fails it under HUSH_TEST_REQUIRE_ALL=1.
func Binary(t testing.TB) string {
	t.Helper()
	if p, ok := daemon.Cached("bin/vault"); ok {
		return p
	}
	if p, err := exec.LookPath("vault"); err == nil {
		return p
	}
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but there is no vault binary: run make vault")
	}
	t.Skip("no vault binary (run make vault)")
	return ""
}

// pluginDir is the plugins directory beside bin with the plugins in it,
// or "" when there is none or it is empty. The path is resolved: Vault
// refuses a plugin directory that is a symbolic link.
func pluginDir(bin string) (string, []string) {
	dir, err := filepath.EvalSymlinks(filepath.Join(filepath.Dir(bin), "plugins"))
	if err != nil {
		return "", nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", nil
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	return dir, names
}

// PostgresPlugin is the name of the database engine's PostgreSQL plugin,
// as registered by StartWithPlugins. A server without it skips t, or fails
// it under HUSH_TEST_REQUIRE_ALL=1.
func (s *Server) PostgresPlugin(t testing.TB) string {
	t.Helper()
	const name = "postgresql-database-plugin"
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

// Start runs a dev server for the rest of t.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(Binary(t), t.TempDir(), false, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartWithPlugins is Start with -dev-plugin-dir: the external plugins in
// .cache/bin/plugins beside the binary are registered (see Plugins and
// PostgresPlugin). Registering them starts each once, a second or so
// under load, which is why Start does not.
func StartWithPlugins(t testing.TB) *Server {
	t.Helper()
	s, err := start(Binary(t), t.TempDir(), false, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartTLS runs a dev server serving HTTPS with a certificate of its own
// CA, whose PEM file it returns (for VAULT_CACERT).
func StartTLS(t testing.TB) (s *Server, caFile string) {
	t.Helper()
	dir := t.TempDir()
	s, err := start(Binary(t), dir, true, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, filepath.Join(dir, "tls", "vault-ca.pem")
}

var (
	sharedMu  gosync.Mutex
	shared    *Server
	sharedErr error
)

// Shared returns one dev server for the whole test binary, started on
// first use; the package's TestMain must call StopShared after m.Run.
// Tests sharing it keep apart by mounting engines of their own.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		dir, err := os.MkdirTemp("", "hush-vault-")
		if err != nil {
			t.Fatal(err)
		}
		shared, sharedErr = start(bin, dir, false, false)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// StopShared stops the server Shared started, if any.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
}

func start(bin, dir string, useTLS, plugins bool) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	s := &Server{Addr: "http://" + addr, Token: "test-root-" + hex.EncodeToString(rnd[:]), log: &bytes.Buffer{}, done: make(chan struct{})}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	args := []string{"server", "-dev", "-dev-root-token-id=" + s.Token, "-dev-listen-address=" + addr, "-dev-no-store-token"}
	if plugins {
		if dir, names := pluginDir(bin); dir != "" {
			args = append(args, "-dev-plugin-dir="+dir)
			s.Plugins = names
		}
	}
	hc := http.DefaultClient
	if useTLS {
		s.Addr = "https://" + addr
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+filepath.Join(dir, "tls"))
		if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
			return nil, err
		}
		// Only the health probe skips verification; tests verify.
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	s.bin, s.args, s.hc = bin, args, hc
	s.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "VAULT_LOG_LEVEL=warn", "VAULT_DISABLE_MLOCK=true"}
	if err := s.run(); err != nil {
		return nil, err
	}
	return s, nil
}

// Restart stops the server and starts it again on the same address with
// the same root token: a dev server keeps everything in memory, so it
// comes back empty, with only its default mounts (secret/, KV v2).
func (s *Server) Restart() error {
	s.Stop()
	s.log.Reset()
	s.done = make(chan struct{})
	return s.run()
}

func (s *Server) run() error {
	s.cmd = exec.Command(s.bin, s.args...)
	// Its plugin processes (the database engine's) end with it.
	daemon.Group(s.cmd)
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("vault server exited: %s", s.log.String())
		default:
		}
		resp, err := s.hc.Get(s.Addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("vault server not healthy after 60s: %s", s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the server and waits for it.
func (s *Server) Stop() {
	daemon.Stop(s.cmd, s.done, os.Interrupt, 10*time.Second)
}

// Client is a root client, for setting up engines, roles and policies.
func (s *Server) Client(t testing.TB) *vaultapi.Client {
	t.Helper()
	c, err := s.APIClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// APIClient is Client for callers without a testing.TB.
func (s *Server) APIClient() (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = s.Addr
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(s.Token)
	return c, nil
}

// Mount enables a fresh KV engine of the given version under a random
// name and returns the name.
func (s *Server) Mount(t testing.TB, version int) string {
	t.Helper()
	name, err := s.NewMount(version)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// NewMount is Mount for callers without a testing.TB.
func (s *Server) NewMount(version int) (string, error) {
	var rnd [4]byte
	rand.Read(rnd[:])
	name := fmt.Sprintf("kv%d-%s", version, hex.EncodeToString(rnd[:]))
	c, err := s.APIClient()
	if err != nil {
		return "", err
	}
	err = c.Sys().MountWithContext(context.Background(), name, &vaultapi.MountInput{
		Type: "kv", Options: map[string]string{"version": fmt.Sprint(version)},
	})
	return name, err
}
