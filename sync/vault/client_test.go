package vault

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	vaultapi "github.com/hashicorp/vault/api"
)

// The client (client.go) replaced vaultapi in hush and must behave as
// vaultapi did: each test here makes every call of hush's both ways, on
// one fake server answering each answer of the table, and compares the
// requests the server saw, the answers read and the errors.

// vaultapiClient is the client hush built with vaultapi before it had its
// own (sync/vault newClient, as it was): the reference.
func vaultapiClient(o *Options) (*vaultapi.Client, error) {
	timeout, err := clientTimeout(o.getenv("VAULT_CLIENT_TIMEOUT"))
	if err != nil {
		return nil, err
	}
	tr := cleanhttp.DefaultPooledTransport()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = workers
	cfg := &vaultapi.Config{
		Address:      o.address(),
		HttpClient:   &http.Client{Transport: tr},
		Timeout:      timeout,
		MinRetryWait: o.MinRetryWait,
		MaxRetryWait: o.MaxRetryWait,
		MaxRetries:   2,
		Backoff:      retryablehttp.RateLimitLinearJitterBackoff,
	}
	cfg.HttpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if v := o.getenv("VAULT_MAX_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("VAULT_MAX_RETRIES %q", v)
		}
		cfg.MaxRetries = n
	}
	tlsc := &vaultapi.TLSConfig{
		CACert:        o.getenv("VAULT_CACERT"),
		CAPath:        o.getenv("VAULT_CAPATH"),
		ClientCert:    o.getenv("VAULT_CLIENT_CERT"),
		ClientKey:     o.getenv("VAULT_CLIENT_KEY"),
		TLSServerName: o.getenv("VAULT_TLS_SERVER_NAME"),
	}
	if v := o.getenv("VAULT_SKIP_VERIFY"); v != "" {
		tlsc.Insecure, _ = strconv.ParseBool(v)
	}
	if err := cfg.ConfigureTLS(tlsc); err != nil {
		return nil, fmt.Errorf("vault: TLS settings: %w", err)
	}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	c.ClearToken()
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	if o.UserAgent != "" {
		c.AddHeader("User-Agent", o.UserAgent)
	}
	if o.RequestID != "" {
		c.AddHeader(RequestIDHeader, o.RequestID)
	}
	ns := o.getenv("VAULT_NAMESPACE")
	if ns == "" {
		ns = o.Namespace
	}
	if ns != "" {
		c.SetNamespace(ns)
	} else {
		c.ClearNamespace()
	}
	return c, nil
}

// seenRequest is what the fake server saw of a request.
type seenRequest struct {
	Method, URI, Host, Body string
	Header                  http.Header
}

// answerFake answers every request with serve, recording it.
type answerFake struct {
	mu    gosync.Mutex
	seen  []seenRequest
	serve func(w http.ResponseWriter, r *http.Request)
}

func (f *answerFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{r.Method, r.URL.RequestURI(), r.Host, string(b), r.Header.Clone()})
	serve := f.serve
	f.mu.Unlock()
	serve(w, r)
}

func (f *answerFake) take() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.seen
	f.seen = nil
	return s
}

