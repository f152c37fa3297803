package k8s

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/k8s/k8stest"
)

// otherCA is the PEM of a CA that signed nothing of the cluster's.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "not-the-cluster"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// proxy stands between the backend and the API server; hook sees each
// request first and says whether it answered it itself.
type proxy struct {
	srv  *httptest.Server
	mu   gosync.Mutex
	hook func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool
}

func newProxy(t *testing.T, c *k8stest.Cluster) *proxy {
	t.Helper()
	target, _ := url.Parse(c.Server)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAData)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	p := &proxy{}
	forward := func(r *http.Request) (*http.Response, error) {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.Host, out.RequestURI = target.Scheme, target.Host, target.Host, ""
		return transport.RoundTrip(out)
	}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		hook := p.hook
		p.mu.Unlock()
		if hook != nil && hook(w, r, forward) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) set(hook func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool) {
	p.mu.Lock()
	p.hook = hook
	p.mu.Unlock()
}

// kubeconfig is the administrator's, through the proxy.
func (p *proxy) kubeconfig(t *testing.T, c *k8stest.Cluster) string {
	t.Helper()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	kc := k8stest.Kubeconfig(p.srv.URL, caPEM, "proxied", c.Token)
	path := filepath.Join(t.TempDir(), "proxied.kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dropAnswer forwards the request, then cuts the connection without
// answering: the write happened and the client never heard.
func dropAnswer(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) {
	if resp, err := forward(r); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// TestLostAnswer: the first create and the first apply reach the API
// server, whose answers never come back; the retries are refused (the
// Secret exists; its version moved) and the push recognises its own
// writes rather than report a conflict.
func TestLostAnswer(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	p := newProxy(t, c)
	b := openAs(t, p.kubeconfig(t, c), Config{Namespace: ns, Project: "app", ProjectID: "prj-1"})
	var mu gosync.Mutex
	dropped := map[string]int{}
	p.set(func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		mu.Lock()
		defer mu.Unlock()
		if (r.Method == "POST" || r.Method == "PATCH") && strings.Contains(r.URL.Path, "/secrets") && dropped[r.Method] == 0 {
			dropped[r.Method]++
			dropAnswer(w, r, forward)
			return true
		}
		return false
	})
	empty, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	after, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1", "EMPTY", "")})
	if err != nil {
		t.Fatalf("push whose answers were lost: %v", err)
	}
	if dropped["POST"] != 1 || dropped["PATCH"] != 1 {
		t.Fatalf("dropped %v", dropped)
	}
	sameValues(t, "after", after.Values, vals("A", "1", "EMPTY", ""))
	// An update's lost answer too.
	mu.Lock()
	delete(dropped, "PATCH")
	mu.Unlock()
	after2, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: after, Set: vals("A", "2")})
	if err != nil {
		t.Fatalf("update whose answer was lost: %v", err)
	}
	sameValues(t, "after2", after2.Values, vals("A", "2", "EMPTY", ""))

	// But a retry refused because someone else wrote meanwhile is a
	// conflict: their data is not ours.
	p.set(func(w http.ResponseWriter, r *http.Request, forward func(*http.Request) (*http.Response, error)) bool {
		if r.Method == "PATCH" {
			c.Kubectl(t, nil, "-n", ns, "patch", "secret", "app-prod", "--type=merge", "-p", `{"data":{"A":"dGhlaXJz"}}`)
			p.set(nil)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}
		return false
	})
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: after2, Set: vals("A", "3")}); !errors.Is(err, hushsync.ErrConflict) {
		t.Fatalf("someone else's write taken for ours: %v", err)
	}
	data, _ := secretData(t, c, ns, "app-prod")
	if string(data["A"]) != "theirs" {
		t.Errorf("A = %q", data["A"])
	}
}

// TestRetries: throttling and server errors are retried a bounded number
// of times: a server that recovers is used, one that does not is
// ErrUnavailable (exit 8).
func TestRetries(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	p := newProxy(t, c)
	b := openAs(t, p.kubeconfig(t, c), Config{Namespace: ns, Project: "app", ProjectID: "prj-1"})
	var mu gosync.Mutex
	failures, seen := 0, 0
	code := http.StatusServiceUnavailable
	p.set(func(w http.ResponseWriter, r *http.Request, _ func(*http.Request) (*http.Response, error)) bool {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			seen++
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"busy","reason":"ServiceUnavailable","code":`+strconv.Itoa(code)+`}`)
			return true
		}
		return false
	})
	set := func(n, c int) {
		mu.Lock()
		failures, seen, code = n, 0, c
		mu.Unlock()
	}
	set(2, http.StatusServiceUnavailable)
	empty, err := b.Pull(ctx(t), "prod")
	if err != nil || !empty.Missing {
		t.Fatalf("pull after two 503s: %+v %v", empty, err)
	}
	set(3, http.StatusTooManyRequests)
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1")}); err != nil {
		t.Fatalf("push after three 429s: %v", err)
	}
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway} {
		set(100, status)
		_, err := b.Pull(ctx(t), "prod")
		mu.Lock()
		n := seen
		mu.Unlock()
		if !errors.Is(err, hushsync.ErrUnavailable) || errors.Is(err, hushsync.ErrDenied) || n != attempts {
			t.Errorf("%d forever: %v after %d tries (want %d)", status, err, n, attempts)
		}
	}
	set(0, 0)
}
