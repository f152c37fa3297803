// Package vault is the rotation provider for credentials Vault owns:
// a database secrets engine's static role, whose password Vault changes
// in the database itself. hush asks Vault to rotate (POST
// MOUNT/rotate-role/ROLE), reads the new password (MOUNT/static-creds/
// ROLE) and stores it; verify reads it back from Vault. Vault replaces
// the password at once, so the old one stops working there and then:
// there is nothing to retire.
package vault

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// Settings are the vault provider's fields.
type Settings struct {
	// Mount is the database engine's mount (default database).
	Mount string `yaml:"mount"`
	// Role is the static role.
	Role string `yaml:"role"`
	// Format is what the key holds: password (default unless the stored
	// value is a URL) or url, a connection URL whose user and password
	// are replaced with the static role's.
	Format string `yaml:"format"`
}

// Provider asks Vault to rotate a static role.
type Provider struct {
	set  Settings
	name string
}

var _ rotate.Provider = (*Provider)(nil)

// New checks the settings.
func New(s rotate.Settings) (rotate.Provider, error) {
	p := &Provider{name: s.Name}
	if err := s.Decode(&p.set); err != nil {
		return nil, err
	}
	if p.set.Mount == "" {
		p.set.Mount = "database"
	}
	p.set.Mount = strings.Trim(p.set.Mount, "/")
	if p.set.Role == "" || strings.ContainsAny(p.set.Role, "/?#") || strings.Contains(p.set.Mount, "..") {
		return nil, fmt.Errorf("%w rotation.sources.%s: provider vault needs role: the database static role's name (and mount:, default database)", store.ErrInvalid, s.Name)
	}
	switch p.set.Format {
	case "", "password", "url":
	default:
		return nil, fmt.Errorf("%w rotation.sources.%s: format %q: use password or url", store.ErrInvalid, s.Name, p.set.Format)
	}
	return p, nil
}

// Plan describes the rotation.
func (p *Provider) Plan(*rotate.Request) string {
	return fmt.Sprintf("ask Vault to rotate %s/static-roles/%s (the old password stops working at once)", p.set.Mount, p.set.Role)
}

func (p *Provider) vault(req *rotate.Request) (rotate.Vault, error) {
	if req.Vault == nil {
		return nil, fmt.Errorf("%w: provider vault needs Vault: a vault: section in hush.yaml or VAULT_ADDR", rotate.ErrUnavailable)
	}
	return req.Vault, nil
}

// creds reads the static role's current credential.
func (p *Provider) creds(ctx context.Context, v rotate.Vault) (user, password string, err error) {
	data, err := v.Read(ctx, p.set.Mount+"/static-creds/"+p.set.Role)
	if err != nil {
		return "", "", err
	}
	user, _ = data["username"].(string)
	password, _ = data["password"].(string)
	if user == "" || password == "" {
		return "", "", errors.New("vault: static-creds answered without a username and password")
	}
	return user, password, nil
}

// Create rotates the role in Vault and reads the new password.
func (p *Provider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	v, err := p.vault(req)
	if err != nil {
		return nil, err
	}
	if _, err := v.Write(ctx, p.set.Mount+"/rotate-role/"+p.set.Role, nil); err != nil {
		return nil, err
	}
	user, pw, err := p.creds(ctx, v)
	if err != nil {
		return nil, err
	}
	res := &rotate.Result{Value: store.Value(pw), State: map[string]string{"user": user, "role": p.set.Role}}
	if u, ok := p.url(req.Old); ok {
		u.User = url.UserPassword(user, pw)
		res.Value = store.Value(u.String())
	} else if p.set.Format == "url" {
		return nil, fmt.Errorf("%w rotation.sources.%s: format url, but the stored value is not a URL to take the host from", store.ErrInvalid, p.name)
	}
	return res, nil
}

func (p *Provider) url(v store.Value) (*url.URL, bool) {
	if p.set.Format == "password" {
		return nil, false
	}
	u, err := url.Parse(v.Reveal())
	return u, err == nil && u.Scheme != "" && u.Host != ""
}

// Verify checks Vault still hands out the stored password.
func (p *Provider) Verify(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	v, err := p.vault(req)
	if err != nil {
		return err
	}
	_, pw, err := p.creds(ctx, v)
	if err != nil {
		return err
	}
	stored := res.Value.Reveal()
	if u, ok := p.url(res.Value); ok {
		stored, _ = u.User.Password()
	}
	if pw != stored {
		return errors.New("the static role in Vault has another password than the one stored (rotated again since?): rotate once more")
	}
	return nil
}

// Retire has nothing to do: Vault replaced the old password.
func (p *Provider) Retire(context.Context, *rotate.Request, *rotate.Result) error { return nil }
