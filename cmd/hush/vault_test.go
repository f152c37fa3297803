package main

import (
	"bytes"
	"context"
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
			// vaulttoken POLICY sets VAULT_TOKEN to a new token with only
			// POLICY (and Vault's default policy).
			"vaulttoken": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: vaulttoken POLICY")
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

func TestStartLeasesPKI(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	mount := "pki"
	if err := root.Sys().Mount(mount, &vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("pki/root/generate/internal", map[string]any{"common_name": "test.local", "ttl": "24h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("pki/roles/app", map[string]any{"allowed_domains": "test.local", "allow_subdomains": true, "generate_lease": true, "max_ttl": "1h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/app/db", map[string]any{"data": map[string]any{"password": "pw-from-vault"}}); err != nil {
		t.Fatal(err)
	}
	s, stderr := testSession(t, map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.Token})
	ctx := context.Background()
	lr, err := startLeases(ctx, s, []string{"TLS=pki/issue/app?common_name=a.test.local&ttl=10m"}, "")
	if err != nil {
		t.Fatal(err)
	}
	secrets, stop := lr.secrets, lr.stop
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	got := map[string]string{}
	for _, sec := range secrets {
		got[sec.Name] = sec.Value.Reveal()
	}
	for _, name := range []string{"TLS_CERTIFICATE", "TLS_PRIVATE_KEY", "TLS_ISSUING_CA", "TLS_SERIAL_NUMBER", "TLS_CA_CHAIN"} {
		if got[name] == "" {
			t.Errorf("no %s among %d secrets", name, len(secrets))
		}
	}
	if !strings.Contains(got["TLS_CERTIFICATE"], "BEGIN CERTIFICATE") {
		t.Errorf("TLS_CERTIFICATE is not a PEM certificate")
	}
	leases, err := root.Logical().List("sys/leases/lookup/pki/issue/app")
	if err != nil || leases == nil || len(leases.Data["keys"].([]any)) != 1 {
		t.Fatalf("leases after start: %v %v", leases, err)
	}
	stop()
	stopped = true
	stop() // idempotent
	leases, err = root.Logical().List("sys/leases/lookup/pki/issue/app")
	if err != nil || leases != nil && len(leases.Data["keys"].([]any)) != 0 {
		t.Errorf("leases after stop: %v %v", leases, err)
	}
	if strings.Contains(stderr.String(), "warning") {
		t.Errorf("stderr: %s", stderr)
	}

	// vault:// references, audited.
	v, err := resolveVaultRef(ctx, s, "vault://secret/app/db#password")
	if err != nil || v != "pw-from-vault" {
		t.Errorf("resolveVaultRef = %q, %v", v, err)
	}
	if _, err := resolveVaultRef(ctx, s, "vault://secret/app/db"); exitCode(err) != exitUsage {
		t.Errorf("reference without a field: %v (exit %d)", err, exitCode(err))
	}
	if _, err := resolveVaultRef(ctx, s, "vault://secret/app/db#nope"); exitCode(err) != exitNotFound {
		t.Errorf("missing field: %v (exit %d)", err, exitCode(err))
	}
	log, _ := os.ReadFile(filepath.Join(s.StateDir(), "audit.jsonl"))
	for _, want := range []string{`"vault:pki/issue/app#certificate"`, `"vault:secret/app/db#password"`} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if bytes.Contains(log, []byte("pw-from-vault")) || bytes.Contains(log, []byte(srv.Token)) {
		t.Error("audit log holds a value or the token")
	}

	// A lease that cannot be had leaves none behind and says why.
	_, err = startLeases(ctx, s, []string{"TLS=pki/issue/app?common_name=a.test.local", "BAD=pki/issue/nope?common_name=x"}, "")
	if err == nil || !strings.Contains(err.Error(), "--vault-lease BAD") {
		t.Errorf("bad lease: %v", err)
	}
	leases, _ = root.Logical().List("sys/leases/lookup/pki/issue/app")
	if leases != nil && len(leases.Data["keys"].([]any)) != 0 {
		t.Errorf("lease left behind after a failed start")
	}
	if _, err := startLeases(ctx, s, []string{"lower-case=x"}, ""); exitCode(err) != exitUsage {
		t.Errorf("bad spec: %v", err)
	}
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
