package vault

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"testing"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// connCounter counts the requests that had to open a connection.
type connCounter struct {
	next       http.RoundTripper
	fresh, all atomic.Int32
}

func (c *connCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.all.Add(1)
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			c.fresh.Add(1)
		}
	}}
	return c.next.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
}

// The tree layout's pool reuses its connections: a push and a pull of
// 300 keys open about one connection per worker, not one per request
// (Go's pooled transport keeps GOMAXPROCS+1 idle connections per host, so
// with more workers than that every extra request dialled anew).
func TestTreeReusesConnections(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	cc := &connCounter{}
	v := newVault(t, srv, srv.Mount(t, 2), setup{layout: LayoutTree, wrap: func(rt http.RoundTripper) http.RoundTripper { cc.next = rt; return cc }})
	want := map[string]store.Value{}
	for i := range 300 {
		want[fmt.Sprintf("K%03d", i)] = store.Value(fmt.Sprint("v", i))
	}
	if _, err := pushAll(t, v, "dev", want); err != nil {
		t.Fatal(err)
	}
	got, err := v.Pull(context.Background(), "dev")
	if err != nil || len(got.Values) != 300 {
		t.Fatalf("pull: %d keys, %v", len(got.Values), err)
	}
	// Connections of the pool, plus a few the server or the idle timer
	// closed on the way.
	t.Logf("%d requests, %d connections", cc.all.Load(), cc.fresh.Load())
	if fresh, all := cc.fresh.Load(), cc.all.Load(); all < 600 || fresh > 2*workers {
		t.Errorf("%d requests opened %d connections; want at most %d", all, fresh, 2*workers)
	}
}
