package session

import (
	"context"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
)

// lazyVault is a rotation provider's Vault (rotate.Vault): opened from the
// pinned vault: settings on first use, so a provider that never asks
// Vault never needs it.
type lazyVault struct {
	s   *Session
	env string
	v   *vault.Vault
	err error
}

func (l *lazyVault) open() (*vault.Vault, error) {
	if l.v == nil && l.err == nil {
		l.v, l.err = l.s.OpenVault(VaultOptions{})
	}
	return l.v, l.err
}

func (l *lazyVault) Read(ctx context.Context, path string) (map[string]any, error) {
	v, err := l.open()
	if err != nil {
		return nil, err
	}
	return v.ReadPath(ctx, path)
}

func (l *lazyVault) Write(ctx context.Context, path string, data map[string]any) (map[string]any, error) {
	v, err := l.open()
	if err != nil {
		return nil, err
	}
	return v.WritePath(ctx, path, data)
}

func (l *lazyVault) Issue(ctx context.Context, path string) (string, error) {
	v, err := l.open()
	if err != nil {
		return "", err
	}
	lease, err := v.Lease(ctx, path, nil)
	if err != nil {
		return "", err
	}
	return lease.ID, nil
}

func (l *lazyVault) Revoke(ctx context.Context, leaseID string) error {
	v, err := l.open()
	if err != nil {
		return err
	}
	if err := v.Revoke(ctx, leaseID); err != nil {
		return err
	}
	// The lease is gone: a later read of its path within this command
	// must get a new credential, not the revoked one from the cache.
	v.Forget()
	return nil
}

func (l *lazyVault) Address() string {
	if v, err := l.open(); err == nil {
		return v.Address()
	}
	return ""
}

func (l *lazyVault) close() {
	if l != nil && l.v != nil {
		l.s.CloseVault(l.v)
	}
}

// envSyncs reports whether env syncs with Vault: hush.yaml has a vault:
// section and this user has pushed or pulled env before.
func (s *Session) envSyncs(p *store.Project, env string) bool {
	if p.Config.Extra["vault"] == nil {
		return false
	}
	return sync.NewState(p.PersonalDir(), "vault-state.json").Synced(env)
}
