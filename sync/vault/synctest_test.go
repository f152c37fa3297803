package vault

import (
	"testing"

	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/synctest"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// The conformance suite on both KV v2 layouts, against the real dev server.
func TestConformance(t *testing.T) {
	srv := vaulttest.Shared(t)
	for _, layout := range []string{LayoutFields, LayoutTree} {
		t.Run(layout, func(t *testing.T) {
			synctest.Run(t, func(t *testing.T) (sync.Backend, synctest.Remote) {
				mount := srv.Mount(t, 2)
				f := &synctest.Faults{}
				v := newVault(t, srv, mount, setup{layout: layout, wrap: f.Wrap})
				sub := func(env, key string) string {
					if layout == LayoutTree {
						return "proj/" + env + "/" + key
					}
					return "proj/" + env
				}
				return v, synctest.Remote{
					LoseAnswer: f.LoseNextWrite, ServerErrors: f.ServerErrors,
					Unreachable: func(t *testing.T) sync.Backend {
						dead := *srv
						dead.Addr = "http://127.0.0.1:1"
						return newVault(t, &dead, mount, setup{layout: layout})
					},
					NoEngine: func(t *testing.T) sync.Backend { return newVault(t, srv, "nomount", setup{layout: layout}) },
					Delete: func(t *testing.T, env, key string) {
						if _, err := srv.Client(t).Logical().Delete(mount + "/data/" + sub(env, key)); err != nil {
							t.Fatal(err)
						}
					},
					Vanish: func(t *testing.T, env string) {
						c := srv.Client(t).Logical()
						if layout == LayoutFields {
							if _, err := c.Delete(mount + "/metadata/proj/" + env); err != nil {
								t.Fatal(err)
							}
							return
						}
						s, err := c.List(mount + "/metadata/proj/" + env)
						if err != nil || s == nil {
							t.Fatalf("list: %v", err)
						}
						for _, k := range s.Data["keys"].([]any) {
							if _, err := c.Delete(mount + "/metadata/proj/" + env + "/" + k.(string)); err != nil {
								t.Fatal(err)
							}
						}
					},
					TextOnly: true, PerKeyChecks: layout == LayoutTree,
				}
			})
		})
	}
}
