package vault

import (
	"strings"
	"testing"
)

func TestBroadPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hcl  string
		want []string // "path: why" prefixes
	}{
		{`path "secret/*" { capabilities = ["read"] }`, []string{"secret/*: a glob"}},
		{`path "secret/data/*" { capabilities = ["read", "list"] }`, []string{"secret/data/*: a glob"}},
		{`path "secret/data/a*" { capabilities = ["read"] }`, []string{"secret/data/a*: a glob"}},
		{`path "*" { capabilities = ["read"] }`, []string{"*: a glob"}},
		{`path "secret/data/+/prod" { capabilities = ["read"] }`, []string{"secret/data/+/prod: a + segment"}},
		{`path "sys/mounts" { capabilities = ["read", "sudo"] }`, []string{"sys/mounts: sudo"}},
		// What hush generates for one environment (tree layout included)
		// is not broad, nor a deny.
		{`path "secret/data/myapp/prod" { capabilities = ["read"] }
path "secret/metadata/myapp/prod" { capabilities = ["list"] }`, nil},
		{`path "secret/data/myapp/prod/*" { capabilities = ["read"] }`, nil},
		{`path "secret/*" { capabilities = ["deny"] }`, nil},
	} {
		got := BroadPaths(tc.hcl)
		if len(got) != len(tc.want) {
			t.Errorf("BroadPaths(%s) = %+v, want %q", tc.hcl, got, tc.want)
			continue
		}
		for i, g := range got {
			if s := g.Path + ": " + g.Why; !strings.HasPrefix(s, tc.want[i]) {
				t.Errorf("BroadPaths(%s)[%d] = %q, want %q…", tc.hcl, i, s, tc.want[i])
			}
		}
	}
}
