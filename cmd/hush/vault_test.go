package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestVaultScripts runs testdata/script/vault/*.txtar against a real
// Vault dev server, with VAULT_ADDR and a root VAULT_TOKEN set, the vault
// CLI on PATH, and fresh KV mounts per script: $MOUNT (v2) and $MOUNT1
// (v1).
func TestVaultScripts(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t)
	bin := vaulttest.Binary(t)
	// A second dev server, serving HTTPS with its own CA, for the scripts
	// that need TLS (vaulttls); started by the first of them.
	var tlsOnce gosync.Once
	var tlsSrv *vaulttest.Server
	var tlsCA string
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/vault",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			e.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("VAULT_ADDR", srv.Addr)
			e.Setenv("VAULT_REAL_ADDR", srv.Addr)
			e.Setenv("VAULT_TOKEN", srv.Token)
			e.Setenv("VAULT_ROOT_TOKEN", srv.Token)
			for name, version := range map[string]int{"MOUNT": 2, "MOUNT1": 1} {
				m, err := srv.NewMount(version)
				if err != nil {
					return err
				}
				e.Setenv(name, m)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// vaultyaml LINE... appends a vault: section with LINEs to
			// .hush/hush.yaml.
			"vaultyaml": func(ts *testscript.TestScript, neg bool, args []string) {
				var b strings.Builder
				b.WriteString("vault:\n")
				for _, a := range args {
					b.WriteString("  " + a + "\n")
				}
				f, err := os.OpenFile(ts.MkAbs(".hush/hush.yaml"), os.O_APPEND|os.O_WRONLY, 0)
				ts.Check(err)
				_, err = f.WriteString(b.String())
				ts.Check(err)
				ts.Check(f.Close())
			},
			// envfile VAR=FILE sets VAR to FILE's content, trimmed.
			"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
				name, file, ok := strings.Cut(strings.Join(args, " "), "=")
				if len(args) != 1 || !ok {
					ts.Fatalf("usage: envfile VAR=FILE")
				}
				ts.Setenv(name, strings.TrimSpace(ts.ReadFile(file)))
			},
			// hanglisten VAR starts a listener that accepts connections and
			// never answers, and sets VAR to its http:// address.
			"hanglisten": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: hanglisten VAR")
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				var conns []net.Conn
				var mu gosync.Mutex
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						mu.Lock()
						conns = append(conns, c) // held open, never read or answered
						mu.Unlock()
					}
				}()
				ts.Defer(func() {
					ln.Close()
					mu.Lock()
					for _, c := range conns {
						c.Close()
					}
					mu.Unlock()
				})
				ts.Setenv(args[0], "http://"+ln.Addr().String())
			},
			// vaulttls points VAULT_ADDR, VAULT_TOKEN and VAULT_ROOT_TOKEN at
			// a dev server serving HTTPS, and VAULT_CACERT at its CA.
			"vaulttls": func(ts *testscript.TestScript, neg bool, args []string) {
				tlsOnce.Do(func() { tlsSrv, tlsCA = vaulttest.StartTLS(t) })
				ts.Setenv("VAULT_ADDR", tlsSrv.Addr)
				ts.Setenv("VAULT_TOKEN", tlsSrv.Token)
				ts.Setenv("VAULT_ROOT_TOKEN", tlsSrv.Token)
				ts.Setenv("VAULT_CACERT", tlsCA)
			},
			// vaulttoken POLICY... sets VAULT_TOKEN to a new token with only
			// those policies (and Vault's default policy).
			"vaulttoken": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) == 0 {
					ts.Fatalf("usage: vaulttoken POLICY...")
				}
				c, err := srv.APIClient()
				ts.Check(err)
				sec, err := c.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: args})
				ts.Check(err)
				ts.Setenv("VAULT_TOKEN", sec.Auth.ClientToken)
			},
		},
	})
}

// testSession is a session outside any project, with its own HOME and
// the given environment.
func testSession(t *testing.T, vars map[string]string) (*ui, *bytes.Buffer) {
	home := t.TempDir()
	vars["HOME"] = home
	vars["HUSH_KEYRING"] = "off"
	var stderr bytes.Buffer
	env := &Env{
		Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &stderr,
		Getenv:  func(k string) string { return vars[k] },
		Environ: func() []string { return nil },
		Getwd:   func() (string, error) { return home, nil },
		Now:     time.Now,
	}
	return newUI(env, home, "run"), &stderr
}
