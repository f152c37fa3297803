package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/rotate/acme/pebbletest"
	"github.com/hush-secrets/hush/store"
)

// env is the store a provider sees through Request.Secret: what Create
// returned is stored here as the session would.
type env map[string]store.Value

func (e env) secret(name string) (store.Value, error) {
	v, ok := e[name]
	if !ok {
		return "", fmt.Errorf("%s %w", name, store.ErrNotFound)
	}
	return v, nil
}

func (e env) store(key string, res *rotate.Result) {
	e[key] = res.Value
	for k, v := range res.Also {
		e[k] = v
	}
}

func settings(t *testing.T, name string, raw map[string]any) rotate.Settings {
	t.Helper()
	raw["provider"] = "acme"
	s, err := rotate.ParseSettings(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pebbleSettings(p *pebbletest.Pebble, extra map[string]any) map[string]any {
	raw := map[string]any{
		"directory": p.Directory, "domains": []any{"app.hush.test", "www.hush.test"},
		"contact": []any{"mailto:ops@hush.test"}, "agree_tos": true,
		"http_listen":     fmt.Sprintf("127.0.0.1:%d", p.HTTPPort),
		"directory_roots": p.ServerCAFile, "roots": p.RootFile,
	}
	for k, v := range extra {
		raw[k] = v
	}
	return raw
}

func request(key string, s rotate.Settings, e env, old store.Value, now func() time.Time, logs *[]string) *rotate.Request {
	return &rotate.Request{ID: "test", Env: "prod", Key: key, Settings: s, Old: old, Secret: e.secret, Now: now,
		Logf: func(f string, a ...any) { *logs = append(*logs, fmt.Sprintf(f, a...)) }}
}

func leafOf(t *testing.T, v store.Value) *x509.Certificate {
	t.Helper()
	c, err := parseCerts([]byte(v.Reveal()))
	if err != nil || len(c) == 0 {
		t.Fatalf("no certificate in the value: %v", err)
	}
	return c[0]
}

// TestIssueRenewRevoke issues a certificate from a real pebble, answering
// real HTTP-01 validations, renews it, serves it from a TLS server a
// client verifies against pebble's root, and revokes the old one at
// retire when revoke_old is set, as pebble's management API confirms.
func TestIssueRenewRevoke(t *testing.T) {
	p := pebbletest.Start(t, pebbletest.Options{Validity: 6 * time.Hour})
	s := settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"revoke_old": true}))
	prov, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	e := env{}
	var logs []string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	req := request("TLS_CERT", s, e, "", time.Now, &logs)
	res, err := prov.Create(ctx, req)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, p.Log())
	}
	if _, ok := res.Also["TLS_KEY"]; !ok {
		t.Fatalf("no TLS_KEY in %v", keys(res.Also))
	}
	if _, ok := res.Also["ACME_ACCOUNT_KEY"]; !ok {
		t.Fatalf("the first issue minted no account key: %v", keys(res.Also))
	}
	if res.Types["TLS_CERT"] != "tls" || res.Types["TLS_KEY"] != "tls" || res.Types["ACME_ACCOUNT_KEY"] != "" {
		t.Errorf("types %v, want tls for the chain and its key only", res.Types)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "registering a new account") {
		t.Errorf("logs: %q", logs)
	}
	e.store("TLS_CERT", res)
	if err := prov.Verify(ctx, req, res); err != nil {
		t.Fatalf("verify: %v", err)
	}
	first := leafOf(t, res.Value)
	if got, want := first.NotAfter.Sub(first.NotBefore).Round(time.Minute), 6*time.Hour; got != want {
		t.Fatalf("validity %v, want %v", got, want)
	}
	// Renewal at 2/3 of the actual life: 4h after NotBefore, so 3h (whole
	// hours, rounded down) from a rotation stamped now.
	if res.RotateEvery != "3h" {
		t.Errorf("rotate_every %q, want 3h", res.RotateEvery)
	}
	renew, err := time.Parse(time.RFC3339, res.State["renew_at"])
	if err != nil {
		t.Fatal(err)
	}
	if d := renew.Sub(first.NotBefore.Add(4 * time.Hour)); d < -2*time.Second || d > time.Second {
		t.Errorf("renew_at %s, want 4h after NotBefore %s", renew, first.NotBefore)
	}
	serveAndDial(t, p, e["TLS_CERT"], e["TLS_KEY"], "app.hush.test")

	// The renewal: the same account (no new key minted), a new key and
	// certificate; the old one still valid until retire.
	req2 := request("TLS_CERT", s, e, e["TLS_CERT"], time.Now, &logs)
	res2, err := prov.Create(ctx, req2)
	if err != nil {
		t.Fatalf("renew: %v\n%s", err, p.Log())
	}
	if _, ok := res2.Also["ACME_ACCOUNT_KEY"]; ok {
		t.Fatalf("the renewal minted a second account key")
	}
	if res2.Also["TLS_KEY"] == e["TLS_KEY"] {
		t.Fatal("the renewal kept the old private key")
	}
	e.store("TLS_CERT", res2)
	if err := prov.Verify(ctx, req2, res2); err != nil {
		t.Fatalf("verify the renewal: %v", err)
	}
	second := leafOf(t, res2.Value)
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the renewal has the old serial")
	}
	if st, err := p.CertStatus(first.SerialNumber); err != nil || st.Status != "Valid" {
		t.Fatalf("old certificate before retire: %+v %v", st, err)
	}
	if err := prov.Retire(ctx, req2, res2); err != nil {
		t.Fatalf("retire: %v", err)
	}
	st, err := p.CertStatus(first.SerialNumber)
	if err != nil || st.Status != "Revoked" || st.Reason != 4 {
		t.Fatalf("old certificate after retire: %+v %v", st, err)
	}
	// Idempotent: a rerun of retire after a crash.
	if err := prov.Retire(ctx, req2, res2); err != nil {
		t.Fatalf("retire again: %v", err)
	}
	if st, err := p.CertStatus(second.SerialNumber); err != nil || st.Status != "Valid" {
		t.Fatalf("new certificate after retire: %+v %v", st, err)
	}
	serveAndDial(t, p, e["TLS_CERT"], e["TLS_KEY"], "www.hush.test")
}