// reply answers status and body, with header pairs.
func reply(status int, body string, header ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// answers are the answers every call is compared on: Vault's usual ones
// and the odd ones (blank, raw data, errors with data, not JSON, a type
// that does not decode), at each status that changes how they are read.
var answers = []struct {
	name  string
	serve func(w http.ResponseWriter, r *http.Request)
}{
	{"secret", reply(200, `{"request_id":"r1","lease_id":"db/creds/x/1","lease_duration":30,"renewable":true,"data":{"a":"b","n":3,"l":["x"]},"warnings":["w"],"mount_type":"kv"}`)},
	{"auth", reply(200, `{"auth":{"client_token":"hvs.x","accessor":"a","lease_duration":60,"renewable":true,"policies":["p"],"token_policies":["p"],"metadata":{"k":"v"},"entity_id":"e","mfa_requirement":null}}`)},
	{"wrap info", reply(200, `{"wrap_info":{"token":"t","ttl":60,"creation_time":"2026-01-01T00:00:00Z","creation_path":"auth/approle/role/r/secret-id"}}`)},
	{"capabilities", reply(200, `{"data":{"secret/data/x":["read","list"],"capabilities":["read","list"]}}`)},
	{"capabilities only", reply(200, `{"data":{"capabilities":["deny"]}}`)},
	{"capabilities odd", reply(200, `{"data":{"secret/data/x":[null,"read"]}}`)},
	{"capabilities not a list", reply(200, `{"data":{"secret/data/x":"read"}}`)},
	{"blank", reply(200, ``)},
	{"whitespace", reply(200, "\n")},
	{"no content", reply(204, ``)},
	{"raw data", reply(200, `{"keys":["a","b/"]}`)},
	{"null", reply(200, `null`)},
	{"errors only", reply(200, `{"errors":["x"]}`)},
	{"errors and data", reply(200, `{"errors":["x","y"],"other":1}`)},
	{"not JSON", reply(200, `<html>`)},
	{"wrong type", reply(200, `{"lease_duration":"long"}`)},
	{"404 blank", reply(404, ``)},
	{"404 whitespace", reply(404, ` `)},
	{"404 errors", reply(404, `{"errors":[]}`)},
	{"404 data", reply(404, `{"data":{"metadata":{"deletion_time":"2026-01-01T00:00:00Z"}}}`)},
	{"404 warnings", reply(404, `{"warnings":["gone"]}`)},
	{"404 not JSON", reply(404, `<html>`)},
	{"400", reply(400, `{"errors":["bad","2 errors occurred:\n\t* a\n\t* b\n\n"]}`)},
	{"403 namespace", reply(403, `{"errors":["permission denied"]}`, "X-Vault-Namespace", "team-a/")},
	{"403 root namespace", reply(403, `{"errors":["permission denied"]}`, "X-Vault-Namespace", "root/")},
	{"412", reply(412, `{"errors":[]}`)},
	{"429 retry-after", reply(429, `{"errors":["rate limited"]}`, "Retry-After", "0")},
	{"500 raw", reply(500, `oops`)},
	{"501", reply(501, `{"errors":["no"]}`)},
	{"503", reply(503, `{"errors":["sealed"]}`)},
	{"redirect", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/moved/") {
			w.Header().Set("Location", "/v1/moved"+strings.TrimPrefix(r.URL.Path, "/v1")+"?from=redirect")
			w.WriteHeader(307)
			return
		}
		reply(200, `{"data":{"where":"moved"}}`)(w, r)
	}},
	{"redirect twice", reply(302, `{"data":{"x":1}}`, "Location", "/v1/again")},
	{"redirect nowhere", reply(301, ``, "Location", "%zz")},
}

// calls are hush's calls, made with either client, the answer as JSON.
var calls = []struct {
	name string
	old  func(ctx context.Context, c *vaultapi.Client) (any, error)
	new  func(ctx context.Context, c *client) (any, error)
}{
	{"read",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Logical().ReadWithContext(ctx, "secret/data/x")
		},
		func(ctx context.Context, c *client) (any, error) { return c.read(ctx, "secret/data/x", nil) }},
	{"read with data",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Logical().ReadWithDataWithContext(ctx, "secret/data/x", map[string][]string{"version": {"2"}})
		},
		func(ctx context.Context, c *client) (any, error) {
			return c.read(ctx, "secret/data/x", url.Values{"version": {"2"}})
		}},
	{"write",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Logical().WriteWithContext(ctx, "database/creds/app", map[string]any{"ttl": "1h", "html": "<&>"})
		},
		func(ctx context.Context, c *client) (any, error) {
			return c.write(ctx, "database/creds/app", map[string]any{"ttl": "1h", "html": "<&>"})
		}},
	{"write nil",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Logical().WriteWithContext(ctx, "database/rotate-root/pg", nil)
		},
		func(ctx context.Context, c *client) (any, error) { return c.write(ctx, "database/rotate-root/pg", nil) }},
	{"unwrap",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			c.ClearToken()
			defer c.SetToken("hvs.token")
			return c.Logical().UnwrapWithContext(ctx, " hvs.wrapping ")
		},
		func(ctx context.Context, c *client) (any, error) {
			c.ClearToken()
			defer c.SetToken("hvs.token")
			return c.unwrap(ctx, " hvs.wrapping ")
		}},
	{"unwrap with a token",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Logical().UnwrapWithContext(ctx, "hvs.wrapping")
		},
		func(ctx context.Context, c *client) (any, error) { return c.unwrap(ctx, "hvs.wrapping") }},
	{"lookup-self",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Auth().Token().LookupSelfWithContext(ctx)
		},
		func(ctx context.Context, c *client) (any, error) { return c.lookupSelf(ctx) }},
	{"renew-self",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Auth().Token().RenewSelfWithContext(ctx, 3600)
		},
		func(ctx context.Context, c *client) (any, error) { return c.renewSelf(ctx, 3600) }},
	{"revoke-self",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return nil, c.Auth().Token().RevokeSelfWithContext(ctx, "")
		},
		func(ctx context.Context, c *client) (any, error) { return nil, c.revokeSelf(ctx) }},
	{"capabilities-self",
		func(ctx context.Context, c *vaultapi.Client) (any, error) {
			return c.Sys().CapabilitiesSelfWithContext(ctx, "secret/data/x")
		},
		func(ctx context.Context, c *client) (any, error) { return c.capabilitiesSelf(ctx, "secret/data/x") }},
}

