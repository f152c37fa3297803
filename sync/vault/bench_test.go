package vault

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
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

// treeKeys is an environment of n keys of realistic size.
func treeKeys(n int) map[string]store.Value {
	local := make(map[string]store.Value, n)
	for i := range n {
		local[fmt.Sprintf("KEY_%05d", i)] = store.Value(fmt.Sprintf("v%031d", i))
	}
	return local
}

// The tree layout's benchmarks time what hush vault push and pull do with
// 10,000 keys, one KV secret each: a push reads the remote first (the
// three-way plan needs it), then writes; a pull reads. Each reports the
// requests per operation, the processor time of the client (this
// process) and of the server, and the wall time those would take on an
// idle machine: on a shared one wall time measures the load, CPU time far
// less. Run with -benchtime=1x (or 3x) for a reading, e.g.
//
//	go test ./sync/vault -run '^$' -bench 'Tree' -benchtime=3x
const treeN = 10000

// BenchmarkTreePush: first, a push to an empty path (a LIST, then 10,000
// writes); one, a push of one changed key of 10,000 (a LIST, 10,000 reads,
// one write).
func BenchmarkTreePush(b *testing.B) {
	srv := vaulttest.Shared(b)
	ctx := context.Background()
	local := treeKeys(treeN)
	cnt := &counter{}
	wrap := func(rt http.RoundTripper) http.RoundTripper { cnt.next = rt; return cnt }
	push := func(b *testing.B, v *Vault, set map[string]store.Value) {
		base, err := v.Pull(ctx, "dev")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: set}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("first", func(b *testing.B) {
		var m cpuMeter
		for b.Loop() {
			b.StopTimer()
			v := newVault(b, srv, treeMount(b, srv), setup{layout: LayoutTree, wrap: wrap})
			if _, err := v.KVVersion(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			m.start(srv, cnt)
			push(b, v, local)
			m.stop(srv, cnt)
		}
		m.report(b)
	})
	b.Run("one", func(b *testing.B) {
		v := newVault(b, srv, treeMount(b, srv), setup{layout: LayoutTree, wrap: wrap})
		push(b, v, local)
		var m cpuMeter
		for i := 0; b.Loop(); i++ {
			m.start(srv, cnt)
			push(b, v, map[string]store.Value{"KEY_04242": store.Value(fmt.Sprint("changed-", i))})
			m.stop(srv, cnt)
		}
		m.report(b)
	})
}

// BenchmarkTreePull: a pull of 10,000 keys (a LIST, 10,000 reads).
func BenchmarkTreePull(b *testing.B) {
	srv := vaulttest.Shared(b)
	ctx := context.Background()
	local := treeKeys(treeN)
	cnt := &counter{}
	v := newVault(b, srv, treeMount(b, srv), setup{layout: LayoutTree, wrap: func(rt http.RoundTripper) http.RoundTripper { cnt.next = rt; return cnt }})
	base, err := v.Pull(ctx, "dev")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: local}); err != nil {
		b.Fatal(err)
	}
	var m cpuMeter
	for b.Loop() {
		m.start(srv, cnt)
		s, err := v.Pull(ctx, "dev")
		if err != nil || len(s.Values) != treeN {
			b.Fatal(len(s.Values), err)
		}
		m.stop(srv, cnt)
	}
	m.report(b)
}

// treeMount is a fresh KV v2 mount, disabled again (outside the timer)
// when the benchmark or the next treeMount is done with it: a server left
// holding every run's 10,000 keys (~20 MB of heap a mount) spends more
// and more of each request in its garbage collector, up to twice the CPU
// per write after ten runs, which would read as hush's cost. Vault
// deletes the keys within the unmount call.
func treeMount(b *testing.B, srv *vaulttest.Server) string {
	b.Helper()
	c := srv.Client(b)
	if lastTreeMount != "" {
		if err := c.Sys().Unmount(lastTreeMount); err != nil {
			b.Fatal(err)
		}
	}
	lastTreeMount = srv.Mount(b, 2)
	b.Cleanup(func() {
		if lastTreeMount != "" {
			c.Sys().Unmount(lastTreeMount)
			lastTreeMount = ""
		}
	})
	return lastTreeMount
}

// lastTreeMount is treeMount's last mount ("" once disabled).
var lastTreeMount string

// cpuMeter adds up the requests and the processor time the client (this
// process) and the server use over the measured steps. Their sum over the
// machine's cores is the floor of the wall time on an idle machine: the
// pool keeps more requests in flight than there are cores (parallel.go),
// so on loopback the work is processor-bound, not latency-bound.
type cpuMeter struct {
	client, server, c0, s0 time.Duration
	requests, n            int
}

func (m *cpuMeter) start(srv *vaulttest.Server, cnt *counter) {
	cnt.reset()
	m.c0, m.s0 = vaulttest.SelfCPU(), srv.CPU()
}

func (m *cpuMeter) stop(srv *vaulttest.Server, cnt *counter) {
	m.client += vaulttest.SelfCPU() - m.c0
	m.server += srv.CPU() - m.s0
	m.requests += cnt.reset()
	m.n++
}

func (m *cpuMeter) report(b *testing.B) {
	if m.n == 0 {
		return
	}
	n := float64(m.n)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(float64(m.requests)/n, "requests/op")
	b.ReportMetric(ms(m.client), "client-cpu-ms/op")
	b.ReportMetric(ms(m.server), "server-cpu-ms/op")
	if m.requests > 0 {
		b.ReportMetric(float64(m.client.Microseconds())/float64(m.requests), "client-cpu-us/req")
		b.ReportMetric(float64(m.server.Microseconds())/float64(m.requests), "server-cpu-us/req")
	}
	b.ReportMetric(ms(m.client+m.server)/float64(runtime.NumCPU()), "idle-ms/op")
}
