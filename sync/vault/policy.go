package vault

import (
	"context"
	"fmt"
	"regexp"
	"strings"

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

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// WritePolicy stores hcl as the ACL policy name.
func (v *Vault) WritePolicy(ctx context.Context, name, hcl string) error {
	if !policyNameRE.MatchString(name) || len(name) > 128 {
		return fmt.Errorf("%w policy name %q: use letters, digits, '.', '-' and '_'", store.ErrInvalid, name)
	}
	if err := v.login(ctx); err != nil {
		return err
	}
	path := "sys/policies/acl/" + name
	if _, err := v.client.Logical().WriteWithContext(ctx, path, map[string]any{"policy": hcl}); err != nil {
		return v.wrap("write policy", path, err)
	}
	return nil
}
