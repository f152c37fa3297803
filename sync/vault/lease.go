package vault

import (
	"context"
	"fmt"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

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
	var sec *vaultapi.Secret
	var err error
	if body != nil {
		sec, err = v.client.Logical().WriteWithContext(ctx, path, body)
	} else {
		sec, err = v.client.Logical().ReadWithContext(ctx, path)
	}
	if err != nil {
		return nil, v.wrap("lease", path, err)
	}
	if sec == nil {
		return nil, fmt.Errorf("vault: lease %s: %w: nothing there", path, store.ErrNotFound)
	}
	if sec.LeaseID == "" {
		return nil, fmt.Errorf("vault: lease %s: the answer carries no lease (a static secret? use a vault:// reference for those)", path)
	}
	l := &sync.Lease{
		ID:        sec.LeaseID,
		Duration:  time.Duration(sec.LeaseDuration) * time.Second,
		Renewable: sec.Renewable,
		Fields:    make(map[string]store.Value, len(sec.Data)),
	}
	for k, x := range sec.Data {
		l.Fields[k] = store.Value(text(x))
	}
	return l, nil
}

// Renew extends a lease through sys/leases/renew.
func (v *Vault) Renew(ctx context.Context, leaseID string, increment time.Duration) (time.Duration, error) {
	if err := v.login(ctx); err != nil {
		return 0, err
	}
	s, err := v.client.Logical().WriteWithContext(ctx, "sys/leases/renew",
		map[string]any{"lease_id": leaseID, "increment": int(increment / time.Second)})
	if err != nil {
		return 0, v.wrap("renew lease", leaseName(leaseID), err)
	}
	if s == nil {
		return 0, fmt.Errorf("vault: renew lease %s: empty answer", leaseName(leaseID))
	}
	return time.Duration(s.LeaseDuration) * time.Second, nil
}

// Revoke ends a lease through sys/leases/revoke. Vault answers success
// for a lease that is already gone.
func (v *Vault) Revoke(ctx context.Context, leaseID string) error {
	if err := v.login(ctx); err != nil {
		return err
	}
	if _, err := v.client.Logical().WriteWithContext(ctx, "sys/leases/revoke", map[string]any{"lease_id": leaseID}); err != nil {
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
	s, err := v.client.Logical().ReadWithContext(ctx, full)
	if err != nil {
		return "", v.wrap("read", full, err)
	}
	if s == nil || s.Data == nil {
		return "", fmt.Errorf("vault: %s %w", path, store.ErrNotFound)
	}
	data := s.Data
	if kv == 2 {
		d, ok := s.Data["data"].(map[string]any)
		if !ok {
			return "", fmt.Errorf("vault: %s: %w", path, sync.ErrDeleted)
		}
		data = d
	}
	x, ok := data[field]
	if !ok {
		return "", fmt.Errorf("vault: %s has no field %q: %w", path, field, store.ErrNotFound)
	}
	return store.Value(text(x)), nil
}
