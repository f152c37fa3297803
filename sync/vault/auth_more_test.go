package vault

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// authVault is a backend logging in with a by method, env its environment.
func authVault(t *testing.T, addr, mount string, a AuthConfig, env map[string]string, prompt func(string) (string, error)) *Vault {
	t.Helper()
	e := map[string]string{"VAULT_ADDR": addr}
	for k, v := range env {
		e[k] = v
	}
	v, err := New(Options{Config: Config{Mount: mount, Auth: a}, Project: "proj",
		Getenv: func(k string) string { return e[k] }, Prompt: prompt,
		MinRetryWait: 10 * time.Millisecond, MaxRetryWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// self logs v in and returns what Vault says of its token: the proof a
// login happened, and as whom.
func self(t *testing.T, v *Vault) *vaultapi.Secret {
	t.Helper()
	s, err := apiClient(t, v).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatalf("lookup-self: %v", err)
	}
	return s
}

// apiClient logs v in and returns a vaultapi client with its token, on
// its HTTP client (its TLS settings and client certificate): the tests
// ask Vault what a login did through a client that is not hush's own.
func apiClient(t *testing.T, v *Vault) *vaultapi.Client {
	t.Helper()
	if err := v.login(context.Background()); err != nil {
		t.Fatalf("login: %v", err)
	}
	c, err := vaultapi.NewClient(&vaultapi.Config{Address: v.client.Address(), HttpClient: v.client.hc})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(v.client.Token())
	c.ClearNamespace()
	if ns := v.client.Headers().Get(namespaceHeader); ns != "" {
		c.SetNamespace(ns)
	}
	return c
}

// wantLogin checks the token is hush's own (revoked at Close), has
// policy, and is named display.
func wantLogin(t *testing.T, v *Vault, policy, display string) {
	t.Helper()
	s := self(t, v)
	pols, _ := s.TokenPolicies()
	if !slices.Contains(pols, policy) {
		t.Errorf("token policies %v, want %s", pols, policy)
	}
	if dn, _ := s.Data["display_name"].(string); display != "" && dn != display {
		t.Errorf("display_name %q, want %q", dn, display)
	}
	if !v.ownToken {
		t.Error("a token hush logged in for is not marked for revocation")
	}
	if err := v.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.client.lookupSelf(context.Background()); err == nil {
		t.Error("the login token still works after Close")
	}
}

// wantDenied checks err is a refused login of method, exit 8's kind,
// that does not show secret.
func wantDenied(t *testing.T, err error, method, secret, msg string) {
	t.Helper()
	m, login, ok := Denial(err)
	if !ok || m != method || !login {
		t.Fatalf("error %v: denial %q login=%v ok=%v, want a refused %s login", err, m, login, ok, method)
	}
	if secret != "" && strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the secret: %v", err)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q, want it to say %q", err, msg)
	}
}

