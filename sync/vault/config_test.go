package vault

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/store"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		yaml, err string
		want      Config
	}{
		{yaml: "", want: Config{}},
		{yaml: "address: https://v:8200\nmount: kv\npath: apps/{project}/{env}\nlayout: tree\nauth:\n  method: approle\n  role_id: r\n  secret_id_file: /run/sid\n",
			want: Config{Address: "https://v:8200", Mount: "kv", Path: "apps/{project}/{env}", Layout: "tree", Auth: AuthConfig{Method: "approle", RoleID: "r", SecretIDFile: "/run/sid"}}},
		{yaml: "mountt: x\n", err: "field mountt not found"},
		{yaml: "layout: nested\n", err: "use fields or tree"},
		{yaml: "auth:\n  method: ldap\n  username: alice\n  password_env: CORP_PW\n", want: Config{Auth: AuthConfig{Method: "ldap", Username: "alice", PasswordEnv: "CORP_PW"}}},
		{yaml: "auth:\n  method: okta\n", err: "use token, approle, jwt, kubernetes, userpass, ldap, cert or aws"},
		{yaml: "auth:\n  method: aws\n  region: ../x\n", err: "vault auth.region"},
		{yaml: "auth:\n  method: userpass\n  password: hunter2\n", err: "vault.auth.password: a secret is never kept in hush.yaml"},
		{yaml: "auth:\n  method: approle\n  secret_id: 0000\n", err: "vault.auth.secret_id: a secret is never kept in hush.yaml"},
		{yaml: "auth:\n  method: userpass\n  password_env: $(cat /etc/shadow)\n", err: "want the name of an environment variable"},
		{yaml: "auth:\n  method: jwt\n  token_env: 1CI\n", err: "want the name of an environment variable"},
		{yaml: "auth:\n  method: userpass\n  username: ../../sys/x\n", err: "vault auth.username"},
		{yaml: "auth:\n  method: cert\n  mount: ../sys\n", err: "vault auth.mount"},
		{yaml: "mount: ../sys\n", err: "vault mount"},
	} {
		var section any
		if tc.yaml != "" {
			if err := yaml.Unmarshal([]byte(tc.yaml), &section); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ParseConfig(section)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v", tc.yaml, got, err)
		}
	}
}

func TestPathTemplate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tmpl, want, err string }{
		{"", "proj/dev", ""},
		{"PROJECT/{env}", "proj/dev", ""},
		{"teams/{project}/envs/{env}/", "teams/proj/envs/dev", ""},
		{"../{env}", "", "vault path"},
		{"a//{env}", "", "vault path"},
	} {
		v, err := New(Options{Config: Config{Path: tc.tmpl}, Project: "proj"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Path("dev")
		if tc.err != "" {
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v", tc.tmpl, err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("%q: %q %v, want %q", tc.tmpl, got, err, tc.want)
		}
	}
}
