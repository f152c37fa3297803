package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestVaultRestartScripts runs testdata/script/vault_restart/*.txtar, each
// against a Vault dev server of its own that the script can restart with
// `vaultrestart`: it comes back empty (a dev server keeps nothing), with
// only its default secret/ mount, as a developer's does after a reboot.
func TestVaultRestartScripts(t *testing.T) {
	t.Parallel()
	bin := vaulttest.Binary(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/vault_restart",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			srv := vaulttest.Start(e.T().(testing.TB))
			e.Values["vault"] = srv
			e.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("VAULT_ADDR", srv.Addr)
			e.Setenv("VAULT_TOKEN", srv.Token)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"vaultrestart": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: vaultrestart")
				}
				ts.Check(ts.Value("vault").(*vaulttest.Server).Restart())
			},
		},
	})
}
