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
		{yaml: "auth:\n  method: ldap\n", err: "use token, approle, jwt or kubernetes"},
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