func login(v *Vault) error { return v.login(context.Background()) }

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUserpassLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	am := enableAuth(t, srv, "userpass")
	const pw = "userpass-test-pw-Zq81"
	if _, err := srv.Client(t).Logical().Write("auth/"+am+"/users/alice", map[string]any{"password": pw, "token_policies": pol, "token_ttl": "5m"}); err != nil {
		t.Fatal(err)
	}
	a := AuthConfig{Method: "userpass", Mount: am, Username: "alice"}

	// From VAULT_PASSWORD: a write works, the token is alice's, and hush
	// revokes it at the end.
	v := authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_PASSWORD": pw}, nil)
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after userpass login: %v", err)
	}
	wantLogin(t, v, pol, am+"-alice")

	// From the variable password_env names, and the user from VAULT_USERNAME.
	b := a
	b.Username, b.PasswordEnv = "", "TEAM_VAULT_PW"
	wantLogin(t, authVault(t, srv.Addr, mount, b, map[string]string{"TEAM_VAULT_PW": pw, "VAULT_USERNAME": "alice"}, nil), pol, am+"-alice")

	// From a file only its owner may read; a file others may read is refused.
	b = a
	b.PasswordFile = writeFile(t, "pw", pw+"\n", 0o600)
	wantLogin(t, authVault(t, srv.Addr, mount, b, nil, nil), pol, am+"-alice")
	b.PasswordFile = writeFile(t, "pw", pw+"\n", 0o644)
	err := login(authVault(t, srv.Addr, mount, b, nil, nil))
	if !errors.Is(err, store.ErrUnsafe) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a password file others can read: %v", err)
	}

	// From the terminal, asked once: a later login of the run reuses it.
	var asked []string
	prompt := func(p string) (string, error) { asked = append(asked, p); return pw, nil }
	v = authVault(t, srv.Addr, mount, a, nil, prompt)
	self(t, v)
	v.loggedIn = false
	self(t, v)
	if len(asked) != 1 || !strings.Contains(asked[0], "userpass password for alice") {
		t.Errorf("prompts %q, want one naming userpass and alice", asked)
	}

	// Backends of one process sharing a LoginCache (hush run's restart
	// opens a new one per round) ask once too.
	asked = nil
	cache := &LoginCache{}
	for range 2 {
		v, err := New(Options{Config: Config{Mount: mount, Auth: a}, Getenv: func(k string) string { return map[string]string{"VAULT_ADDR": srv.Addr}[k] },
			Prompt: prompt, Logins: cache})
		if err != nil {
			t.Fatal(err)
		}
		wantLogin(t, v, pol, am+"-alice")
	}
	if len(asked) != 1 {
		t.Errorf("%d prompts for two backends sharing a LoginCache, want 1", len(asked))
	}

	// No password anywhere, no terminal: said, naming the sources.
	noTTY := func(string) (string, error) { return "", errors.New("no terminal") }
	err = login(authVault(t, srv.Addr, mount, a, nil, noTTY))
	wantDenied(t, err, "userpass", "", "no password (set VAULT_PASSWORD")

	// A wrong password: refused by Vault, exit 8's kind, not shown; a
	// wrong prompted one is not kept for the next try.
	const wrong = "not-the-password-Kx2"
	err = login(authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_PASSWORD": wrong}, nil))
	wantDenied(t, err, "userpass", wrong, "auth/"+am+"/login/alice")
	v = authVault(t, srv.Addr, mount, a, nil, func(string) (string, error) { return wrong, nil })
	wantDenied(t, login(v), "userpass", wrong, "")
	if len(v.logins.prompted) != 0 {
		t.Error("a refused prompted password is kept")
	}

	// A username cannot climb out of the login path.
	b = a
	b.Username = ""
	err = login(authVault(t, srv.Addr, mount, b, map[string]string{"VAULT_USERNAME": "../../sys/x", "VAULT_PASSWORD": pw}, nil))
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("username with slashes: %v", err)
	}
}

func TestLDAPLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.StartWithPlugins(t)
	plugin := srv.AuthPlugin(t, "ldap")
	dir := vaulttest.StartLDAP(t)
	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	c := srv.Client(t)
	if err := c.Sys().EnableAuthWithOptions("corp-ldap", &vaultapi.EnableAuthOptions{Type: plugin}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/corp-ldap/config", map[string]any{
		"url": dir.URL, "userdn": dir.UserDN, "userattr": "uid",
		"groupdn": dir.GroupDN, "groupattr": "cn", "token_ttl": "5m",
	}); err != nil {
		t.Fatal(err)
	}
	// The policy comes through the LDAP group: proof Vault asked slapd.
	if _, err := c.Logical().Write("auth/corp-ldap/groups/"+dir.Group, map[string]any{"policies": pol}); err != nil {
		t.Fatal(err)
	}
	a := AuthConfig{Method: "ldap", Mount: "corp-ldap", Username: dir.User}
	v := authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_PASSWORD": dir.Password}, nil)
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after ldap login: %v", err)
	}
	wantLogin(t, v, pol, "corp-ldap-"+dir.User)

	b := a
	b.PasswordFile = writeFile(t, "pw", dir.Password, 0o600)
	wantLogin(t, authVault(t, srv.Addr, mount, b, nil, nil), pol, "corp-ldap-"+dir.User)

	const wrong = "not-the-ldap-password-9f"
	err := login(authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_PASSWORD": wrong}, nil))
	wantDenied(t, err, "ldap", wrong, "auth/corp-ldap/login/alice")
	b = a
	b.Username = "mallory"
	err = login(authVault(t, srv.Addr, mount, b, map[string]string{"VAULT_PASSWORD": dir.Password}, nil))
	wantDenied(t, err, "ldap", dir.Password, "")
}

// testCA makes a CA and a client certificate it signed, as PEM files.
func testCA(t *testing.T, cn string) (caPEM, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	certFile = writeFile(t, "client.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	keyFile = writeFile(t, "client-key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), 0o600)
	return caPEM, certFile, keyFile
}

