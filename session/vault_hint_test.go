package session

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
)

// TestVaultHintNamesTheMethod: a login that cannot even start (no
// password, no token, no certificate, no AWS keys) is exit 8's kind, and
// its hint names the method in use and what it reads, never VAULT_TOKEN.
func TestVaultHintNamesTheMethod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		auth vault.AuthConfig
		want string
	}{
		{vault.AuthConfig{Method: "userpass", Username: "alice"}, "check the userpass username"},
		{vault.AuthConfig{Method: "ldap", Username: "alice", PasswordEnv: "CORP_PW"}, "check the ldap username"},
		{vault.AuthConfig{Method: "cert"}, "check the cert login's client certificate and key"},
		{vault.AuthConfig{Method: "aws", Role: "deploy"}, "check the AWS credentials"},
		{vault.AuthConfig{Method: "jwt", Role: "deploy", TokenEnv: "CI_OIDC"}, "that the jwt role in vault.auth.role accepts it"},
		{vault.AuthConfig{Method: "kubernetes", Role: "app", TokenEnv: "KUBE_TOKEN"}, "that the kubernetes role in vault.auth.role accepts it"},
		{vault.AuthConfig{Method: "approle", RoleID: "r"}, "check the AppRole credentials"},
	} {
		v, err := vault.New(vault.Options{Config: vault.Config{Auth: tc.auth},
			Getenv: func(k string) string { return map[string]string{"VAULT_ADDR": "https://127.0.0.1:1"}[k] },
			Prompt: func(string) (string, error) { return "", errors.New("no terminal") }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.KVVersion(context.Background())
		err = VaultHint(err)
		h := hint.Of(err)
		if !errors.Is(err, sync.ErrDenied) || !strings.Contains(h, tc.want) || strings.Contains(h, "VAULT_TOKEN") {
			t.Errorf("%s: %v; hint %q, want %q", tc.auth.Method, err, h, tc.want)
		}
	}
}
