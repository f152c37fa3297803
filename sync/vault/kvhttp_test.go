package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// treeFake is a KV v2 engine at "secret" holding proj/dev in the tree
// layout (keys A and B), recording each request's headers. fault, when
// set, answers a request first (true: handled).
type treeFake struct {
	mu    gosync.Mutex
	seen  []http.Header
	paths []string
	fault func(w http.ResponseWriter, r *http.Request) bool
}

// headers is a copy of the requests' headers so far.
func (f *treeFake) headers() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]http.Header(nil), f.seen...)
}

func (f *treeFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Header.Clone())
	f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(w, r) {
		return
	}
	reply := func(code int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}
	switch {
	case r.URL.Path == "/v1/sys/internal/ui/mounts/secret":
		reply(200, map[string]any{"data": map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}})
	case r.URL.Path == "/v1/secret/metadata/proj/dev" && r.URL.Query().Get("list") == "true":
		reply(200, map[string]any{"request_id": "rid-list", "data": map[string]any{"keys": []string{"A", "B", "sub/"}}})
	case strings.HasPrefix(r.URL.Path, "/v1/secret/data/proj/dev/") && r.Method == http.MethodGet:
		k := strings.TrimPrefix(r.URL.Path, "/v1/secret/data/proj/dev/")
		reply(200, map[string]any{"request_id": "rid-" + k, "data": map[string]any{
			"data":     map[string]any{"value": "v-" + k},
			"metadata": map[string]any{"version": 3, "deletion_time": "", "destroyed": false, "custom_metadata": nil}}})
	case strings.HasPrefix(r.URL.Path, "/v1/secret/data/proj/dev/") && r.Method == http.MethodPut:
		reply(200, map[string]any{"data": map[string]any{"version": 4}})
	default:
		reply(404, map[string]any{"errors": []string{}})
	}
}

func newTreeFake(t *testing.T, f *treeFake, o Options, extra map[string]string) *Vault {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	env := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "hvs.first"}
	for k, v := range extra {
		env[k] = v
	}
	o.Project, o.Layout = "proj", LayoutTree
	o.Getenv = func(k string) string { return env[k] }
	o.MinRetryWait, o.MaxRetryWait = time.Millisecond, 2*time.Millisecond
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The KV hot path (kvhttp.go) sends what vaultapi sends: the token of the
// moment, User-Agent, the command's request id, the namespace and
// X-Vault-Request; never a wrapping TTL, even with VAULT_WRAP_TTL in the
// process environment (vaultapi read it from there and wrapped every
// answer, so a secret looked missing).
func TestKVCallsCarryClientSettings(t *testing.T) {
	t.Setenv("VAULT_WRAP_TTL", "5m")
	f := &treeFake{}
	v := newTreeFake(t, f, Options{UserAgent: "hush/test-2", RequestID: "cmd-42"}, map[string]string{"VAULT_NAMESPACE": "team-a"})
	ctx, ids := TrackRequestIDs(context.Background())
	snap, err := v.Pull(ctx, "dev")
	if err != nil || reveal(snap.Values) != "A=v-A B=v-B" || snap.Versions["A"] != 3 || snap.Version != 6 {
		t.Fatalf("pull: %q %v %v", reveal(snap.Values), snap.Versions, err)
	}
	if got := v.KeyRequestID(ids, "dev", "B"); got != "rid-B" {
		t.Errorf("request id of B: %q", got)
	}
	// A new login (the token keeper's, or a first one) is used from the
	// next request on.
	v.client.SetToken("hvs.second")
	if _, err := v.Push(context.Background(), "dev", &sync.Plan{Base: snap, Set: vals("A", "new")}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) != 5 { // mounts, list, 2 reads, 1 write
		t.Fatalf("%d requests: %v", len(f.seen), f.paths)
	}
	for i, h := range f.seen {
		tok := "hvs.first"
		if i == len(f.seen)-1 {
			tok = "hvs.second"
		}
		for name, want := range map[string]string{"X-Vault-Token": tok, "User-Agent": "hush/test-2", RequestIDHeader: "cmd-42",
			"X-Vault-Namespace": "team-a", "X-Vault-Request": "true", "X-Vault-Wrap-Ttl": ""} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %s %q, want %q", f.paths[i], name, got, want)
			}
		}
	}
	if want := "GET /v1/secret/metadata/proj/dev?list=true"; f.paths[1] != want {
		t.Errorf("list as %q, want %q", f.paths[1], want)
	}
}

