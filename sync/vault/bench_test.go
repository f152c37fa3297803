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

// BenchmarkTree10000 pushes (first sync: 10,000 writes) and pulls an
// environment of 10,000 keys with the tree layout, one request per key on
// a bounded pool (parallel.go). Run with -benchtime=1x for one timing.
func BenchmarkTree10000(b *testing.B) {
	srv := vaulttest.Shared(b)
	ctx := context.Background()
	local := map[string]store.Value{}
	for i := range 10000 {
		local[fmt.Sprintf("KEY_%05d", i)] = store.Value(fmt.Sprintf("v%031d", i))
	}
	cnt := &counter{}
	wrap := func(rt http.RoundTripper) http.RoundTripper { cnt.next = rt; return cnt }
	b.Run("push", func(b *testing.B) {
		var n int
		for b.Loop() {
			b.StopTimer()
			v := newVault(b, srv, srv.Mount(b, 2), setup{layout: LayoutTree, wrap: wrap})
			base, err := v.Pull(ctx, "dev")
			if err != nil {
				b.Fatal(err)
			}
			cnt.reset()
			b.StartTimer()
			if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: local}); err != nil {
				b.Fatal(err)
			}
			n += cnt.reset()
		}
		b.ReportMetric(float64(n)/float64(b.N), "requests/op")
	})
	mount := srv.Mount(b, 2)
	v := newVault(b, srv, mount, setup{layout: LayoutTree, wrap: wrap})
	base, err := v.Pull(ctx, "dev")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: local}); err != nil {
		b.Fatal(err)
	}
	b.Run("pull", func(b *testing.B) {
		cnt.reset()
		for b.Loop() {
			s, err := v.Pull(ctx, "dev")
			if err != nil || len(s.Values) != 10000 {
				b.Fatal(len(s.Values), err)
			}
		}
		b.ReportMetric(float64(cnt.reset())/float64(b.N), "requests/op")
	})
}