// bothClients builds the reference and hush's client from the same
// options, each with token hvs.token.
func bothClients(t *testing.T, env map[string]string) (*vaultapi.Client, *client) {
	t.Helper()
	o := &Options{Getenv: func(k string) string { return env[k] }, UserAgent: "hush/test", RequestID: "cmd-1",
		MinRetryWait: time.Millisecond, MaxRetryWait: 2 * time.Millisecond}
	old, err := vaultapiClient(o)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := newClient(o)
	if err != nil {
		t.Fatal(err)
	}
	old.SetToken("hvs.token")
	c.SetToken("hvs.token")
	return old, c
}

// compareCall makes call both ways against f answering serve and reports
// every difference.
func compareCall(t *testing.T, f *answerFake, old *vaultapi.Client, c *client, name string,
	oldCall func(context.Context, *vaultapi.Client) (any, error), newCall func(context.Context, *client) (any, error)) {
	t.Helper()
	ctx := context.Background()
	f.take()
	oldAns, oldErr := oldCall(ctx, old)
	oldSeen := f.take()
	newAns, newErr := newCall(ctx, c)
	newSeen := f.take()
	if !reflect.DeepEqual(oldSeen, newSeen) {
		t.Errorf("%s: requests differ:\nvaultapi: %+v\nhush:     %+v", name, oldSeen, newSeen)
	}
	oj, _ := json.Marshal(oldAns)
	nj, _ := json.Marshal(newAns)
	if string(oj) != string(nj) {
		t.Errorf("%s: answers differ:\nvaultapi: %s\nhush:     %s", name, oj, nj)
	}
	var ore *vaultapi.ResponseError
	var nre *apiError
	switch {
	case (oldErr == nil) != (newErr == nil):
		t.Errorf("%s: errors differ: vaultapi %v, hush %v", name, oldErr, newErr)
	case errors.As(oldErr, &ore):
		if !errors.As(newErr, &nre) {
			t.Errorf("%s: vaultapi answered a ResponseError, hush %T: %v", name, newErr, newErr)
			break
		}
		if ore.HTTPMethod != nre.HTTPMethod || ore.URL != nre.URL || ore.StatusCode != nre.StatusCode || ore.RawError != nre.RawError ||
			!slices.Equal(ore.Errors, nre.Errors) || ore.NamespacePath != nre.NamespacePath || ore.Error() != nre.Error() {
			t.Errorf("%s: response errors differ:\nvaultapi: %#v\nhush:     %#v", name, ore, nre)
		}
	case oldErr != nil && oldErr.Error() != newErr.Error():
		if strings.HasPrefix(name, "capabilities-self") {
			// mapstructure's words; hush only asks whether it failed.
			break
		}
		t.Errorf("%s: errors differ:\nvaultapi: %v\nhush:     %v", name, oldErr, newErr)
	}
}

func TestClientMatchesVaultAPI(t *testing.T) {
	f := &answerFake{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	// vaultapi took VAULT_HEADERS from the process environment, hush takes
	// it from its Getenv (the same in hush).
	env := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_NAMESPACE": "team-a", "VAULT_CLIENT_TIMEOUT": "5", "VAULT_HEADERS": `{"X-Custom":"one"}`}
	t.Setenv("VAULT_HEADERS", env["VAULT_HEADERS"])
	t.Setenv("VAULT_WRAP_TTL", "5m") // vaultapi's default wrapping lookup read it; neither client may
	old, c := bothClients(t, env)
	for _, a := range answers {
		f.mu.Lock()
		f.serve = a.serve
		f.mu.Unlock()
		for _, call := range calls {
			compareCall(t, f, old, c, call.name+" / "+a.name, call.old, call.new)
		}
	}
}

// An unwrap answered 404 without data falls back to the old-style
// cubbyhole/response, with the wrapping token, and decodes what it holds.
func TestClientUnwrapCubbyhole(t *testing.T) {
	for _, held := range []string{`{\"data\":{\"secret_id\":\"s-1\"}}`, `not json`, ``} {
		f := &answerFake{serve: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/cubbyhole/response" {
				body := `{"data":{"response":"` + held + `"}}`
				if held == "" {
					body = `{"data":{"other":1}}`
				}
				reply(200, body)(w, r)
				return
			}
			reply(404, ``)(w, r)
		}}
		srv := httptest.NewServer(f)
		old, c := bothClients(t, map[string]string{"VAULT_ADDR": srv.URL})
		for _, call := range calls {
			if strings.HasPrefix(call.name, "unwrap") {
				compareCall(t, f, old, c, call.name+" / cubbyhole "+held, call.old, call.new)
			}
		}
		srv.Close()
	}
}

