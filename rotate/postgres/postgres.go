// Package postgres is the rotation provider for PostgreSQL roles, with
// the driver github.com/jackc/pgx/v5.
//
// Two modes:
//
//   - password (default): ALTER ROLE role PASSWORD new. The old password
//     stops working for new logins at once (sessions already open stay
//     open: PostgreSQL checks a password at login only). Nothing to
//     retire.
//   - alternate: two login roles (roles: [app_blue, app_green]) that are
//     members of one group role owning the objects (group: app). Create
//     re-passwords (or creates) the idle one with LOGIN and grants it the
//     group; the store switches to it; retire sets the old one NOLOGIN
//     with no password, after the grace period. Clients that re-read the
//     credential never see a refused login: zero downtime.
//
// The password is never sent as text: hush computes its SCRAM-SHA-256
// verifier (as psql's \password does), so the server's statement log
// and pg_stat_statements see a verifier, not the password. Identifiers and
// literals are quoted by the server itself (format('%I', '%L')).
package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// Settings are the postgres provider's fields.
type Settings struct {
	// Admin names the secret (same environment) holding a connection URL
	// of a role allowed to change the roles (CREATEROLE or superuser).
	Admin string `yaml:"admin"`
	// Mode is password (default) or alternate.
	Mode string `yaml:"mode"`
	// Role is the role whose password changes (mode password; default:
	// the user of the stored URL).
	Role string `yaml:"role"`
	// Roles are the two login roles alternate switches between; Group
	// the role both are granted.
	Roles []string `yaml:"roles"`
	Group string   `yaml:"group"`
	// Format is what the key holds: url (a postgres:// URL whose user and
	// password are replaced) or password. Default: url when the stored
	// value is one, else password.
	Format string `yaml:"format"`
	// UserKey names another key of the environment that gets the active
	// role's name (for a password-format key in alternate mode).
	UserKey string `yaml:"user_key"`
}

// Provider rotates PostgreSQL role passwords.
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
	return p, p.check()
}

func (p *Provider) check() (err error) {
	p.set.Mode, err = rotate.Accounts{
		Admin: p.set.Admin, AdminWhat: "an admin connection URL", Mode: p.set.Mode,
		One: p.set.Role, OneField: "role",
		Two: p.set.Roles, TwoField: "roles", TwoWhat: "login roles",
		Group: p.set.Group, GroupField: "group", GroupWhat: "the role both login roles are granted (it owns the objects)",
		Format: p.set.Format, UserKey: p.set.UserKey,
	}.Check(p.name, "postgres")
	return err
}

// Plan describes the rotation.
func (p *Provider) Plan(req *rotate.Request) string {
	if p.set.Mode == "alternate" {
		return fmt.Sprintf("alternate login roles %s and %s (members of %s): re-password the idle one, switch, then NOLOGIN the old after %s",
			p.set.Roles[0], p.set.Roles[1], p.set.Group, req.Settings.Grace)
	}
	role := p.set.Role
	if role == "" {
		role = "the stored URL's user"
	}
	return "ALTER ROLE " + role + " PASSWORD (the old password stops working at once)"
}

// target is what the stored value says: its URL (nil for a bare
// password) and user.
func (p *Provider) target(old store.Value) (*url.URL, string) {
	if p.set.Format == "password" {
		return nil, ""
	}
	u, err := url.Parse(old.Reveal())
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, ""
	}
	return u, u.User.Username()
}

// admin connects with the admin secret.
func (p *Provider) admin(ctx context.Context, req *rotate.Request) (*pgx.Conn, *url.URL, error) {
	v, err := req.Secret(p.set.Admin)
	if err != nil {
		return nil, nil, fmt.Errorf("admin credential %s: %w", p.set.Admin, err)
	}
	u, err := url.Parse(v.Reveal())
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, nil, fmt.Errorf("%w: admin credential %s is not a postgres:// URL", store.ErrInvalid, p.set.Admin)
	}
	c, err := connect(ctx, u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("admin login (%s): %w", p.set.Admin, err)
	}
	return c, u, nil
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres: %s", rotate.ErrUnavailable, scrub(err))
	}
	return c, nil
}

// scrub keeps a driver error free of the connection string.
func scrub(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Severity + ": " + pe.Message + " (SQLSTATE " + pe.Code + ")"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return "cannot connect: " + errors.Unwrap(ce).Error()
	}
	return err.Error()
}

// exec runs a statement the server itself quotes: format's %I and %L
// get args.
func exec(ctx context.Context, c *pgx.Conn, format string, args ...any) error {
	var stmt string
	q := "SELECT format($1::text"
	for i := range args {
		q += fmt.Sprintf(", $%d::text", i+2)
	}
	if err := c.QueryRow(ctx, q+")", append([]any{format}, args...)...).Scan(&stmt); err != nil {
		return fmt.Errorf("postgres: %s", scrub(err))
	}
	if _, err := c.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("postgres: %s", scrub(err))
	}
	return nil
}

