package vault

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// BenchmarkFields1000 pushes and pulls an environment of 1,000 keys with
// the fields layout against the real server and reports the HTTP requests
// each takes: a constant, whatever the number of keys.
func BenchmarkFields1000(b *testing.B) {
	srv := vaulttest.Shared(b)
	mount := srv.Mount(b, 2)
	cnt := &counter{}
	v := newVault(b, srv, mount, setup{wrap: func(rt http.RoundTripper) http.RoundTripper { cnt.next = rt; return cnt }})
	ctx := context.Background()
	local := map[string]store.Value{}
	for i := range 1000 {
		local[fmt.Sprintf("KEY_%05d", i)] = store.Value(fmt.Sprintf("v%031d", i))
	}
	if _, err := v.KVVersion(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("push", func(b *testing.B) {
		cnt.reset()
		for i := 0; b.Loop(); i++ {
			base, err := v.Pull(ctx, "dev")
			if err != nil {
				b.Fatal(err)
			}
			set := make(map[string]store.Value, len(local))
			for k, val := range local {
				set[k] = store.Value(val.Reveal() + fmt.Sprint(i))
			}
			if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: set}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cnt.reset())/float64(b.N), "requests/op")
	})
	b.Run("pull", func(b *testing.B) {
		cnt.reset()
		for b.Loop() {
			s, err := v.Pull(ctx, "dev")
			if err != nil || len(s.Values) != 1000 {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cnt.reset())/float64(b.N), "requests/op")
	})
}
