package vault

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// rwPolicy lets a login write the test's mount.
func rwPolicy(t *testing.T, srv *vaulttest.Server, mount string) string {
	t.Helper()
	name := "rw-" + mount
	hcl := `path "` + mount + `/*" { capabilities = ["create", "read", "update", "delete", "list"] }`
	if err := srv.Client(t).Sys().PutPolicy(name, hcl); err != nil {
		t.Fatal(err)
	}
	return name
}

func enableAuth(t *testing.T, srv *vaulttest.Server, kind string) string {
	t.Helper()
	path := kind + "-" + strings.TrimPrefix(srv.Mount(t, 2), "kv2-")
	if err := srv.Client(t).Sys().EnableAuthWithOptions(path, &vaultapi.EnableAuthOptions{Type: kind}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAppRoleLogin(t *testing.T) {
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
	sid, err := c.Write("auth/"+am+"/role/hush/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "secret-id")
	os.WriteFile(secretFile, []byte(sid.Data["secret_id"].(string)+"\n"), 0o600)
	v := newVault(t, srv, mount, setup{auth: AuthConfig{Method: "approle", Mount: am,
		RoleID: rid.Data["role_id"].(string), SecretIDFile: secretFile}})
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after approle login: %v", err)
	}

	// A wrong secret id is denied, and never shown.
	os.WriteFile(secretFile, []byte("00000000-1111-2222-3333-444444444444"), 0o600)
	v = newVault(t, srv, mount, setup{auth: AuthConfig{Method: "approle", Mount: am,
		RoleID: rid.Data["role_id"].(string), SecretIDFile: secretFile}})
	_, err = v.Pull(context.Background(), "dev")
	t.Logf("bad secret id: %v", err)
	if !errors.Is(err, sync.ErrDenied) || strings.Contains(err.Error(), "00000000-1111") {
		t.Errorf("bad secret id: %v", err)
	}
}

// signJWT makes a compact EdDSA JWT with the standard library.
func signJWT(t *testing.T, key ed25519.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "EdDSA", "typ": "JWT"}) + "." + enc(claims)
	return signing + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(signing)))
}

func TestJWTLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	pol := rwPolicy(t, srv, mount)
	am := enableAuth(t, srv, "jwt")
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	c := srv.Client(t).Logical()
	if _, err := c.Write("auth/"+am+"/config", map[string]any{"jwt_validation_pubkeys": []string{pemKey}, "bound_issuer": "https://ci.test"}); err != nil {
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
	tokFile := filepath.Join(t.TempDir(), "oidc-token")
	os.WriteFile(tokFile, []byte(signJWT(t, priv, claims)), 0o600)
	v := newVault(t, srv, mount, setup{auth: AuthConfig{Method: "jwt", Mount: am, Role: "deploy", TokenFile: tokFile}})
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatalf("push after jwt login: %v", err)
	}

	// A token for another subject is refused by the role.
	claims["sub"] = "repo:other:main"
	os.WriteFile(tokFile, []byte(signJWT(t, priv, claims)), 0o600)
	v = newVault(t, srv, mount, setup{auth: AuthConfig{Method: "jwt", Mount: am, Role: "deploy", TokenFile: tokFile}})
	_, err = v.Pull(context.Background(), "dev")
	t.Logf("jwt of another subject: %v", err)
	if !errors.Is(err, sync.ErrDenied) {
		t.Errorf("jwt of another subject: %v", err)
	}
}