// Create sets the new password.
func (p *Provider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	c, adminURL, err := p.admin(ctx, req)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	u, user := p.target(req.Old)
	verifier, err := scramVerifier(req.Proposed.Reveal())
	if err != nil {
		return nil, err
	}
	res := &rotate.Result{State: map[string]string{"mode": p.set.Mode}}
	var role string
	switch p.set.Mode {
	case "password":
		role = p.set.Role
		if role == "" {
			role = user
		}
		if role == "" {
			return nil, fmt.Errorf("%w rotation.sources.%s: no role: set role:, or store a postgres:// URL naming the user", store.ErrInvalid, p.name)
		}
		if err := exec(ctx, c, "ALTER ROLE %I WITH PASSWORD %L", role, verifier); err != nil {
			return nil, err
		}
	case "alternate":
		active := user
		if active == "" && p.set.UserKey != "" {
			if v, err := req.Secret(p.set.UserKey); err == nil {
				active = v.Reveal()
			}
		}
		role = p.set.Roles[0]
		if active == p.set.Roles[0] {
			role = p.set.Roles[1]
		}
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
			return nil, fmt.Errorf("postgres: %s", scrub(err))
		}
		if exists {
			err = exec(ctx, c, "ALTER ROLE %I WITH LOGIN INHERIT PASSWORD %L", role, verifier)
		} else {
			err = exec(ctx, c, "CREATE ROLE %I WITH LOGIN INHERIT PASSWORD %L", role, verifier)
		}
		if err != nil {
			return nil, err
		}
		if err := exec(ctx, c, "GRANT %I TO %I", p.set.Group, role); err != nil {
			return nil, err
		}
		res.OldValid = true
		res.State["active"], res.State["previous"] = role, active
		if p.set.UserKey != "" {
			res.Also = map[string]store.Value{p.set.UserKey: store.Value(role)}
		}
	}
	res.State["role"] = role
	res.Value = req.Proposed
	if u != nil || (p.set.Format == "url" && req.Old == "") {
		base := u
		if base == nil {
			cp := *adminURL
			base = &cp
		}
		nu := *base
		nu.User = url.UserPassword(role, req.Proposed.Reveal())
		res.Value = store.Value(nu.String())
	}
	return res, nil
}

// Verify logs in with the new credential.
func (p *Provider) Verify(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	dsn := res.Value.Reveal()
	if u, _ := p.target(res.Value); u == nil {
		_, adminURL, err := p.adminURL(req)
		if err != nil {
			return err
		}
		adminURL.User = url.UserPassword(res.State["role"], res.Value.Reveal())
		dsn = adminURL.String()
	}
	c, err := connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("login with the new credential: %w", err)
	}
	defer c.Close(context.Background())
	var who string
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil {
		return fmt.Errorf("postgres: %s", scrub(err))
	}
	if who != res.State["role"] {
		return fmt.Errorf("logged in as %s, not %s", who, res.State["role"])
	}
	if p.set.Mode == "alternate" {
		var member bool
		if err := c.QueryRow(ctx, "SELECT pg_has_role(current_user, $1, 'USAGE')", p.set.Group).Scan(&member); err != nil {
			return fmt.Errorf("postgres: %s", scrub(err))
		}
		if !member {
			return fmt.Errorf("%s does not have the privileges of %s", who, p.set.Group)
		}
	}
	return nil
}

func (p *Provider) adminURL(req *rotate.Request) (string, *url.URL, error) {
	v, err := req.Secret(p.set.Admin)
	if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(v.Reveal())
	if err != nil {
		return "", nil, fmt.Errorf("%w: admin credential %s is not a postgres:// URL", store.ErrInvalid, p.set.Admin)
	}
	return v.Reveal(), u, nil
}

// Retire sets the previous role of alternate NOLOGIN without a password;
// password mode has nothing left to retire.
func (p *Provider) Retire(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	if p.set.Mode != "alternate" {
		return nil
	}
	prev := res.State["previous"]
	if prev != p.set.Roles[0] && prev != p.set.Roles[1] || prev == res.State["active"] {
		// The old credential was not one of the two roles (the first
		// rotation from a single role): leave that role as it is.
		if req.Logf != nil && prev != "" {
			req.Logf("the old role %s is not one of roles %v: left as it is; retire it yourself once no client uses it", prev, p.set.Roles)
		}
		return nil
	}
	c, _, err := p.admin(ctx, req)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return exec(ctx, c, "ALTER ROLE %I WITH NOLOGIN PASSWORD NULL", prev)
}

// scramVerifier is the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (RFC 5802, 7677; 4096 iterations, a 16-byte salt, as the
// server's own default). Values hush generates are ASCII, which SASLprep
// leaves as they are.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	const iter = 4096
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	b := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b(salt), b(stored[:]), b(serverKey)), nil
}
