package vault

import (
	"context"
	"fmt"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// ReadPath reads any path (database/static-creds/NAME) and returns the
// answer's data, for a rotation provider that asks Vault. A path with no
// secret is store.ErrNotFound.
func (v *Vault) ReadPath(ctx context.Context, path string) (map[string]any, error) {
	if err := v.login(ctx); err != nil {
		return nil, err
	}
	path = strings.Trim(path, "/")
	if !cleanPath(path) {
		return nil, fmt.Errorf("%w vault path %q", store.ErrInvalid, path)
	}
	sec, err := v.client.read(ctx, path, nil)
	if err != nil {
		return nil, v.wrap("read", path, err)
	}
	if sec == nil {
		return nil, fmt.Errorf("vault: read %s: %w", path, store.ErrNotFound)
	}
	return sec.Data, nil
}

// WritePath writes data to any path (database/rotate-role/NAME) and
// returns the answer's data (nil when Vault answered 204).
func (v *Vault) WritePath(ctx context.Context, path string, data map[string]any) (map[string]any, error) {
	if err := v.login(ctx); err != nil {
		return nil, err
	}
	path = strings.Trim(path, "/")
	if !cleanPath(path) {
		return nil, fmt.Errorf("%w vault path %q", store.ErrInvalid, path)
	}
	sec, err := v.client.write(ctx, path, data)
	if err != nil {
		return nil, v.wrap("write", path, err)
	}
	if sec == nil {
		return nil, nil
	}
	return sec.Data, nil
}
