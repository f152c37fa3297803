package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestVaultAuditScripts runs testdata/script/vault_audit/*.txtar, each
// against a Vault dev server of its own, since a script enables an audit
// device on it (a file in $WORK): on a shared server that device would
// record, and once $WORK is gone block, every other script's requests.
func TestVaultAuditScripts(t *testing.T) {
	t.Parallel()
	bin := vaulttest.Binary(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/vault_audit",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			srv := vaulttest.Start(e.T().(testing.TB))
			e.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("VAULT_ADDR", srv.Addr)
			e.Setenv("VAULT_TOKEN", srv.Token)
			return nil
		},
	})
}
