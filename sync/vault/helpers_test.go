package vault

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	vaulttest.StopShared()
	os.Exit(code)
}

// counter counts requests (cheaply: benchmarks measure the client's CPU
// time with it in the way).
type counter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func (c *counter) reset() int { return int(c.n.Swap(0)) }

// faulty forwards requests, but from the failAfter-th write on it fails
// every write (cut) or passes the write to the server and then loses
// the answer once (lose).
type faulty struct {
	next      http.RoundTripper
	writes    atomic.Int32
	failAfter int32
	lose      bool
	lost      atomic.Bool
}

func (f *faulty) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return f.next.RoundTrip(r)
	}
	n := f.writes.Add(1)
	if n <= f.failAfter {
		return f.next.RoundTrip(r)
	}
	if f.lose {
		if f.lost.CompareAndSwap(false, true) {
			resp, err := f.next.RoundTrip(r)
			if err == nil {
				resp.Body.Close()
			}
			return nil, errors.New("connection reset by peer (test)")
		}
		return f.next.RoundTrip(r)
	}
	return nil, errors.New("connection reset by peer (test)")
}

type setup struct {
	layout string
	wrap   func(http.RoundTripper) http.RoundTripper
	auth   AuthConfig
	token  string
}

func newVault(t testing.TB, srv *vaulttest.Server, mount string, s setup) *Vault {
	t.Helper()
	tok := srv.Token
	if s.token != "" {
		tok = s.token
	}
	env := map[string]string{"VAULT_ADDR": srv.Addr}
	if s.auth.Method == "" {
		env["VAULT_TOKEN"] = tok
	}
	v, err := New(Options{
		Config:        Config{Mount: mount, Layout: s.layout, Auth: s.auth},
		Project:       "proj",
		Getenv:        func(k string) string { return env[k] },
		WrapTransport: s.wrap,
		MinRetryWait:  10 * time.Millisecond,
		MaxRetryWait:  20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func vals(kv ...string) map[string]store.Value {
	m := map[string]store.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = store.Value(kv[i+1])
	}
	return m
}

func reveal(m map[string]store.Value) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k].Reveal())
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]store.Value) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// pushAll makes the remote hold want, through a pull and a plan.
func pushAll(t testing.TB, v *Vault, env string, want map[string]store.Value) (*sync.Snapshot, error) {
	t.Helper()
	ctx := context.Background()
	base, err := v.Pull(ctx, env)
	if err != nil {
		return nil, err
	}
	plan := &sync.Plan{Base: base, Set: map[string]store.Value{}}
	for k, val := range want {
		if cur, ok := base.Values[k]; !ok || cur != val {
			plan.Set[k] = val
		}
	}
	for k := range base.Values {
		if _, ok := want[k]; !ok {
			plan.Delete = append(plan.Delete, k)
		}
	}
	return v.Push(ctx, env, plan)
}
