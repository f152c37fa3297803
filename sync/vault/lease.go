package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

// Lease reads path (or writes params to it) and returns the dynamic
// secret it answers with, such as database/creds/app or, with a
// common_name, pki/issue/app.
func (v *Vault) Lease(ctx context.Context, path string, params map[string]string) (*sync.Lease, error) {
	if err := v.login(ctx); err != nil {
		return nil, err
	}
	path = strings.Trim(path, "/")
	if !cleanPath(path) {
		return nil, fmt.Errorf("%w vault lease path %q", store.ErrInvalid, path)
	}
	var body map[string]any
	if len(params) > 0 {
		body = make(map[string]any, len(params))
		for k, val := range params {
			body[k] = val
		}
	}
	d, err := v.dynamic(ctx, path, body)
	if err != nil {
		return nil, err
	}
	if d.lease == nil {
		return nil, fmt.Errorf("vault: lease %s: the answer carries no lease (a static secret? use a vault:// reference for those)", path)
	}
	return d.lease, nil
}

// Renew extends a lease through sys/leases/renew.
func (v *Vault) Renew(ctx context.Context, leaseID string, increment time.Duration) (time.Duration, error) {
	if err := v.login(ctx); err != nil {
		return 0, err
	}
	if leaseID == sync.TokenLeaseID {
		return v.renewSelf(ctx, increment)
	}
	s, err := v.client.write(ctx, "sys/leases/renew",
		map[string]any{"lease_id": leaseID, "increment": int(increment / time.Second)})
	if pastMaxTTL(err) {
		return 0, nil
	}
	if err != nil {
		return 0, v.wrap("renew lease", leaseName(leaseID), err)
	}
	if s == nil {
		return 0, fmt.Errorf("vault: renew lease %s: empty answer", leaseName(leaseID))
	}
	note(ctx, "sys/leases/renew", s)
	return time.Duration(s.LeaseDuration) * time.Second, nil
}

// pastMaxTTL says Vault refused a renewal because the lease (or token)
// is at its max TTL: in its last second or so, where another server
// would answer a TTL of zero, Vault answers HTTP 400 "past the max TTL,
// cannot renew" (the database engine does, seen with Vault 1.19). That is
// the lease's fixed end, which Renew reports as a zero duration, not a
// failure to retry.
func pastMaxTTL(err error) bool {
	var re *apiError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, e := range re.Errors {
		if strings.Contains(e, "past the max TTL") {
			return true
		}
	}
	return false
}

// Revoke ends a lease through sys/leases/revoke. Vault answers success
// for a lease that is already gone.
func (v *Vault) Revoke(ctx context.Context, leaseID string) error {
	if err := v.login(ctx); err != nil {
		return err
	}
	if leaseID == sync.TokenLeaseID {
		return v.revokeSelf(ctx)
	}
	if _, err := v.client.write(ctx, "sys/leases/revoke", map[string]any{"lease_id": leaseID}); err != nil {
		return v.wrap("revoke lease", leaseName(leaseID), err)
	}
	return nil
}

// leaseName is a lease id without its random suffix: the path it was
// issued for. A lease id is not a credential, but short messages read
// better.
func leaseName(id string) string {
	if i := strings.LastIndex(id, "/"); i > 0 {
		return id[:i]
	}
	return id
}

// ReadField reads one field of the secret at path, as a
// vault://path#field reference names it: the path's first segments are its
// engine's mount (found from the server). KV v2 data, KV v1 and other
// engines' answers are all read as they are meant to be.
func (v *Vault) ReadField(ctx context.Context, path, field string) (store.Value, error) {
	return v.ReadFieldWith(ctx, path, field, nil)
}

