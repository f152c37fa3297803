package vault

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
)

// PolicyIssue is one rule of an ACL policy that grants more than a path
// of its own: a glob near the mount, a + segment, sudo.
type PolicyIssue struct {
	Path string
	Why  string
}

// Compiled on first use (hush vault policy check), not at start-up.
var (
	policyPathRE = gosync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)path\s+"([^"]*)"\s*\{(.*?)\}`) })
	policyCapsRE = gosync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)capabilities\s*=\s*\[([^\]]*)\]`) })
)

// BroadPaths lists the over-broad rules of an ACL policy (HCL): a glob
// ("secret/*", "secret/data/a*", "*") within the first segment under the
// mount (KV v2's data/ and metadata/ not counted), a "+" segment (every
// name at that level: every environment, or every project), and sudo.
// A rule that only denies is never broad.
func BroadPaths(hcl string) []PolicyIssue {
	var out []PolicyIssue
	for _, m := range policyPathRE().FindAllStringSubmatch(hcl, -1) {
		path, body := m[1], m[2]
		var caps []string
		if c := policyCapsRE().FindStringSubmatch(body); c != nil {
			for _, f := range strings.Split(c[1], ",") {
				if f = strings.Trim(strings.TrimSpace(f), `"`); f != "" {
					caps = append(caps, f)
				}
			}
		}
		if len(caps) == 1 && caps[0] == "deny" {
			continue
		}
		segs := strings.Split(path, "/")
		if i := strings.IndexByte(path, '*'); i >= 0 {
			before := strings.Split(path[:i], "/")
			n := len(before) - 1 // whole segments before the glob's
			if len(before) > 1 && (before[1] == "data" || before[1] == "metadata") {
				n--
			}
			if n < 2 {
				out = append(out, PolicyIssue{Path: path, Why: "a glob at the top of the mount reaches every project"})
			}
		}
		if slices.Contains(segs, "+") {
			out = append(out, PolicyIssue{Path: path, Why: "a + segment matches every name at its level"})
		}
		if slices.Contains(caps, "sudo") {
			out = append(out, PolicyIssue{Path: path, Why: "sudo capability"})
		}
	}
	return out
}

// TokenPolicies are the policies of hush's token (its own and those of
// its identity), after logging in.
func (v *Vault) TokenPolicies(ctx context.Context) ([]string, error) {
	if err := v.login(ctx); err != nil {
		return nil, err
	}
	s, err := v.client.lookupSelf(ctx)
	if err != nil {
		return nil, v.wrap("look up", "auth/token/lookup-self", err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("vault: look up auth/token/lookup-self: empty answer")
	}
	var out []string
	for _, k := range []string{"policies", "identity_policies"} {
		list, _ := s.Data[k].([]any)
		for _, p := range list {
			if name, ok := p.(string); ok && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// ReadPolicy is the text of ACL policy name.
func (v *Vault) ReadPolicy(ctx context.Context, name string) (string, error) {
	if !policyNameRE().MatchString(name) || len(name) > 128 {
		return "", fmt.Errorf("vault: policy name %q: not one hush reads", name)
	}
	path := "sys/policies/acl/" + name
	s, err := v.client.read(ctx, path, nil)
	if err != nil {
		return "", v.wrap("read policy", path, err)
	}
	if s == nil || s.Data == nil {
		return "", fmt.Errorf("vault: read %s: no such policy", path)
	}
	text, _ := s.Data["policy"].(string)
	return text, nil
}
