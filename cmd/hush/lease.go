package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
)

// leaseSpec is one --vault-lease NAME=PATH[?k=v&...].
type leaseSpec struct {
	name, path string
	params     map[string]string
}

func parseLeaseSpec(spec string) (leaseSpec, error) {
	name, rest, ok := strings.Cut(spec, "=")
	if !ok || !inject.ValidName(name) || rest == "" {
		return leaseSpec{}, usagef("--vault-lease %q: want NAME=PATH[?key=value&...], e.g. DB=database/creds/app", spec)
	}
	path, query, _ := strings.Cut(rest, "?")
	ls := leaseSpec{name: name, path: strings.Trim(path, "/")}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return leaseSpec{}, usagef("--vault-lease %s: parameters: %v", name, err)
		}
		ls.params = make(map[string]string, len(q))
		for k, vs := range q {
			ls.params[k] = vs[len(vs)-1]
		}
	}
	return ls, nil
}

// envSuffix makes a field name part of a variable name: upper case, and
// anything but letters and digits as '_'.
func envSuffix(field string) string {
	b := []byte(strings.ToUpper(field))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// startLeases obtains each dynamic secret of specs and returns its fields
// as NAME_FIELD secrets, sorted by name. The leases are renewed in the
// background until stop, which revokes them; the caller must call stop on
// every exit path (it is safe to call more than once). On error no lease
// is left behind.
func startLeases(ctx context.Context, s *session, specs []string) (secrets []inject.Secret, stop func(), err error) {
	noop := func() {}
	if len(specs) == 0 {
		return nil, noop, nil
	}
	parsed := make([]leaseSpec, 0, len(specs))
	for _, sp := range specs {
		ls, err := parseLeaseSpec(sp)
		if err != nil {
			return nil, noop, err
		}
		parsed = append(parsed, ls)
	}
	v, err := openVault(s, vaultOptions{})
	if err != nil {
		return nil, noop, err
	}
	if err := s.auditReady(); err != nil {
		return nil, noop, err
	}
	var leases []*sync.Lease
	lv := auditedLeaser{Leaser: v, s: s, source: v.Address()}
	revokeAll := func() {
		rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for _, l := range leases {
			if err := lv.Revoke(rctx, l.ID); err != nil {
				s.warnf("%v", err)
			}
		}
	}
	for _, ls := range parsed {
		l, err := v.Lease(ctx, ls.path, ls.params)
		var paths []string
		leaseID := ""
		if l != nil {
			leaseID = l.ID
			leases = append(leases, l)
			for _, f := range sortedFields(l) {
				name := ls.name + "_" + envSuffix(f)
				secrets = append(secrets, inject.Secret{Name: name, Value: inject.NewValue(l.Fields[f].Reveal())})
				paths = append(paths, "vault:"+ls.path+"#"+f)
			}
		} else {
			paths = []string{"vault:" + ls.path}
		}
		if aerr := s.auditRemote(audit.SecretRead, v.Address(), leaseID, paths, err); aerr != nil && err == nil {
			err = aerr
		}
		if err != nil {
			revokeAll()
			return nil, noop, vaultHint(fmt.Errorf("--vault-lease %s: %w", ls.name, err))
		}
	}
	sort.SliceStable(secrets, func(i, j int) bool { return secrets[i].Name < secrets[j].Name })
	k := sync.Keep(lv, leases, func(err error) { s.warnf("vault: %v", err) })
	stop = func() {
		rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := k.Stop(rctx); err != nil {
			s.warnf("%v; the credentials stay valid until their lease expires", err)
		}
	}
	return secrets, stop, nil
}

func sortedFields(l *sync.Lease) []string {
	out := make([]string, 0, len(l.Fields))
	for f := range l.Fields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// vaultRefScheme starts a reference to a field of a Vault secret.
const vaultRefScheme = "vault://"

// vaultRefClients keeps one logged-in backend per session, so resolving
// many references logs in once.
var vaultRefClients = struct {
	gosync.Mutex
	m map[*session]*vault.Vault
}{m: map[*session]*vault.Vault{}}

// resolveVaultRef reads a vault://PATH#FIELD reference (PATH starting with
// the engine's mount, e.g. vault://secret/myapp/db#password) and audits
// the read.
func resolveVaultRef(ctx context.Context, s *session, ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, vaultRefScheme)
	path, field, hasField := strings.Cut(rest, "#")
	if !ok || !hasField || path == "" || field == "" {
		return "", fmt.Errorf("%w vault reference %q: want vault://MOUNT/PATH#FIELD", store.ErrInvalid, ref)
	}
	vaultRefClients.Lock()
	v := vaultRefClients.m[s]
	vaultRefClients.Unlock()
	if v == nil {
		var err error
		if v, err = openVault(s, vaultOptions{}); err != nil {
			return "", err
		}
		vaultRefClients.Lock()
		vaultRefClients.m[s] = v
		vaultRefClients.Unlock()
	}
	val, err := v.ReadField(ctx, path, field)
	aerr := s.auditRemote(audit.SecretRead, v.Address(), "", []string{"vault:" + strings.Trim(path, "/") + "#" + field}, err)
	if aerr != nil && err != nil {
		aerr = fmt.Errorf("%w (and: %v)", err, aerr)
	} else if aerr == nil {
		aerr = err
	}
	if aerr != nil {
		if errors.Is(aerr, sync.ErrUnavailable) {
			return "", vaultHint(aerr)
		}
		return "", aerr
	}
	return val.Reveal(), nil
}
