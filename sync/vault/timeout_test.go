package vault

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

func TestClientTimeout(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": DefaultTimeout, "4": 4 * time.Second, "1500ms": 1500 * time.Millisecond, "1m": time.Minute} {
		if got, err := clientTimeout(in); err != nil || got != want {
			t.Errorf("clientTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-3", "soon", "3x"} {
		if _, err := clientTimeout(in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("clientTimeout(%q): %v, want ErrInvalid", in, err)
		}
	}
}

// A server that accepts connections and never answers: the request fails
// within VAULT_CLIENT_TIMEOUT, as unavailable (exit 8), retries included.
func TestTimeoutSilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	env := map[string]string{"VAULT_ADDR": "http://" + ln.Addr().String(), "VAULT_TOKEN": "not-a-real-token", "VAULT_CLIENT_TIMEOUT": "1"}
	v, err := New(Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = v.KVVersion(context.Background())
	took := time.Since(start)
	if !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), "within 1s (VAULT_CLIENT_TIMEOUT sets the limit)") {
		t.Errorf("err = %v, want unavailable within 1s", err)
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("gave up after %s, want about 1s", took)
	}
	t.Logf("gave up after %s", took)
}

type uaRecorder struct {
	next http.RoundTripper
	mu   gosync.Mutex
	seen []string
}

func (u *uaRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	u.mu.Lock()
	u.seen = append(u.seen, r.Header.Get("User-Agent"))
	u.mu.Unlock()
	return u.next.RoundTrip(r)
}

// Vault's audit device sees hush by name and version, not as Go-http-client.
func TestUserAgent(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	rec := &uaRecorder{}
	env := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.Token}
	v, err := New(Options{Getenv: func(k string) string { return env[k] }, UserAgent: "hush/test-1",
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.KVVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) == 0 {
		t.Fatal("no request")
	}
	for _, ua := range rec.seen {
		if ua != "hush/test-1" {
			t.Errorf("User-Agent %q", ua)
		}
	}
}
