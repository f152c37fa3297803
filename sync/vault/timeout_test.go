package vault

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
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