// The real server, with VAULT_WRAP_TTL in hush's environment: nothing is
// wrapped, the values come back.
func TestWrapTTLIgnored(t *testing.T) {
	t.Setenv("VAULT_WRAP_TTL", "5m")
	srv := vaulttest.Shared(t)
	for _, layout := range []string{LayoutFields, LayoutTree} {
		v := newVault(t, srv, srv.Mount(t, 2), setup{layout: layout})
		if _, err := pushAll(t, v, "dev", vals("A", "1", "B", "2")); err != nil {
			t.Fatalf("%s: push: %v", layout, err)
		}
		got, err := v.Pull(context.Background(), "dev")
		if err != nil || reveal(got.Values) != "A=1 B=2" {
			t.Errorf("%s: pull: %q %v", layout, reveal(got.Values), err)
		}
	}
}

// 429 and 5xx answers to a key's read are retried as vaultapi retries
// them; a 307 is followed once, and not from https to http.
func TestKVRetriesAndRedirects(t *testing.T) {
	t.Parallel()
	var mu gosync.Mutex
	fails := map[string][]int{"/v1/secret/data/proj/dev/A": {503, 429}, "/v1/secret/data/proj/dev/B": {500}}
	f := &treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if c := fails[r.URL.Path]; len(c) > 0 {
			fails[r.URL.Path] = c[1:]
			w.WriteHeader(c[0])
			fmt.Fprint(w, `{"errors":["try later"]}`)
			return true
		}
		return false
	}}
	v := newTreeFake(t, f, Options{}, nil)
	if snap, err := v.Pull(context.Background(), "dev"); err != nil || reveal(snap.Values) != "A=v-A B=v-B" {
		t.Fatalf("pull through 503, 429, 500: %q %v", reveal(snap.Values), err)
	}
	if n := len(f.paths); n != 7 { // mounts, list, A three times, B twice
		t.Errorf("%d requests: %v", n, f.paths)
	}
	// Beyond the retries: unavailable, with Vault's words.
	fails["/v1/secret/data/proj/dev/B"] = []int{502, 502, 502}
	_, err := v.Pull(context.Background(), "dev")
	if !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), "HTTP 502: try later (after retries)") {
		t.Errorf("pull against a failing key: %v", err)
	}

	// A standby's redirect, followed once with the same token.
	target := &treeFake{}
	ts := httptest.NewServer(target)
	defer ts.Close()
	var hops atomic.Int32 // the tree's reads run in parallel
	f = &treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v1/secret/data/") {
			return false
		}
		hops.Add(1)
		http.Redirect(w, r, ts.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}}
	v = newTreeFake(t, f, Options{}, nil)
	if snap, err := v.Pull(context.Background(), "dev"); err != nil || reveal(snap.Values) != "A=v-A B=v-B" {
		t.Fatalf("pull through a redirect: %q %v", reveal(snap.Values), err)
	}
	if seen := target.headers(); hops.Load() != 2 || len(seen) != 2 || seen[0].Get("X-Vault-Token") != "hvs.first" {
		t.Errorf("%d redirects, %d requests at the target", hops.Load(), len(seen))
	}
	// A redirect that is answered by another redirect is not followed.
	loop := &treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v1/secret/data/") {
			return false
		}
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}}
	v = newTreeFake(t, loop, Options{}, nil)
	if _, err := v.Pull(context.Background(), "dev"); err == nil {
		t.Error("a redirect loop was read as a value")
	}

	// From https to http: refused.
	tls := httptest.NewTLSServer(&treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v1/secret/data/") {
			return false
		}
		http.Redirect(w, r, ts.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}})
	defer tls.Close()
	env := map[string]string{"VAULT_ADDR": tls.URL, "VAULT_TOKEN": "hvs.first", "VAULT_SKIP_VERIFY": "true"}
	v, err = New(Options{Project: "proj", Config: Config{Layout: LayoutTree}, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	before := len(target.headers())
	_, err = v.Pull(context.Background(), "dev")
	if after := len(target.headers()); err == nil || !strings.Contains(err.Error(), "protocol downgrade") || after != before {
		t.Errorf("redirect to http: %v (%d requests reached it)", err, after-before)
	}
}

// A key's read that never gets an answer fails within
// VAULT_CLIENT_TIMEOUT as unavailable; a refusal is denied, without the
// token; a 404 that is not Vault's JSON is an error, not a missing key.
func TestKVTimeoutAndErrors(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	defer close(hang)
	f := &treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/secret/data/proj/dev/B" {
			<-hang
			return true
		}
		return false
	}}
	v := newTreeFake(t, f, Options{}, map[string]string{"VAULT_CLIENT_TIMEOUT": "1"})
	start := time.Now()
	_, err := v.Pull(context.Background(), "dev")
	if took := time.Since(start); !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), "within 1s (VAULT_CLIENT_TIMEOUT sets the limit)") || took > 5*time.Second {
		t.Errorf("silent key read: %v after %s", err, took)
	}

	for _, tc := range []struct {
		name   string
		status int
		body   string
		is     error
		says   string
	}{
		{"denied", 403, `{"errors":["permission denied"]}`, sync.ErrDenied, "HTTP 403: permission denied"},
		{"not Vault's 404", 404, "404 page not found\n", store.ErrNotFound, "HTTP 404"},
		{"bad request", 400, `{"errors":["no handler for route"]}`, nil, "HTTP 400: no handler for route"},
	} {
		f := &treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/v1/secret/data/proj/dev/B" {
				return false
			}
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
			return true
		}}
		v := newTreeFake(t, f, Options{}, map[string]string{"VAULT_TOKEN": "hvs.secret-token-value"})
		_, err := v.Pull(context.Background(), "dev")
		if err == nil || tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), "vault: read secret/data/proj/dev/B: "+tc.says) || strings.Contains(err.Error(), "hvs.secret") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	// A key removed between the list and its read (Vault's 404 without
	// data) is not in the snapshot.
	f = &treeFake{fault: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v1/secret/data/proj/dev/B" {
			return false
		}
		w.WriteHeader(404)
		fmt.Fprint(w, `{"errors":[]}`)
		return true
	}}
	v = newTreeFake(t, f, Options{}, nil)
	if snap, err := v.Pull(context.Background(), "dev"); err != nil || reveal(snap.Values) != "A=v-A" {
		t.Errorf("pull with B gone: %q %v", reveal(snap.Values), err)
	}
}

