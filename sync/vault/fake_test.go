package vault

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"testing"

	"github.com/hush-secrets/hush/sync"
)

// fakeKV is a KV v2 engine at "secret" holding one secret, with faults
// the real server cannot produce on demand.
type fakeKV struct {
	mu      gosync.Mutex
	version int
	data    map[string]any
	// status answers the next len(status) data requests with these codes.
	status []int
	// dropAfterCommit cuts the connection of the next write after
	// committing it.
	dropAfterCommit bool
	requests        int
	writes          int
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	reply := func(code int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}
	switch r.URL.Path {
	case "/v1/sys/internal/ui/mounts/secret":
		reply(200, map[string]any{"data": map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}})
		return
	case "/v1/secret/data/proj/dev":
	default:
		reply(404, map[string]any{"errors": []string{}})
		return
	}
	if len(f.status) > 0 {
		code := f.status[0]
		f.status = f.status[1:]
		reply(code, map[string]any{"errors": []string{"try later"}})
		return
	}
	switch r.Method {
	case http.MethodGet:
		if f.version == 0 {
			reply(404, map[string]any{"errors": []string{}})
			return
		}
		reply(200, map[string]any{"data": map[string]any{"data": f.data, "metadata": map[string]any{"version": f.version, "deletion_time": ""}}})
	case http.MethodPut, http.MethodPost:
		var body struct {
			Data    map[string]any `json:"data"`
			Options struct {
				CAS *int `json:"cas"`
			} `json:"options"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			reply(400, map[string]any{"errors": []string{"bad json"}})
			return
		}
		if body.Options.CAS == nil || *body.Options.CAS != f.version {
			reply(400, map[string]any{"errors": []string{"check-and-set parameter did not match the current version"}})
			return
		}
		f.writes++
		f.version++
		f.data = body.Data
		if f.dropAfterCommit {
			f.dropAfterCommit = false
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		reply(200, map[string]any{"data": map[string]any{"version": f.version}})
	}
}

func newFake(t *testing.T, f *fakeKV, extra map[string]string) *Vault {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	env := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "hvs.fake"}
	for k, v := range extra {
		env[k] = v
	}
	v, err := New(Options{Project: "proj", Getenv: func(k string) string { return env[k] },
		MinRetryWait: 1e6, MaxRetryWait: 2e6})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRetriesOn429And5xx(t *testing.T) {
	t.Parallel()
	// Two 429s then success: the default two retries absorb them.
	f := &fakeKV{status: []int{429, 503}}
	v := newFake(t, f, nil)
	if _, err := v.Pull(context.Background(), "dev"); err != nil {
		t.Fatalf("pull after 429, 503: %v", err)
	}
	if f.requests != 4 { // mounts + 3 tries
		t.Errorf("%d requests, want 4", f.requests)
	}
	// Server errors beyond the retries: unavailable, after exactly
	// 1+MaxRetries tries.
	f = &fakeKV{status: []int{500, 500, 500, 500, 500, 500}}
	v = newFake(t, f, map[string]string{"VAULT_MAX_RETRIES": "3"})
	_, err := v.Pull(context.Background(), "dev")
	if !errors.Is(err, sync.ErrUnavailable) || errors.Is(err, sync.ErrDenied) {
		t.Fatalf("pull against a failing server: %v", err)
	}
	if f.requests != 5 || len(f.status) != 2 {
		t.Errorf("%d requests (%d statuses left), want 5 (2)", f.requests, len(f.status))
	}
	// 501 (not implemented) is not retried.
	f = &fakeKV{status: []int{501}}
	v = newFake(t, f, nil)
	if _, err := v.Pull(context.Background(), "dev"); err == nil || f.requests != 2 {
		t.Errorf("501: %v after %d requests", err, f.requests)
	}
}

func TestLostAnswerAfterCommitFake(t *testing.T) {
	t.Parallel()
	f := &fakeKV{version: 3, data: map[string]any{"A": "1"}, dropAfterCommit: true}
	v := newFake(t, f, nil)
	out, err := pushAll(t, v, "dev", vals("A", "1", "B", "2"))
	if err != nil {
		t.Fatalf("push whose answer was lost: %v", err)
	}
	if out.Version != 4 || f.version != 4 || f.writes != 1 {
		t.Errorf("version %d, server %d, %d writes", out.Version, f.version, f.writes)
	}
	// A genuine conflict is still one: someone else wrote other data.
	f.mu.Lock()
	f.version, f.data = 5, map[string]any{"A": "theirs"}
	f.mu.Unlock()
	_, err = v.Push(context.Background(), "dev", &sync.Plan{Base: out, Set: vals("C", "3")})
	if !errors.Is(err, sync.ErrConflict) {
		t.Errorf("push over another's write: %v", err)
	}
}
