// Package vault is the rotation provider for credentials Vault owns.
//
// A database secrets engine's static role (role: NAME): Vault changes the
// role's password in the database itself. hush asks Vault to rotate (POST
// MOUNT/rotate-role/ROLE), reads the new password (MOUNT/static-creds/
// ROLE) and stores it; verify reads it back from Vault.
//
// A connection's root credential (root: CONNECTION): the account Vault
// itself logs in with. hush asks Vault to rotate it (POST
// MOUNT/rotate-root/CONNECTION); from then on only Vault knows it, which
// is the point. The key in the store held the old root credential (it is
// how a team usually hands it to Vault), which is now dead: hush replaces
// it with a note saying who holds the credential and since when, so the
// key's rotate_every keeps the cadence and nobody mistakes the stale
// value for a working one. Verify makes Vault reconnect with what it now
// holds (MOUNT/reset/CONNECTION, which re-initialises the connection and
// checks it) and, with verify_role, has it issue and revoke a credential
// through it: a root rotation Vault itself cannot use fails there, not in
// the next deployment.
//
// Vault replaces the password at once in both cases, so the old one stops
// working there and then: there is nothing to retire.
package vault

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// Settings are the vault provider's fields.
type Settings struct {
	// Mount is the database engine's mount (default database).
	Mount string `yaml:"mount"`
	// Role is the static role.
	Role string `yaml:"role"`
	// Root is a connection (MOUNT/config/ROOT) whose root credential
	// Vault rotates; exclusive with Role.
	Root string `yaml:"root"`
	// VerifyRole is a dynamic role on Root's connection: verify has Vault
	// issue a credential for it (and revokes it at once).
	VerifyRole string `yaml:"verify_role"`
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
	// A name is one path segment: "../sys/..." or "x?y" would make hush
	// write somewhere else than the settings say.
	bad := func(n string) bool { return strings.ContainsAny(n, "/?#%\\") || n == "." || n == ".." }
	switch {
	case strings.Contains(p.set.Mount, "..") || strings.ContainsAny(p.set.Mount, "?#%"):
		return nil, fmt.Errorf("%w rotation.sources.%s: mount %q is not a mount path", store.ErrInvalid, s.Name, p.set.Mount)
	case p.set.Role != "" && p.set.Root != "":
		return nil, fmt.Errorf("%w rotation.sources.%s: provider vault takes role: (a static role) or root: (a connection's root credential), not both", store.ErrInvalid, s.Name)
	case p.set.Role == "" && p.set.Root == "":
		return nil, fmt.Errorf("%w rotation.sources.%s: provider vault needs role: the database static role's name, or root: a connection whose root credential Vault rotates (and mount:, default database)", store.ErrInvalid, s.Name)
	case bad(p.set.Role) || bad(p.set.Root) || bad(p.set.VerifyRole):
		return nil, fmt.Errorf("%w rotation.sources.%s: role, root and verify_role are names, not paths", store.ErrInvalid, s.Name)
	case p.set.VerifyRole != "" && p.set.Root == "":
		return nil, fmt.Errorf("%w rotation.sources.%s: verify_role goes with root (a connection), not role", store.ErrInvalid, s.Name)
	case p.set.Root != "" && p.set.Format != "":
		return nil, fmt.Errorf("%w rotation.sources.%s: format does not apply to root: hush never holds the new root credential", store.ErrInvalid, s.Name)
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
	if p.set.Root != "" {
		return fmt.Sprintf("ask Vault to rotate the root credential of %s/config/%s (only Vault will know it; the stored value becomes a note)", p.set.Mount, p.set.Root)
	}
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
	if p.set.Root != "" {
		return p.createRoot(ctx, req, v)
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
	if p.set.Root != "" {
		return p.verifyRoot(ctx, req, v)
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

// rootNote is what the key holds once Vault alone knows the root
// credential: no secret, and nothing a client could mistake for one.
func (p *Provider) rootNote(at time.Time, addr string) store.Value {
	return store.Value(fmt.Sprintf("held by Vault only: %s/config/%s rotated by %s/rotate-root/%s at %s (Vault %s)",
		p.set.Mount, p.set.Root, p.set.Mount, p.set.Root, at.UTC().Format(time.RFC3339), addr))
}

// createRoot asks Vault to rotate a connection's root credential. A rerun
// rotates again, which supersedes the lost attempt: Vault keeps only the
// newest, and hush never held either.
func (p *Provider) createRoot(ctx context.Context, req *rotate.Request, v rotate.Vault) (*rotate.Result, error) {
	// Read the connection first: a name that is not a connection fails
	// here with Vault's own answer, before anything is rotated.
	if _, err := v.Read(ctx, p.set.Mount+"/config/"+p.set.Root); err != nil {
		return nil, err
	}
	if _, err := v.Write(ctx, p.set.Mount+"/rotate-root/"+p.set.Root, nil); err != nil {
		return nil, err
	}
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	return &rotate.Result{
		Value: p.rootNote(now(), v.Address()),
		State: map[string]string{"connection": p.set.Mount + "/config/" + p.set.Root},
	}, nil
}

// verifyRoot has Vault reconnect with the root credential it now holds
// and, with verify_role, issue and revoke a credential through it. It
// changes nothing but Vault's open connections.
func (p *Provider) verifyRoot(ctx context.Context, req *rotate.Request, v rotate.Vault) error {
	if _, err := v.Write(ctx, p.set.Mount+"/reset/"+p.set.Root, nil); err != nil {
		return fmt.Errorf("vault could not reconnect to %s/config/%s with its rotated root credential: %w", p.set.Mount, p.set.Root, err)
	}
	if p.set.VerifyRole == "" {
		return nil
	}
	lease, err := v.Issue(ctx, p.set.Mount+"/creds/"+p.set.VerifyRole)
	if err != nil {
		return fmt.Errorf("vault could not issue a %s credential through its rotated root credential: %w", p.set.VerifyRole, err)
	}
	if err := v.Revoke(ctx, lease); err != nil && req.Logf != nil {
		req.Logf("the verification credential's lease %s was not revoked (%v): it ends at its TTL", lease, err)
	}
	return nil
}