// Both clients refuse a token with unprintable bytes before any request,
// and a redirect from https to http.
func TestClientRefusals(t *testing.T) {
	f := &answerFake{serve: reply(307, ``, "Location", "http://127.0.0.1:1/v1/x")}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	old, c := bothClients(t, map[string]string{"VAULT_ADDR": srv.URL, "VAULT_CACERT": ca})
	compareCall(t, f, old, c, "downgrade", calls[0].old, calls[0].new)
	if _, err := c.read(context.Background(), "x", nil); err == nil || err.Error() != "redirect would cause protocol downgrade" {
		t.Errorf("downgrade: %v", err)
	}
	f.take()
	c.SetToken("hvs.\x00")
	if _, err := c.lookupSelf(context.Background()); err == nil || !strings.Contains(err.Error(), "non-printable") {
		t.Errorf("unprintable token: %v", err)
	}
	if n := len(f.take()); n != 0 {
		t.Errorf("%d requests with an unprintable token", n)
	}
	for _, call := range calls {
		old.SetToken("hvs.\x00")
		c.SetToken("hvs.\x00")
		compareCall(t, f, old, c, call.name+" / unprintable token", call.old, call.new)
	}
}

// The settings both clients are built from fail the same way, and a
// Vault agent's unix socket is reached the same way.
func TestClientSettingsMatchVaultAPI(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	for _, env := range []map[string]string{
		{"VAULT_ADDR": "::not a url"},
		{"VAULT_CACERT": filepath.Join(dir, "missing.pem")},
		{"VAULT_CACERT": bad},
		{"VAULT_CAPATH": filepath.Join(dir, "missing")},
		{"VAULT_CLIENT_CERT": bad},
		{"VAULT_CLIENT_CERT": bad, "VAULT_CLIENT_KEY": bad},
		{"VAULT_HEADERS": `{"X-Vault-Token":"x"}`},
		{"VAULT_HEADERS": `{"X-A":1}`},
		{"VAULT_HEADERS": `not json`},
	} {
		o := &Options{Getenv: func(k string) string { return env[k] }}
		t.Setenv("VAULT_HEADERS", env["VAULT_HEADERS"]) // "" is none for both
		_, oldErr := vaultapiClient(o)
		_, _, newErr := newClient(o)
		if oldErr == nil || newErr == nil || oldErr.Error() != newErr.Error() {
			t.Errorf("%v: vaultapi %v, hush %v", env, oldErr, newErr)
		}
	}
	t.Setenv("VAULT_HEADERS", "")

	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no unix socket: %v", err)
	}
	f := &answerFake{serve: reply(200, `{"data":{"via":"socket"}}`)}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: f}}
	srv.Start()
	defer srv.Close()
	old, c := bothClients(t, map[string]string{"VAULT_ADDR": "unix://" + sock})
	for _, call := range calls {
		compareCall(t, f, old, c, call.name+" / unix socket", call.old, call.new)
	}
	if s, err := c.read(context.Background(), "x", nil); err != nil || s == nil || s.Data["via"] != "socket" {
		t.Errorf("unix socket: %+v %v", s, err)
	}
}

// Connection errors are retried, a certificate that does not verify is
// not, by both clients, with the same error.
func TestClientTransportErrorsMatchVaultAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	f := &answerFake{serve: reply(200, `{"data":{}}`)}
	old, c := bothClients(t, map[string]string{"VAULT_ADDR": closed})
	for _, call := range calls {
		compareCall(t, f, old, c, call.name+" / connection refused", call.old, call.new)
	}

	var mu gosync.Mutex
	conns := 0
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	old, c = bothClients(t, map[string]string{"VAULT_ADDR": srv.URL})
	count := func() int { mu.Lock(); defer mu.Unlock(); n := conns; conns = 0; return n }
	for _, call := range calls[:3] {
		ctx := context.Background()
		count()
		_, oldErr := call.old(ctx, old)
		oldConns := count()
		_, newErr := call.new(ctx, c)
		newConns := count()
		if oldErr == nil || newErr == nil || oldErr.Error() != newErr.Error() || oldConns != 1 || newConns != 1 {
			t.Errorf("%s / untrusted certificate: vaultapi %v (%d connections), hush %v (%d)", call.name, oldErr, oldConns, newErr, newConns)
		}
	}
}

// retryablehttp told net/http's redirect limit by a regexp.
func TestTooManyRedirects(t *testing.T) {
	re := regexp.MustCompile(`stopped after \d+ redirects\z`)
	for _, s := range []string{`Get "http://x/": stopped after 10 redirects`, `stopped after 1 redirects`, `stopped after  redirects`,
		`stopped after 10 redirects.`, `stopped after x redirects`, `redirects`, `stopped after 10 redirects stopped after 2 redirects`, ""} {
		if got, want := tooManyRedirects(s), re.MatchString(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}