func TestCertLogin(t *testing.T) {
	t.Parallel()
	srv, caFile := vaulttest.StartTLS(t)
	cfg := vaultapi.DefaultConfig()
	cfg.Address = srv.Addr
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: caFile}); err != nil {
		t.Fatal(err)
	}
	root, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	root.SetToken(srv.Token)
	if err := root.Sys().Mount("kv-cert", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("rw-cert", `path "kv-cert/*" { capabilities = ["create", "read", "update", "delete", "list"] }`); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("cert", &vaultapi.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	caPEM, certFile, keyFile := testCA(t, "hush-ci")
	if _, err := root.Logical().Write("auth/cert/certs/ci", map[string]any{
		"certificate": caPEM, "allowed_common_names": "hush-ci", "token_policies": "rw-cert", "token_ttl": "5m",
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VAULT_CACERT": caFile}
	a := AuthConfig{Method: "cert", Role: "ci", ClientCertFile: certFile, ClientKeyFile: keyFile}
	v := authVault(t, srv.Addr, "kv-cert", a, env, nil)
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after cert login: %v", err)
	}
	wantLogin(t, v, "rw-cert", "cert-ci")

	// The files may come from VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, and
	// no role: Vault tries them all.
	wantLogin(t, authVault(t, srv.Addr, "kv-cert", AuthConfig{Method: "cert"},
		map[string]string{"VAULT_CACERT": caFile, "VAULT_CLIENT_CERT": certFile, "VAULT_CLIENT_KEY": keyFile}, nil), "rw-cert", "cert-ci")

	// A certificate of another CA is refused.
	_, otherCert, otherKey := testCA(t, "hush-ci")
	b := a
	b.ClientCertFile, b.ClientKeyFile = otherCert, otherKey
	wantDenied(t, login(authVault(t, srv.Addr, "kv-cert", b, env, nil)), "cert", "", "auth/cert/login")

	// A key others may read is refused before anything is sent.
	b = a
	b.ClientKeyFile = writeFile(t, "k.pem", mustRead(t, keyFile), 0o644)
	if err := login(authVault(t, srv.Addr, "kv-cert", b, env, nil)); !errors.Is(err, store.ErrUnsafe) {
		t.Errorf("a world-readable key: %v", err)
	}
	// The server is only trusted through VAULT_CACERT, as for the vault CLI.
	err = login(authVault(t, srv.Addr, "kv-cert", a, nil, nil))
	if !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without VAULT_CACERT: %v", err)
	}
	// Plain HTTP cannot carry a certificate login.
	err = login(authVault(t, "http://127.0.0.1:1", "kv-cert", a, nil, nil))
	wantDenied(t, err, "cert", "", "not HTTPS")
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrappedSecretIDLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	am := enableAuth(t, srv, "approle")
	c := srv.Client(t).Logical()
	if _, err := c.Write("auth/"+am+"/role/hush", map[string]any{"token_policies": pol, "token_ttl": "5m"}); err != nil {
		t.Fatal(err)
	}
	rid, err := c.Read("auth/" + am + "/role/hush/role-id")
	if err != nil {
		t.Fatal(err)
	}
	roleID := rid.Data["role_id"].(string)
	wrapped := func(path string, data map[string]any) string {
		t.Helper()
		wc, err := srv.Client(t).Clone()
		if err != nil {
			t.Fatal(err)
		}
		wc.SetToken(srv.Token)
		wc.SetWrappingLookupFunc(func(string, string) string { return "2m" })
		s, err := wc.Logical().Write(path, data)
		if err != nil || s == nil || s.WrapInfo == nil {
			t.Fatalf("wrap %s: %v %v", path, s, err)
		}
		return s.WrapInfo.Token
	}
	a := AuthConfig{Method: "approle", Mount: am, RoleID: roleID}

	// From a file: unwrapped, then the login.
	wt := wrapped("auth/"+am+"/role/hush/secret-id", nil)
	b := a
	b.WrappedSecretIDFile = writeFile(t, "wrapped", wt+"\n", 0o600)
	v := authVault(t, srv.Addr, mount, b, nil, nil)
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after wrapped approle login: %v", err)
	}
	// A later login of the run (the token at its max TTL) does not need
	// the wrapping token again: it worked once.
	v.loggedIn = false
	if err := login(v); err != nil {
		t.Fatalf("second login of the run: %v", err)
	}
	if s := self(t, v); s.Data["meta"].(map[string]any)["role_name"] != "hush" {
		t.Errorf("token meta %v, want role_name hush", s.Data["meta"])
	}
	wantLogin(t, v, pol, am)

	// So does another backend of the process sharing its LoginCache.
	cache := &LoginCache{}
	b.WrappedSecretIDFile = writeFile(t, "wrapped", wrapped("auth/"+am+"/role/hush/secret-id", nil), 0o600)
	for range 2 {
		v, err := New(Options{Config: Config{Mount: mount, Auth: b}, Getenv: func(k string) string { return map[string]string{"VAULT_ADDR": srv.Addr}[k] }, Logins: cache})
		if err != nil {
			t.Fatal(err)
		}
		wantLogin(t, v, pol, am)
	}

	// The same wrapping token again: used up. Exit 8's kind, said so, not shown.
	err = login(authVault(t, srv.Addr, mount, b, nil, nil))
	wantDenied(t, err, "approle", wt, "a wrapping token works once")

	// From VAULT_WRAPPED_SECRET_ID.
	wt = wrapped("auth/"+am+"/role/hush/secret-id", nil)
	wantLogin(t, authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_WRAPPED_SECRET_ID": wt}, nil), pol, am)

	// A wrapping token for anything else is refused and left wrapped:
	// someone's secret handed over as if it were a secret id...
	wt = wrapped("sys/wrapping/wrap", map[string]any{"secret_id": "attacker-chosen"})
	err = login(authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_WRAPPED_SECRET_ID": wt}, nil))
	wantDenied(t, err, "approle", wt, "not made by auth/"+am+"/role/NAME/secret-id but by sys/wrapping/wrap")
	if _, err := c.Write("sys/wrapping/lookup", map[string]any{"token": wt}); err != nil {
		t.Errorf("the refused wrapping token was used: %v", err)
	}
	// ...or the secret id of another AppRole mount.
	other := enableAuth(t, srv, "approle")
	if _, err := c.Write("auth/"+other+"/role/x", map[string]any{"token_policies": "default"}); err != nil {
		t.Fatal(err)
	}
	wt = wrapped("auth/"+other+"/role/x/secret-id", nil)
	err = login(authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_WRAPPED_SECRET_ID": wt}, nil))
	wantDenied(t, err, "approle", wt, "but by auth/"+other+"/role/x/secret-id")

	// An expired or made-up wrapping token.
	err = login(authVault(t, srv.Addr, mount, a, map[string]string{"VAULT_WRAPPED_SECRET_ID": "hvs.not-a-wrapping-token"}, nil))
	wantDenied(t, err, "approle", "hvs.not-a-wrapping-token", "wrapping token")
}

func TestJWTFromEnv(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	am := enableAuth(t, srv, "jwt")
	pub, priv, err := ed25519Key()
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t).Logical()
	if _, err := c.Write("auth/"+am+"/config", map[string]any{"jwt_validation_pubkeys": []string{pub}, "bound_issuer": "https://ci.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write("auth/"+am+"/role/deploy", map[string]any{
		"role_type": "jwt", "user_claim": "sub", "bound_audiences": []string{"vault"},
		"bound_subject": "repo:hush:main", "token_policies": pol, "token_ttl": "5m",
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"iss": "https://ci.test", "sub": "repo:hush:main", "aud": "vault",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	jwt := signJWT(t, priv, claims)
	a := AuthConfig{Method: "jwt", Mount: am, Role: "deploy", TokenEnv: "CI_OIDC_TOKEN"}
	v := authVault(t, srv.Addr, mount, a, map[string]string{"CI_OIDC_TOKEN": jwt + "\n"}, nil)
	s := self(t, v)
	if md, _ := s.Data["meta"].(map[string]any); md["role"] != "deploy" {
		t.Errorf("token meta %v, want role deploy", s.Data["meta"])
	}
	wantLogin(t, v, pol, am+"-repo:hush:main")

	// Unset: said, naming the variable.
	err = login(authVault(t, srv.Addr, mount, a, nil, nil))
	wantDenied(t, err, "jwt", "", "CI_OIDC_TOKEN (vault.auth.token_env) is unset")
	// Set but empty, with token_file as well: the file is used.
	b := a
	b.TokenFile = writeFile(t, "tok", jwt, 0o600)
	wantLogin(t, authVault(t, srv.Addr, mount, b, map[string]string{"CI_OIDC_TOKEN": ""}, nil), pol, am+"-repo:hush:main")
	// Another subject is refused, and the token is not shown.
	claims["sub"] = "repo:other:main"
	bad := signJWT(t, priv, claims)
	err = login(authVault(t, srv.Addr, mount, a, map[string]string{"CI_OIDC_TOKEN": bad}, nil))
	wantDenied(t, err, "jwt", bad, "")
}

func ed25519Key() (pubPEM string, priv ed25519.PrivateKey, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), priv, nil
}

// rs256 signs claims with key as a compact RS256 JWT, as a Kubernetes
// service account token is.
func rs256(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test"}) + "." + enc(claims)
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// tokenReviewer stands in for a kube-apiserver's TokenReview API: it
// accepts only the reviewer's bearer token and a well-formed
// authentication.k8s.io/v1 TokenReview, and authenticates the service
// account tokens it was given.
type tokenReviewer struct {
	reviewerJWT string
	mu          gosync.Mutex
	accounts    map[string][3]string // token -> namespace, name, uid
	reviews     int
	problems    []string
}

func (tr *tokenReviewer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	fail := func(code int, why string) {
		tr.problems = append(tr.problems, why)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": why, "code": code})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" {
		fail(404, "unexpected "+r.Method+" "+r.URL.Path)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(415, "not JSON: "+r.Header.Get("Content-Type"))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+tr.reviewerJWT {
		fail(401, "reviewer bearer token missing or wrong")
		return
	}
	var req struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Token     string   `json:"token"`
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	// As a kube-apiserver does, an object without apiVersion and kind
	// (Vault sends none) takes them from the URL; others must match it.
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Kind != "" && req.Kind != "TokenReview" ||
		req.APIVersion != "" && req.APIVersion != "authentication.k8s.io/v1" || req.Spec.Token == "" {
		fail(400, "not a TokenReview")
		return
	}
	tr.reviews++
	status := map[string]any{"authenticated": false, "error": "invalid bearer token"}
	if acc, ok := tr.accounts[req.Spec.Token]; ok {
		status = map[string]any{"authenticated": true, "user": map[string]any{
			"username": "system:serviceaccount:" + acc[0] + ":" + acc[1], "uid": acc[2],
			"groups": []string{"system:serviceaccounts", "system:serviceaccounts:" + acc[0], "system:authenticated"},
		}, "audiences": req.Spec.Audiences}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
		"metadata": map[string]any{"creationTimestamp": nil}, "spec": req.Spec, "status": status})
}

func TestKubernetesLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.StartWithPlugins(t)
	plugin := srv.AuthPlugin(t, "kubernetes")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sa := func(ns, name, uid string) string {
		return rs256(t, key, map[string]any{
			"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:" + ns + ":" + name,
			"kubernetes.io/serviceaccount/namespace":            ns,
			"kubernetes.io/serviceaccount/service-account.name": name,
			"kubernetes.io/serviceaccount/service-account.uid":  uid,
			"kubernetes.io/serviceaccount/secret.name":          name + "-token",
		})
	}
	good, stranger, revoked := sa("apps", "hush", "uid-1"), sa("other", "intruder", "uid-2"), sa("apps", "hush", "uid-1b")
	tr := &tokenReviewer{reviewerJWT: sa("kube-system", "vault-reviewer", "uid-0"),
		accounts: map[string][3]string{good: {"apps", "hush", "uid-1"}, stranger: {"other", "intruder", "uid-2"}}}
	api := httptest.NewUnstartedServer(tr)
	api.Listener.Close()
	api.Listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api.StartTLS()
	t.Cleanup(api.Close)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}))

	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	c := srv.Client(t)
	if err := c.Sys().EnableAuthWithOptions("k8s", &vaultapi.EnableAuthOptions{Type: plugin}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/k8s/config", map[string]any{
		"kubernetes_host": api.URL, "kubernetes_ca_cert": caPEM, "token_reviewer_jwt": tr.reviewerJWT,
		"disable_local_ca_jwt": true,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/k8s/role/app", map[string]any{
		"bound_service_account_names": "hush", "bound_service_account_namespaces": "apps",
		"token_policies": pol, "token_ttl": "5m",
	}); err != nil {
		t.Fatal(err)
	}
	a := AuthConfig{Method: "kubernetes", Mount: "k8s", Role: "app", TokenFile: writeFile(t, "sa-token", good, 0o600)}
	v := authVault(t, srv.Addr, mount, a, nil, nil)
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after kubernetes login: %v (reviews %d, problems %q)", err, tr.reviews, tr.problems)
	}
	s := self(t, v)
	md, _ := s.Data["meta"].(map[string]any)
	if md["service_account_name"] != "hush" || md["service_account_namespace"] != "apps" || md["service_account_uid"] != "uid-1" {
		t.Errorf("token meta %v, want the hush service account of apps", md)
	}
	wantLogin(t, v, pol, "k8s-apps-hush")
	tr.mu.Lock()
	if tr.reviews == 0 || len(tr.problems) > 0 {
		t.Errorf("TokenReview: %d reviews, problems %q", tr.reviews, tr.problems)
	}
	tr.mu.Unlock()

	// The same token from an environment variable.
	b := a
	b.TokenFile, b.TokenEnv = "", "KUBE_SA_TOKEN"
	wantLogin(t, authVault(t, srv.Addr, mount, b, map[string]string{"KUBE_SA_TOKEN": good}, nil), pol, "k8s-apps-hush")

	// A service account the role does not bind, and a token the API server
	// no longer authenticates: both refused, exit 8's kind.
	for _, tok := range []string{stranger, revoked} {
		b := a
		b.TokenFile = writeFile(t, "sa-token", tok, 0o600)
		wantDenied(t, login(authVault(t, srv.Addr, mount, b, nil, nil)), "kubernetes", tok, "auth/k8s/login")
	}
}