// TestRetireKeepsOldByDefault: without revoke_old the old certificate is
// left to expire. pebble reuses the valid authorization here, so the
// renewal answers no challenge.
func TestRetireKeepsOldByDefault(t *testing.T) {
	p := pebbletest.Start(t, pebbletest.Options{Env: []string{"PEBBLE_AUTHZREUSE=100"}})
	s := settings(t, "prod/WEB_CERT", pebbleSettings(p, nil))
	prov, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	e := env{}
	var logs []string
	ctx := context.Background()
	res, err := prov.Create(ctx, request("WEB_CERT", s, e, "", time.Now, &logs))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Also["WEB_KEY"]; !ok {
		t.Fatalf("no WEB_KEY in %v", keys(res.Also))
	}
	// 90 days: renewal at 60.
	if res.RotateEvery != "1439h" {
		t.Errorf("rotate_every %q, want 1439h", res.RotateEvery)
	}
	e.store("WEB_CERT", res)
	old := leafOf(t, res.Value)
	if !strings.Contains(strings.Join(logs, "\n"), "answering HTTP-01") {
		t.Fatalf("the first issue answered no challenge: %q", logs)
	}
	logs = nil
	req := request("WEB_CERT", s, e, res.Value, time.Now, &logs)
	res2, err := prov.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(logs, "\n"), "answering HTTP-01") {
		t.Errorf("the renewal answered a challenge for a reused valid authorization: %q", logs)
	}
	if err := prov.Retire(ctx, req, res2); err != nil {
		t.Fatal(err)
	}
	if st, err := p.CertStatus(old.SerialNumber); err != nil || st.Status != "Valid" {
		t.Fatalf("old certificate after retire without revoke_old: %+v %v", st, err)
	}
}

// TestKeyTypes: each key_type gives a certificate for a key of that
// algorithm and size, stored as PKCS #8.
func TestKeyTypes(t *testing.T) {
	p := pebbletest.Start(t, pebbletest.Options{Env: []string{"PEBBLE_AUTHZREUSE=100"}})
	want := map[string]string{"ecdsa-p256": "ECDSA P-256", "ecdsa-p384": "ECDSA P-384", "rsa-2048": "RSA 2048"}
	for typ, desc := range want {
		s := settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"key_type": typ}))
		prov, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		e := env{}
		var logs []string
		req := request("TLS_CERT", s, e, "", time.Now, &logs)
		res, err := prov.Create(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !strings.HasPrefix(res.Also["TLS_KEY"].Reveal(), "-----BEGIN PRIVATE KEY-----\n") {
			t.Errorf("%s: the key is not PKCS #8 PEM", typ)
		}
		if got := describe(leafOf(t, res.Value)); got != desc {
			t.Errorf("%s: certificate key %s, want %s", typ, got, desc)
		}
		e.store("TLS_CERT", res)
		if err := prov.Verify(context.Background(), req, res); err != nil {
			t.Errorf("%s: verify: %v", typ, err)
		}
	}
}