// ReadFieldWith is ReadField with a reference's parameters
// (vault://PATH?k=v#FIELD): for KV v2 only version=N, the version to read;
// for another engine the parameters are written to the path
// (pki/issue/app?common_name=a.example.com), and the answer is shared by
// every field read with the same path and parameters.
func (v *Vault) ReadFieldWith(ctx context.Context, path, field string, params map[string]string) (store.Value, error) {
	if err := v.login(ctx); err != nil {
		return "", err
	}
	path = strings.Trim(path, "/")
	if !cleanPath(path) || field == "" {
		return "", fmt.Errorf("%w vault reference vault://%s#%s", store.ErrInvalid, path, field)
	}
	mount, kv, err := v.mountVersion(ctx, path)
	if err != nil {
		return "", err
	}
	full := path
	if kv == 2 {
		rest := strings.TrimPrefix(strings.TrimPrefix(path, mount), "/")
		full = mount + "/data/" + rest
	}
	var data map[string]any
	if kv == 0 {
		// Another engine's answer may be a credential made for this read
		// (database/creds/app): read once, shared by every field.
		var body map[string]any
		if len(params) > 0 {
			body = make(map[string]any, len(params))
			for k, x := range params {
				body[k] = x
			}
		}
		d, err := v.dynamic(ctx, path, body)
		if err != nil {
			return "", err
		}
		data = d.data
	} else {
		var query map[string][]string
		version := ""
		for k, x := range params {
			n, err := strconv.Atoi(x)
			switch {
			case k != "version":
				return "", fmt.Errorf("%w vault reference vault://%s?%s=%s: a KV secret takes no parameter but ?version=N (KV v2)", store.ErrInvalid, path, k, x)
			case kv != 2:
				return "", fmt.Errorf("%w vault reference vault://%s?version=%s: %s is a KV version 1 mount, which keeps no versions; drop ?version=", store.ErrInvalid, path, x, mount)
			case err != nil || n < 1 || strconv.Itoa(n) != x:
				return "", fmt.Errorf("%w vault reference vault://%s?version=%s: want a version number, 1 or more", store.ErrInvalid, path, x)
			}
			query, version = map[string][]string{"version": {x}}, x
		}
		s, err := v.client.read(ctx, full, query)
		if err != nil {
			return "", v.wrap("read", full, err)
		}
		note(ctx, path, s)
		if s == nil || s.Data == nil {
			if version != "" {
				return "", fmt.Errorf("vault: %s has no version %s: %w", path, version, store.ErrNotFound)
			}
			return "", fmt.Errorf("vault: %s %w", path, store.ErrNotFound)
		}
		data = s.Data
		if kv == 2 {
			d, ok := data["data"].(map[string]any)
			if !ok {
				if version != "" {
					md, _ := data["metadata"].(map[string]any)
					if destroyed, _ := md["destroyed"].(bool); destroyed {
						return "", fmt.Errorf("vault: %s: version %s is destroyed: %w", path, version, store.ErrNotFound)
					}
					return "", fmt.Errorf("vault: %s: version %s is deleted (vault kv undelete -versions=%s brings it back): %w", path, version, version, store.ErrNotFound)
				}
				return "", fmt.Errorf("vault: %s: %w", path, sync.ErrDeleted)
			}
			data = d
		}
	}
	x, ok := data[field]
	if !ok {
		return "", fmt.Errorf("vault: %s has no field %q: %w", path, field, store.ErrNotFound)
	}
	return store.Value(text(x)), nil
}

// dynSecret is one answer of a dynamic engine, kept for the process.
type dynSecret struct {
	lease *sync.Lease // nil when the answer carries no lease
	data  map[string]any
	// requestID is Vault's id of the request that issued it.
	requestID string
}

// dynamic reads path (writing body when it is not nil) once per process
// and set of parameters: a second reference to the same path, for another
// field, gets the same credential.
func (v *Vault) dynamic(ctx context.Context, path string, body map[string]any) (*dynSecret, error) {
	key := path
	if len(body) > 0 {
		ks := make([]string, 0, len(body))
		for k := range body {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			key += "\x00" + k + "=" + fmt.Sprint(body[k])
		}
	}
	v.dynMu.Lock()
	defer v.dynMu.Unlock()
	if d, ok := v.dyn[key]; ok {
		noteID(ctx, path, d.requestID)
		return d, nil
	}
	var sec *Secret
	var err error
	if len(body) > 0 {
		sec, err = v.client.write(ctx, path, body)
	} else {
		sec, err = v.client.read(ctx, path, nil)
	}
	if err != nil {
		return nil, v.wrap("lease", path, err)
	}
	if sec == nil || sec.Data == nil {
		return nil, fmt.Errorf("vault: %s %w", path, store.ErrNotFound)
	}
	d := &dynSecret{data: sec.Data, requestID: sec.RequestID}
	note(ctx, path, sec)
	if sec.LeaseID != "" {
		d.lease = &sync.Lease{
			ID:        sec.LeaseID,
			Duration:  time.Duration(sec.LeaseDuration) * time.Second,
			Renewable: sec.Renewable,
			Fields:    make(map[string]store.Value, len(sec.Data)),
		}
		for k, x := range sec.Data {
			d.lease.Fields[k] = store.Value(text(x))
		}
		v.leases = append(v.leases, d.lease)
	}
	if v.dyn == nil {
		v.dyn = map[string]*dynSecret{}
	}
	v.dyn[key] = d
	return d, nil
}

// Leases are the leases this backend obtained so far, through Lease or a
// vault:// reference to a dynamic engine, each once, in the order issued.
// The caller owns them: it renews and revokes them (sync.Keep).
func (v *Vault) Leases() []*sync.Lease {
	v.dynMu.Lock()
	defer v.dynMu.Unlock()
	return append([]*sync.Lease(nil), v.leases...)
}

// Forget drops the dynamic secrets read so far, once their leases are
// revoked: a later reference reads a fresh credential.
func (v *Vault) Forget() {
	v.dynMu.Lock()
	defer v.dynMu.Unlock()
	v.dyn, v.leases = nil, nil
}
