package vault

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

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
		var cpu cpuMeter
		for b.Loop() {
			b.StopTimer()
			v := newVault(b, srv, srv.Mount(b, 2), setup{layout: LayoutTree, wrap: wrap})
			base, err := v.Pull(ctx, "dev")
			if err != nil {
				b.Fatal(err)
			}
			cnt.reset()
			b.StartTimer()
			cpu.start(srv)
			if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: local}); err != nil {
				b.Fatal(err)
			}
			cpu.stop(srv)
			n += cnt.reset()
		}
		b.ReportMetric(float64(n)/float64(b.N), "requests/op")
		cpu.report(b)
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
		var cpu cpuMeter
		for b.Loop() {
			cpu.start(srv)
			s, err := v.Pull(ctx, "dev")
			if err != nil || len(s.Values) != 10000 {
				b.Fatal(len(s.Values), err)
			}
			cpu.stop(srv)
		}
		b.ReportMetric(float64(cnt.reset())/float64(b.N), "requests/op")
		cpu.report(b)
	})
}

// cpuMeter adds up the processor time the client (this process) and the
// server use over the measured steps: on a shared machine wall time
// follows the load, CPU time much less, and their sum over the cores is
// the floor of the wall time on an idle machine.
type cpuMeter struct {
	client, server, c0, s0 time.Duration
	n                      int
}

func (m *cpuMeter) start(srv *vaulttest.Server) { m.c0, m.s0 = vaulttest.SelfCPU(), srv.CPU() }
func (m *cpuMeter) stop(srv *vaulttest.Server) {
	m.client += vaulttest.SelfCPU() - m.c0
	m.server += srv.CPU() - m.s0
	m.n++
}

func (m *cpuMeter) report(b *testing.B) {
	if m.n == 0 {
		return
	}
	b.ReportMetric(float64(m.client.Milliseconds())/float64(m.n), "client-cpu-ms/op")
	b.ReportMetric(float64(m.server.Milliseconds())/float64(m.n), "server-cpu-ms/op")
}