// TestAWSLogin: Vault's real aws auth method (IAM type) against moto's
// STS, which checks the SigV4 signature hush made as AWS would, with the
// keys moto's IAM issued.
func TestAWSLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.StartWithPlugins(t)
	plugin := srv.AuthPlugin(t, "aws")
	m := vaulttest.StartMoto(t, 4)
	id, secret := m.User(t, "hush", false)
	otherID, otherSecret := m.User(t, "intruder", false)

	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	c := srv.Client(t)
	if err := c.Sys().EnableAuthWithOptions("aws", &vaultapi.EnableAuthOptions{Type: plugin}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/aws/config/client", map[string]any{
		"sts_endpoint": m.URL, "iam_endpoint": m.URL, "sts_region": "us-east-1",
		"iam_server_id_header_value": "vault.hush.test",
	}); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:iam::123456789012:user/hush"
	if _, err := c.Logical().Write("auth/aws/role/deploy", map[string]any{
		"auth_type": "iam", "bound_iam_principal_arn": arn, "resolve_aws_unique_ids": false,
		"token_policies": pol, "token_ttl": "5m",
	}); err != nil {
		t.Fatal(err)
	}
	a := AuthConfig{Method: "aws", Role: "deploy", IAMServerID: "vault.hush.test"}
	env := map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret}
	v := authVault(t, srv.Addr, mount, a, env, nil)
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after aws login: %v", err)
	}
	s := self(t, v)
	if md, _ := s.Data["meta"].(map[string]any); md["account_id"] != "123456789012" || md["auth_type"] != "iam" {
		t.Errorf("token meta %v, want moto's account and the iam type", s.Data["meta"])
	}
	wantLogin(t, v, pol, "aws-hush")

	// A wrong secret key: STS (moto) refuses the signature; exit 8's kind.
	err := login(authVault(t, srv.Addr, mount, a, map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": "wrong" + secret[5:]}, nil))
	// (Vault reports moto's 403 SignatureDoesNotMatch as an invalid body.)
	wantDenied(t, err, "aws", secret[5:], "error making upstream request")
	// Another principal's valid keys: the role does not bind it.
	err = login(authVault(t, srv.Addr, mount, a, map[string]string{"AWS_ACCESS_KEY_ID": otherID, "AWS_SECRET_ACCESS_KEY": otherSecret}, nil))
	wantDenied(t, err, "aws", otherSecret, `"arn:aws:iam::123456789012:user/intruder" does not belong to the role "deploy"`)
	// Without the server id header the mount requires.
	b := a
	b.IAMServerID = ""
	err = login(authVault(t, srv.Addr, mount, b, env, nil))
	wantDenied(t, err, "aws", secret, "X-Vault-AWS-IAM-Server-ID")
	// No credentials in the environment.
	wantDenied(t, login(authVault(t, srv.Addr, mount, a, nil, nil)), "aws", "", "no AWS credentials (set AWS_ACCESS_KEY_ID")
}