// methodCounter counts requests by method and kind of path.
type methodCounter struct {
	next http.RoundTripper
	mu   gosync.Mutex
	n    map[string]int
}

func (c *methodCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	switch p := r.URL.Path; {
	case strings.Contains(p, "/sys/internal/ui/mounts/"):
		kind = "mounts"
	case r.URL.Query().Get("list") == "true":
		kind = "list"
	case strings.Contains(p, "/data/"):
		kind = "data"
	case strings.Contains(p, "/delete/"):
		kind = "delete"
	}
	c.mu.Lock()
	c.n[r.Method+" "+kind]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *methodCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// The tree layout makes one request per key and no more: a first push
// lists (nothing yet) and writes each key; a push of one change reads
// each key once (the three-way plan needs the remote) and writes one; a
// pull lists and reads each key once. No metadata reads, no read-backs.
func TestTreeRequestsPerOperation(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	cnt := &methodCounter{n: map[string]int{}}
	v := newVault(t, srv, srv.Mount(t, 2), setup{layout: LayoutTree, wrap: func(rt http.RoundTripper) http.RoundTripper { cnt.next = rt; return cnt }})
	const n = 150
	local := map[string]store.Value{}
	for i := range n {
		local[fmt.Sprintf("K%03d", i)] = store.Value(fmt.Sprint("v", i))
	}
	ctx := context.Background()
	check := func(what string, want map[string]int) {
		t.Helper()
		got := cnt.take()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: requests %v, want %v", what, got, want)
		}
	}
	base, err := v.Pull(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	check("pull of nothing", map[string]int{"GET mounts": 1, "GET list": 1})
	after, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: local})
	if err != nil {
		t.Fatal(err)
	}
	check("first push", map[string]int{"PUT data": n})
	base, err = v.Pull(ctx, "dev")
	if err != nil || len(base.Values) != n || base.Version != after.Version {
		t.Fatalf("pull: %d keys, version %d (pushed %d), %v", len(base.Values), base.Version, after.Version, err)
	}
	check("pull", map[string]int{"GET list": 1, "GET data": n})
	if _, err := v.Push(ctx, "dev", &sync.Plan{Base: base, Set: vals("K042", "changed"), Delete: []string{"K007"}}); err != nil {
		t.Fatal(err)
	}
	// A deletion reads the key's current version first: deleting the
	// version read would leave a newer one standing (a conflict).
	check("push of one change and one deletion", map[string]int{"PUT data": 1, "GET data": 1, "PUT delete": 1})
}
