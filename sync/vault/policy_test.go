package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
)

// A service policy follows the path template: the service takes
// {project}'s place, a final {env} (and the tree layout's keys below it)
// is one *, an {env} before the service a one-segment +; a template that
// would not confine the policy to the service is refused.
func TestServicePolicyPaths(t *testing.T) {
	for _, c := range []struct {
		tmpl string
		kv   int
		want []string // path lines, in order
	}{
		{"", 2, []string{`"secret/data/svc/*"`, `"secret/metadata/svc/*"`, `"secret/data/other/*"`, `"secret/metadata/other/*"`}},
		{"apps/{project}/{env}", 2, []string{`"secret/data/apps/svc/*"`, `"secret/metadata/apps/svc/*"`, `"secret/data/apps/other/*"`, `"secret/metadata/apps/other/*"`}},
		{"{env}/{project}", 2, []string{`"secret/data/+/svc"`, `"secret/data/+/svc/*"`, `"secret/metadata/+/svc"`, `"secret/metadata/+/svc/*"`, `"secret/data/+/other"`, `"secret/data/+/other/*"`, `"secret/metadata/+/other"`, `"secret/metadata/+/other/*"`}},
		{"{project}", 1, []string{`"secret/svc"`, `"secret/svc/*"`, `"secret/other"`, `"secret/other/*"`}},
	} {
		v, err := New(Options{Config: Config{Path: c.tmpl}})
		if err != nil {
			t.Fatal(err)
		}
		hcl, err := v.ServicePolicy("svc", []string{"other"}, c.kv)
		if err != nil {
			t.Fatalf("%q: %v", c.tmpl, err)
		}
		var got []string
		for _, l := range strings.Split(hcl, "\n") {
			if p, ok := strings.CutPrefix(l, "path "); ok {
				got = append(got, strings.TrimSuffix(p, " {"))
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q v%d: paths %v, want %v\n%s", c.tmpl, c.kv, got, c.want, hcl)
		}
		if n := strings.Count(hcl, `["deny"]`); n != len(c.want)/2 {
			t.Errorf("%q: %d denies:\n%s", c.tmpl, n, hcl)
		}
	}
	for _, tmpl := range []string{"{env}", "shared/{env}", "x-{env}/{project}", "*/{project}/{env}", "a+/{project}"} {
		v, err := New(Options{Config: Config{Path: tmpl}})
		if err != nil {
			continue // refused already
		}
		if hcl, err := v.ServicePolicy("svc", nil, 2); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("template %q: %v\n%s", tmpl, err, hcl)
		}
	}
	v, _ := New(Options{})
	for _, bad := range []string{"", "*", "+", "svc*", "a/+/b", "..", "a/..", "./a", "a//b", "/a", "a/", "a b", `a"b`, "a\nb", "a{env}"} {
		if _, err := v.ServicePolicy(bad, nil, 2); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("service %q accepted: %v", bad, err)
		}
		if _, err := v.ServicePolicy("svc", []string{bad}, 2); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("deny %q accepted: %v", bad, err)
		}
	}
	if _, err := v.ServicePolicy("team/svc", []string{"team/other"}, 2); err != nil {
		t.Errorf("nested names: %v", err)
	}
}
