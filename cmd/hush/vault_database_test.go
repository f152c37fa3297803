package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestVaultDatabaseScripts runs testdata/script/vault_database/*.txtar,
// each against a Vault dev server and a PostgreSQL cluster of its own,
// with Vault's database engine mounted at database/ and connected to the
// cluster (config pg, any role allowed) through the external PostgreSQL
// plugin. The script writes its roles. It has VAULT_ADDR, a root
// VAULT_TOKEN (also in VAULT_ROOT_TOKEN), the vault CLI and psql on PATH,
// PGHOST and PGPORT (never a user or password: a child logs in with what
// it was given), and PG_URL, the superuser's connection URL, to look at
// pg_roles.
func TestVaultDatabaseScripts(t *testing.T) {
	t.Parallel()
	bin := vaulttest.Binary(t)
	pgBin := vaulttest.PostgresBin(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/vault_database",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			tb := e.T().(testing.TB)
			srv := vaulttest.StartWithPlugins(tb)
			plugin := srv.PostgresPlugin(tb)
			pg := vaulttest.StartPostgres(tb)
			c, err := srv.APIClient()
			if err != nil {
				return err
			}
			if err := c.Sys().Mount("database", &vaultapi.MountInput{Type: "database"}); err != nil {
				return err
			}
			if _, err := c.Logical().Write("database/config/pg", map[string]any{
				"plugin_name": plugin, "connection_url": pg.VaultURL(),
				"username": pg.User, "password": pg.Password,
				"allowed_roles": "*", "verify_connection": true,
			}); err != nil {
				return err
			}
			e.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+pgBin+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("VAULT_ADDR", srv.Addr)
			e.Setenv("VAULT_TOKEN", srv.Token)
			e.Setenv("VAULT_ROOT_TOKEN", srv.Token)
			e.Setenv("PGHOST", pg.Host)
			e.Setenv("PGPORT", strconv.Itoa(pg.Port))
			e.Setenv("PGDATABASE", pg.Database)
			e.Setenv("PGCONNECT_TIMEOUT", "5")
			e.Setenv("PG_URL", pg.URL())
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": scriptCmds["waitfile"],
			"sendsig":  scriptCmds["sendsig"],
			// envfile VAR=FILE sets VAR to FILE's content, trimmed.
			"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
				name, file, ok := strings.Cut(strings.Join(args, " "), "=")
				if neg || len(args) != 1 || !ok {
					ts.Fatalf("usage: envfile VAR=FILE")
				}
				ts.Setenv(name, strings.TrimSpace(ts.ReadFile(file)))
			},
		},
	})
}
