package vault

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestFilesFindsEveryFileSetting: every setting that names a file is
// returned for checking, found by its yaml name, so a new *_file field
// cannot be read unchecked.
func TestFilesFindsEveryFileSetting(t *testing.T) {
	t.Parallel()
	c, err := ParseConfig(map[string]any{"auth": map[string]any{
		"method": "approle", "role_id_file": "a", "secret_id_file": "b", "token_file": "c",
		"wrapped_secret_id_file": "d", "password_file": "e", "client_cert_file": "f", "client_key_file": "g",
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range c.Files() {
		got = append(got, f.Name+"="+*f.Path)
		*f.Path = "/checked/" + *f.Path
	}
	sort.Strings(got)
	want := []string{"vault.auth.client_cert_file=f", "vault.auth.client_key_file=g", "vault.auth.password_file=e",
		"vault.auth.role_id_file=a", "vault.auth.secret_id_file=b", "vault.auth.token_file=c", "vault.auth.wrapped_secret_id_file=d"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Files() = %v, want %v", got, want)
	}
	if c.Auth.TokenFile != "/checked/c" {
		t.Fatalf("Files() does not point into the config: %q", c.Auth.TokenFile)
	}
	// Every string field whose name says it is a file is covered.
	var walk func(prefix string, typ reflect.Type)
	n := 0
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
			if typ.Field(i).Type.Kind() == reflect.Struct {
				walk(prefix+name+".", typ.Field(i).Type)
			} else if strings.HasSuffix(name, "_file") {
				n++
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
	if n != len(want) {
		t.Fatalf("Config has %d *_file settings, the test knows %d: add the new one above", n, len(want))
	}
}
