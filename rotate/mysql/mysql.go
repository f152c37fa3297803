// Package mysql is the rotation provider for MySQL and MariaDB accounts
// (provider: mysql or mariadb), with github.com/go-sql-driver/mysql.
//
// Two modes, as for PostgreSQL:
//
//   - password (default): ALTER USER 'user'@'host' IDENTIFIED BY new. New
//     logins with the old password fail from then on; connections already
//     open stay open. Nothing to retire.
//   - alternate: two accounts (users: [app_blue, app_green]) granted one
//     role (grant_role: app_rw, made their default role). Create
//     re-passwords and unlocks the idle one (creating it when missing);
//     the store switches; retire locks the old (ACCOUNT LOCK) after the
//     grace period. Zero downtime for clients that re-read.
//
// Statements are sent with the driver's client-side interpolation
// (interpolateParams), which escapes literals as the server's
// NO_BACKSLASH_ESCAPES mode requires; role names are quoted as
// identifiers.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// Settings are the mysql provider's fields.
type Settings struct {
	// Admin names the secret with an administrator's mysql:// URL
	// (CREATE USER and GRANT OPTION for the role).
	Admin string `yaml:"admin"`
	Mode  string `yaml:"mode"`
	// User is the account of mode password (default: the stored URL's
	// user); Host its host part (default %).
	User string `yaml:"user"`
	Host string `yaml:"host"`
	// Users are alternate's two accounts, GrantRole the role both get.
	Users     []string `yaml:"users"`
	GrantRole string   `yaml:"grant_role"`
	// Format is url (mysql://user:password@host:port/db) or password;
	// default url when the stored value is one.
	Format string `yaml:"format"`
	// UserKey names another key that gets the active account's name.
	UserKey string `yaml:"user_key"`
}

// Provider rotates MySQL/MariaDB passwords.
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
	if p.set.Host == "" {
		p.set.Host = "%"
	}
	var err error
	p.set.Mode, err = rotate.Accounts{
		Admin: p.set.Admin, AdminWhat: "an administrator's mysql:// URL", Mode: p.set.Mode,
		One: p.set.User, OneField: "user",
		Two: p.set.Users, TwoField: "users", TwoWhat: "accounts",
		Group: p.set.GrantRole, GroupField: "grant_role", GroupWhat: "the role that holds the privileges both accounts get",
		Format: p.set.Format, UserKey: p.set.UserKey,
	}.Check(s.Name, s.Provider)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Plan describes the rotation.
func (p *Provider) Plan(req *rotate.Request) string {
	if p.set.Mode == "alternate" {
		return fmt.Sprintf("alternate accounts %s and %s (role %s): re-password the idle one, switch, then ACCOUNT LOCK the old after %s",
			p.set.Users[0], p.set.Users[1], p.set.GrantRole, req.Settings.Grace)
	}
	return "ALTER USER … IDENTIFIED BY (the old password stops working at once)"
}

func parseURL(v string) (*url.URL, bool) {
	u, err := url.Parse(v)
	return u, err == nil && (u.Scheme == "mysql" || u.Scheme == "mariadb") && u.Host != ""
}

// config is the driver's configuration for a mysql:// URL, with
// credentials user and password.
func config(u *url.URL, user, password string) (*mysql.Config, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	dsn := "tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/")
	if u.RawQuery != "" {
		dsn += "?" + u.RawQuery
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: mysql URL: %v", store.ErrInvalid, err)
	}
	cfg.User, cfg.Passwd, cfg.InterpolateParams = user, password, true
	return cfg, nil
}

func open(ctx context.Context, cfg *mysql.Config) (*sql.Conn, func(), error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(c)
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%w: mysql: %s", rotate.ErrUnavailable, scrub(err))
	}
	return conn, func() { conn.Close(); db.Close() }, nil
}

func scrub(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Sprintf("error %d: %s", me.Number, me.Message)
	}
	return err.Error()
}

func (p *Provider) admin(ctx context.Context, req *rotate.Request) (*sql.Conn, func(), *url.URL, error) {
	v, err := req.Secret(p.set.Admin)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("admin credential %s: %w", p.set.Admin, err)
	}
	u, ok := parseURL(v.Reveal())
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: admin credential %s is not a mysql:// URL", store.ErrInvalid, p.set.Admin)
	}
	pw, _ := u.User.Password()
	cfg, err := config(u, u.User.Username(), pw)
	if err != nil {
		return nil, nil, nil, err
	}
	c, done, err := open(ctx, cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("admin login (%s): %w", p.set.Admin, err)
	}
	return c, done, u, nil
}

func run(ctx context.Context, c *sql.Conn, q string, args ...any) error {
	if _, err := c.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("mysql: %s", scrub(err))
	}
	return nil
}