func describe(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", c.PublicKey)
}

// TestRetireNothingToRevoke: with revoke_old, an old value that is no
// certificate, or one that has expired, is nothing to do, and the CA is
// not asked (there is none here).
func TestRetireNothingToRevoke(t *testing.T) {
	s := settings(t, "TLS_CERT", map[string]any{"directory": "https://127.0.0.1:1/dir", "domains": []any{"a.example"}, "revoke_old": true})
	prov, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	expired := selfSigned(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	for name, old := range map[string]store.Value{"empty": "", "not a certificate": "hunter2", "expired": expired} {
		var logs []string
		req := request("TLS_CERT", s, env{}, old, time.Now, &logs)
		if err := prov.Retire(context.Background(), req, &rotate.Result{Value: "x"}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if strings.Contains(strings.Join(logs, " "), "hunter2") {
			t.Errorf("%s: the old value is in the log: %q", name, logs)
		}
	}
	// A live old certificate is revoked: here the CA is unreachable, an
	// error that keeps the journal (exit 8).
	live := selfSigned(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	var logs []string
	err = prov.Retire(context.Background(), request("TLS_CERT", s, env{"ACME_ACCOUNT_KEY": accountKey(t)}, live, time.Now, &logs), &rotate.Result{Value: "x"})
	if !errors.Is(err, rotate.ErrUnavailable) {
		t.Fatalf("retire against no CA: %v", err)
	}
}

func selfSigned(t *testing.T, nb, na time.Time) store.Value {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: nb, NotAfter: na, DNSNames: []string{"a.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return store.Value(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func accountKey(t *testing.T) store.Value {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := encodeKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return store.Value(s)
}

// TestWebroot answers HTTP-01 through files in a web server's document
// root (a real file server on pebble's HTTP-01 port), removes them
// afterwards, and refuses to write through a link.
func TestWebroot(t *testing.T) {
	p := pebbletest.Start(t, pebbletest.Options{})
	www := t.TempDir()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.HTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	var mu gosync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served = append(served, r.URL.Path)
		mu.Unlock()
		http.FileServer(http.Dir(www)).ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	defer srv.Close()

	raw := pebbleSettings(p, map[string]any{"webroot": www})
	delete(raw, "http_listen")
	s := settings(t, "TLS_CERT", raw)
	prov, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	e := env{}
	req := request("TLS_CERT", s, e, "", time.Now, &logs)
	if err := prov.(rotate.Preflight).Preflight(req); err != nil {
		t.Fatal(err)
	}
	res, err := prov.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("create through the webroot: %v\n%s", err, p.Log())
	}
	e.store("TLS_CERT", res)
	if err := prov.Verify(context.Background(), req, res); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := len(served)
	mu.Unlock()
	if n == 0 {
		t.Fatal("the CA fetched nothing from the web server")
	}
	left, _ := os.ReadDir(filepath.Join(www, ".well-known", "acme-challenge"))
	if len(left) != 0 {
		t.Fatalf("challenge files left behind: %v", left)
	}

	// .well-known a link elsewhere: refused, nothing written there.
	www2, elsewhere := t.TempDir(), t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(www2, ".well-known")); err != nil {
		t.Fatal(err)
	}
	w, err := openWebroot(www2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.set("/.well-known/acme-challenge/"+strings.Repeat("a", 43), "x"); err == nil || !strings.Contains(err.Error(), "refusing to write through it") {
		t.Fatalf("write through a link: %v", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("wrote through the link: %v", ents)
	}
	if err := w.set("/.well-known/acme-challenge/../../x", "x"); err == nil {
		t.Fatal("a token with a path in it was written")
	}
	// Both ways at once is a settings error.
	raw["http_listen"] = "127.0.0.1:1"
	if _, err := New(settings(t, "TLS_CERT", raw)); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("http_listen and webroot: %v", err)
	}
	// A webroot that is not there refuses in preflight.
	raw2 := pebbleSettings(p, map[string]any{"webroot": filepath.Join(www, "missing")})
	delete(raw2, "http_listen")
	s2 := settings(t, "TLS_CERT", raw2)
	prov2, _ := New(s2)
	if err := prov2.(rotate.Preflight).Preflight(request("TLS_CERT", s2, env{}, "", time.Now, &logs)); err == nil {
		t.Fatal("preflight accepted a missing webroot")
	}
}

// TestVerifyRefuses: a chain that does not verify against the configured
// root, is for another key, or has expired fails Verify.
func TestVerifyRefuses(t *testing.T) {
	p := pebbletest.Start(t, pebbletest.Options{Validity: 2 * time.Hour})
	s := settings(t, "TLS_CERT", pebbleSettings(p, nil))
	prov, _ := New(s)
	e := env{}
	var logs []string
	ctx := context.Background()
	req := request("TLS_CERT", s, e, "", time.Now, &logs)
	res, err := prov.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	e.store("TLS_CERT", res)

	other, err := prov.Create(ctx, request("TLS_CERT", s, e, "", time.Now, &logs))
	if err != nil {
		t.Fatal(err)
	}
	// The store holds another key than the chain's.
	e["TLS_KEY"] = other.Also["TLS_KEY"]
	if err := prov.Verify(ctx, req, res); err == nil || !strings.Contains(err.Error(), "not for the stored private key") {
		t.Errorf("verify with another key: %v", err)
	}
	e["TLS_KEY"] = res.Also["TLS_KEY"]
	// The store holds another chain than the rotation issued (set by hand
	// between store and verify): Verify reads the store, not the journal.
	e["TLS_CERT"] = other.Value
	if err := prov.Verify(ctx, req, res); err == nil || !strings.Contains(err.Error(), "not the certificate this rotation issued") {
		t.Errorf("verify with another chain in the store: %v", err)
	}
	e["TLS_CERT"] = res.Value
	later := request("TLS_CERT", s, e, "", func() time.Time { return time.Now().Add(3 * time.Hour) }, &logs)
	if err := prov.Verify(ctx, later, res); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("verify after expiry: %v", err)
	}
	// Another CA's root (pebble's HTTPS CA) does not anchor the chain.
	s2 := settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"roots": p.ServerCAFile}))
	prov2, _ := New(s2)
	if err := prov2.Verify(ctx, req, res); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("verify against another root: %v", err)
	}
	// A relative roots path is the project's: found under req.Dir, refused
	// without one.
	proj := t.TempDir()
	copyFile(t, p.RootFile, filepath.Join(proj, "pebble-root.pem"))
	s4 := settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"roots": "pebble-root.pem"}))
	prov4, _ := New(s4)
	if err := prov4.Verify(ctx, req, res); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Errorf("verify with a relative roots path and no project: %v", err)
	}
	inProject := *req
	inProject.Dir = proj
	if err := prov4.Verify(ctx, &inProject, res); err != nil {
		t.Errorf("verify with roots relative to the project: %v", err)
	}
	// Another name.
	s3 := settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"domains": []any{"app.hush.test", "api.hush.test"}}))
	prov3, _ := New(s3)
	if err := prov3.Verify(ctx, req, res); err == nil || !strings.Contains(err.Error(), "api.hush.test") {
		t.Errorf("verify for a name the certificate lacks: %v", err)
	}
}

