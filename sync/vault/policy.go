package vault

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	gosync "sync"

	"github.com/hush-secrets/hush/store"
)

// Policy is the least-privilege ACL policy, in the shape of Vault's own
// examples, for reading env with hush: read on its data, list on its
// metadata, nothing else (no write, no delete, no other environment). kv
// is the mount's KV version (see KVVersion).
func (v *Vault) Policy(env string, kv int) (string, error) {
	p, err := v.Path(env)
	if err != nil {
		return "", err
	}
	data, meta := v.dataPath(kv, p), v.metadataPath(kv, p)
	if v.layout == LayoutTree {
		data += "/*"
		meta += "/"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# hush: read-only access to environment %q of project %q\n", env, v.opts.Project)
	fmt.Fprintf(&b, "# (KV v%d at %s, %s layout), for `hush vault pull` and vault:// references.\n\n", kv, v.mount, v.layout)
	fmt.Fprintf(&b, "# Read the environment's secrets\npath %q {\n  capabilities = [\"read\"]\n}\n\n", data)
	fmt.Fprintf(&b, "# List its keys\npath %q {\n  capabilities = [\"list\"]\n}\n", meta)
	return b.String(), nil
}

// ServicePolicy is the per-service policy of the seed's shape: read (and
// list) on every path of service (its environments, in either layout),
// and an explicit deny on each service in deny, which wins over any other
// policy the token holds that would grant those paths. A service takes
// the place of {project} in the path template; a template whose {env}
// comes before it is matched by a one-segment wildcard (+). kv is the
// mount's KV version.
func (v *Vault) ServicePolicy(service string, deny []string, kv int) (string, error) {
	if err := ValidService(service); err != nil {
		return "", err
	}
	own, err := v.servicePaths(service, kv)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# hush: read-only access to service %q", service)
	if len(deny) > 0 {
		fmt.Fprintf(&b, ", and none to %s", strings.Join(deny, ", "))
	}
	fmt.Fprintf(&b, "\n# (KV v%d at %s, path template %q), for `hush vault pull`, `hush run` and vault:// references.\n", kv, v.mount, v.tmpl)
	fmt.Fprintf(&b, "\n# Read %s's secrets\n", service)
	for _, p := range own.data {
		if kv == 1 {
			fmt.Fprintf(&b, "path %q {\n  capabilities = [\"read\", \"list\"]\n}\n", p)
		} else {
			fmt.Fprintf(&b, "path %q {\n  capabilities = [\"read\"]\n}\n", p)
		}
	}
	if kv == 2 {
		fmt.Fprintf(&b, "\n# List its keys\n")
		for _, p := range own.meta {
			fmt.Fprintf(&b, "path %q {\n  capabilities = [\"list\"]\n}\n", p)
		}
	}
	seen := map[string]bool{service: true}
	for _, d := range deny {
		if err := ValidService(d); err != nil {
			return "", err
		}
		if seen[d] {
			if d == service {
				return "", fmt.Errorf("%w --deny %q: it is the service the policy is for", store.ErrInvalid, d)
			}
			continue
		}
		seen[d] = true
		other, err := v.servicePaths(d, kv)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\n# Nothing of %s, whatever another policy grants\n", d)
		// The secret itself (a template without {env}) and everything
		// under it, data and metadata alike.
		for _, p := range append(other.data, other.meta...) {
			fmt.Fprintf(&b, "path %q {\n  capabilities = [\"deny\"]\n}\n", p)
		}
	}
	return b.String(), nil
}

type servicePathSet struct{ data, meta []string }

// servicePaths are the policy paths covering every environment of
// service: the path template with {project} replaced by the service,
// everything from a final {env} on matched by *, an {env} before it by +.
func (v *Vault) servicePaths(service string, kv int) (servicePathSet, error) {
	segs := strings.Split(strings.Trim(v.tmpl, "/"), "/")
	for i, seg := range segs {
		if fixed := strings.NewReplacer("{project}", "x", "PROJECT", "x", "{env}", "x").Replace(seg); !serviceSegRE().MatchString(fixed) {
			return servicePathSet{}, fmt.Errorf("%w vault path template %q for a service policy: segment %q would be read as a wildcard or is not a plain name", store.ErrInvalid, v.tmpl, seg)
		}
		seg = strings.NewReplacer("{project}", service, "PROJECT", service).Replace(seg)
		switch {
		case seg == "{env}":
			seg = "+"
		case strings.Contains(seg, "{env}"):
			return servicePathSet{}, fmt.Errorf("%w vault path template %q for a service policy: {env} must be a path segment of its own", store.ErrInvalid, v.tmpl)
		}
		segs[i] = seg
	}
	// A trailing run of + (the environments) becomes one *, which also
	// covers the tree layout's keys below them.
	n := len(segs)
	for n > 0 && segs[n-1] == "+" {
		n--
	}
	base := strings.Join(segs[:n], "/")
	var globs []string
	switch {
	case base == "":
		return servicePathSet{}, fmt.Errorf("%w vault path template %q for a service policy: it must name the service ({project})", store.ErrInvalid, v.tmpl)
	case n < len(segs):
		globs = []string{base + "/*"}
	default:
		// No {env} after the service: its secret, or the keys under it.
		globs = []string{base, base + "/*"}
	}
	if !strings.Contains(base, service) {
		return servicePathSet{}, fmt.Errorf("%w vault path template %q for a service policy: it must name the service ({project})", store.ErrInvalid, v.tmpl)
	}
	var out servicePathSet
	for _, g := range globs {
		out.data = append(out.data, v.dataPath(kv, g))
		if kv == 2 {
			out.meta = append(out.meta, v.metadataPath(kv, g))
		}
	}
	return out, nil
}

// ValidService accepts a service name that names exactly one folder (or
// nested folders) of a mount: segments of letters, digits, '.', '-' and
// '_', none empty, "." or "..". Anything Vault's policy language would
// read as a wildcard (*, +) or that would climb out of the folder would
// widen a policy, and is refused.
func ValidService(name string) error {
	ok := name != "" && len(name) <= 256
	for _, seg := range strings.Split(name, "/") {
		if !ok || seg == "" || seg == "." || seg == ".." || !serviceSegRE().MatchString(seg) {
			ok = false
			break
		}
	}
	if !ok {
		return fmt.Errorf("%w service name %q: use letters, digits, '.', '-' and '_' (nested as a/b), no wildcard (* +), no empty, '.' or '..' segment", store.ErrInvalid, name)
	}
	return nil
}

// Compiled on first use, not at start-up: every hush command links this
// package, few write a policy.
var serviceSegRE = gosync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+$`) })

var policyNameRE = gosync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`) })

// WritePolicy stores hcl as the ACL policy name.
func (v *Vault) WritePolicy(ctx context.Context, name, hcl string) error {
	if !policyNameRE().MatchString(name) || len(name) > 128 {
		return fmt.Errorf("%w policy name %q: use letters, digits, '.', '-' and '_'", store.ErrInvalid, name)
	}
	if err := v.login(ctx); err != nil {
		return err
	}
	path := "sys/policies/acl/" + name
	if _, err := v.client.write(ctx, path, map[string]any{"policy": hcl}); err != nil {
		return v.wrap("write policy", path, err)
	}
	return nil
}