// ident quotes a role name as an identifier.
func ident(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (p *Provider) target(old store.Value) (*url.URL, string) {
	if p.set.Format == "password" {
		return nil, ""
	}
	u, ok := parseURL(old.Reveal())
	if !ok {
		return nil, ""
	}
	return u, u.User.Username()
}

// Create sets the new password.
func (p *Provider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	c, done, adminURL, err := p.admin(ctx, req)
	if err != nil {
		return nil, err
	}
	defer done()
	u, user := p.target(req.Old)
	pw := req.Proposed.Reveal()
	res := &rotate.Result{State: map[string]string{"mode": p.set.Mode}}
	var account string
	switch p.set.Mode {
	case "password":
		account = p.set.User
		if account == "" {
			account = user
		}
		if account == "" {
			return nil, fmt.Errorf("%w rotation.sources.%s: no user: set user:, or store a mysql:// URL naming it", store.ErrInvalid, p.name)
		}
		if err := run(ctx, c, "ALTER USER ?@? IDENTIFIED BY ?", account, p.set.Host, pw); err != nil {
			return nil, err
		}
	case "alternate":
		active := user
		if active == "" && p.set.UserKey != "" {
			if v, err := req.Secret(p.set.UserKey); err == nil {
				active = v.Reveal()
			}
		}
		account = p.set.Users[0]
		if active == account {
			account = p.set.Users[1]
		}
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", account, p.set.Host).Scan(&n); err != nil {
			return nil, fmt.Errorf("mysql: %s", scrub(err))
		}
		if n == 0 {
			err = run(ctx, c, "CREATE USER ?@? IDENTIFIED BY ?", account, p.set.Host, pw)
		} else {
			err = run(ctx, c, "ALTER USER ?@? IDENTIFIED BY ? ACCOUNT UNLOCK", account, p.set.Host, pw)
		}
		if err != nil {
			return nil, err
		}
		if err := run(ctx, c, "GRANT "+ident(p.set.GrantRole)+" TO ?@?", account, p.set.Host); err != nil {
			return nil, err
		}
		var version string
		if err := c.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
			return nil, fmt.Errorf("mysql: %s", scrub(err))
		}
		word := "TO" // MySQL 8
		if strings.Contains(version, "MariaDB") {
			word = "FOR"
		}
		if err := run(ctx, c, "SET DEFAULT ROLE "+ident(p.set.GrantRole)+" "+word+" ?@?", account, p.set.Host); err != nil {
			return nil, err
		}
		res.OldValid = true
		res.State["active"], res.State["previous"] = account, active
		if p.set.UserKey != "" {
			res.Also = map[string]store.Value{p.set.UserKey: store.Value(account)}
		}
	}
	res.State["user"] = account
	res.Value = req.Proposed
	if u != nil || (p.set.Format == "url" && req.Old == "") {
		base := u
		if base == nil {
			cp := *adminURL
			base = &cp
		}
		nu := *base
		nu.User = url.UserPassword(account, pw)
		res.Value = store.Value(nu.String())
	}
	return res, nil
}

// Verify logs in with the new credential (and, in alternate, checks the
// role is active).
func (p *Provider) Verify(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	pw := res.Value.Reveal()
	u, _ := p.target(res.Value)
	if u != nil {
		pw, _ = u.User.Password()
	} else {
		v, err := req.Secret(p.set.Admin)
		if err != nil {
			return err
		}
		var ok bool
		if u, ok = parseURL(v.Reveal()); !ok {
			return fmt.Errorf("%w: admin credential %s is not a mysql:// URL", store.ErrInvalid, p.set.Admin)
		}
	}
	cfg, err := config(u, res.State["user"], pw)
	if err != nil {
		return err
	}
	c, done, err := open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("login with the new credential: %w", err)
	}
	defer done()
	var who string
	if err := c.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&who); err != nil {
		return fmt.Errorf("mysql: %s", scrub(err))
	}
	if name, _, _ := strings.Cut(who, "@"); name != res.State["user"] {
		return fmt.Errorf("logged in as %s, not %s", who, res.State["user"])
	}
	if p.set.Mode == "alternate" {
		var role sql.NullString
		if err := c.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&role); err != nil {
			return fmt.Errorf("mysql: %s", scrub(err))
		}
		if !strings.Contains(role.String, p.set.GrantRole) {
			return fmt.Errorf("%s logs in without the role %s (current role %q)", who, p.set.GrantRole, role.String)
		}
	}
	return nil
}

// Retire locks alternate's previous account; password mode has nothing
// left to retire.
func (p *Provider) Retire(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	if p.set.Mode != "alternate" {
		return nil
	}
	prev := res.State["previous"]
	if prev != p.set.Users[0] && prev != p.set.Users[1] || prev == res.State["active"] {
		if req.Logf != nil && prev != "" {
			req.Logf("the old account %s is not one of users %v: left as it is; lock it yourself once no client uses it", prev, p.set.Users)
		}
		return nil
	}
	c, done, _, err := p.admin(ctx, req)
	if err != nil {
		return err
	}
	defer done()
	return run(ctx, c, "ALTER USER ?@? ACCOUNT LOCK", prev, p.set.Host)
}