// TestEAB: a CA that requires external account binding refuses an
// account without it and accepts one bound with the HMAC key from the
// store.
func TestEAB(t *testing.T) {
	const hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W" // pebble's test key
	p := pebbletest.Start(t, pebbletest.Options{EAB: map[string]string{"kid-1": hmac}})
	ctx := context.Background()
	var logs []string
	s := settings(t, "TLS_CERT", pebbleSettings(p, nil))
	prov, _ := New(s)
	if _, err := prov.Create(ctx, request("TLS_CERT", s, env{}, "", time.Now, &logs)); err == nil || !strings.Contains(err.Error(), "externalAccountRequired") {
		t.Fatalf("create without EAB: %v", err)
	}
	s = settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"eab_kid": "kid-1", "eab_hmac_key": "ACME_EAB_HMAC"}))
	prov, _ = New(s)
	e := env{"ACME_EAB_HMAC": hmac}
	res, err := prov.Create(ctx, request("TLS_CERT", s, e, "", time.Now, &logs))
	if err != nil {
		t.Fatalf("create with EAB: %v", err)
	}
	if strings.Contains(fmt.Sprint(res.State), hmac) {
		t.Fatal("the HMAC key is in the result's state")
	}
}

// TestTermsNeedAgreement: a CA with terms of service is not agreed to
// unless the settings say so.
func TestTermsNeedAgreement(t *testing.T) {
	p := pebbletest.Start(t, pebbletest.Options{})
	s := settings(t, "TLS_CERT", pebbleSettings(p, map[string]any{"agree_tos": false}))
	prov, _ := New(s)
	var logs []string
	_, err := prov.Create(context.Background(), request("TLS_CERT", s, env{}, "", time.Now, &logs))
	if err == nil || !strings.Contains(err.Error(), "agree_tos: true") {
		t.Fatalf("create without agree_tos: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"directory": "https://ca.example/dir", "domains": []any{"a.example"}}
	}
	cases := []struct {
		change map[string]any
		want   string
	}{
		{map[string]any{"directory": "http://ca.example/dir"}, "want an https:// URL"},
		{map[string]any{"directory": "https://user:pw@ca.example/dir"}, "without credentials"},
		{map[string]any{"directory": nil}, "no directory"},
		{map[string]any{"domains": []any{}}, "no domains"},
		{map[string]any{"domains": []any{"*.a.example"}}, "wildcard"},
		{map[string]any{"domains": []any{"127.0.0.1"}}, "IP address"},
		{map[string]any{"domains": []any{"a b"}}, "not a DNS name"},
		{map[string]any{"domains": []any{"a.example", "A.example"}}, "twice"},
		{map[string]any{"contact": []any{"ops@example"}}, "mailto:"},
		{map[string]any{"challenge": "dns-01"}, "http-01"},
		{map[string]any{"key_type": "dsa"}, "key_type"},
		{map[string]any{"key": "TLS_CERT"}, "the key being rotated"},
		{map[string]any{"key": "bad-name"}, "key:"},
		{map[string]any{"account_key": "TLS_KEY"}, "both name TLS_KEY"},
		{map[string]any{"eab_kid": "kid-1"}, "eab_hmac_key"},
		{map[string]any{"http_listen": "80"}, "http_listen"},
		{map[string]any{"revoke": true}, "field revoke not found"},
	}
	for _, c := range cases {
		raw := base()
		for k, v := range c.change {
			if v == nil {
				delete(raw, k)
			} else {
				raw[k] = v
			}
		}
		_, err := New(settings(t, "TLS_CERT", raw))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error with %q", c.change, err, c.want)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) && !strings.Contains(err.Error(), "not found") {
			t.Errorf("%v: %v is not ErrInvalid", c.change, err)
		}
	}
	if _, err := New(settings(t, "TLS_CERT", base())); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
}

func TestDefaultKeyName(t *testing.T) {
	for in, want := range map[string]string{"TLS_CERT": "TLS_KEY", "WEB_CERTIFICATE": "WEB_KEY", "API_CHAIN": "API_KEY", "CHAIN": "CHAIN_KEY", "_CERT": "_CERT_KEY"} {
		if got := defaultKeyName(in); got != want {
			t.Errorf("defaultKeyName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRenewAt(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: nb, NotAfter: nb.Add(90 * 24 * time.Hour)}
	if got, want := RenewAt(leaf), nb.Add(60*24*time.Hour); !got.Equal(want) {
		t.Fatalf("RenewAt %v, want %v", got, want)
	}
	// A CA that backdates NotBefore by an hour (Let's Encrypt does): the
	// period counts from NotBefore, not from when hush stored it.
	if got := RotateEvery(leaf, nb.Add(time.Hour)); got != "1439h" {
		t.Fatalf("RotateEvery %s, want 1439h", got)
	}
	if got := RotateEvery(leaf, nb.Add(70*24*time.Hour)); got != "1h" {
		t.Fatalf("RotateEvery past renew_at %s, want 1h", got)
	}
}

// serveAndDial serves chain and key from a TLS server and connects to it
// as name, verifying against pebble's root only.
func serveAndDial(t *testing.T, p *pebbletest.Pebble, chain, key store.Value, name string) {
	t.Helper()
	cert, err := tls.X509KeyPair([]byte(chain.Reveal()), []byte(key.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: name, RootCAs: p.Roots()})
	if err != nil {
		t.Fatalf("TLS to the served chain as %s: %v", name, err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(leafOf(t, chain).SerialNumber) != 0 {
		t.Fatalf("served serial %x", got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]store.Value) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
