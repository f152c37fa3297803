// Package vault is hush's HashiCorp Vault backend: environments kept in a
// KV engine (version 1 or 2, found from the mount) in one of two layouts,
// logins with a token, AppRole (a response-wrapped secret id too), JWT,
// Kubernetes, userpass, LDAP, a TLS certificate or AWS IAM, dynamic secrets with
// leases, and least-privilege policies.
package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

// Vault is a sync.Backend on a Vault server.
type Vault struct {
	client  *client
	opts    Options
	address string
	mount   string
	tmpl    string
	layout  string

	loggedIn bool
	// ownToken is set when hush made the token itself by a login (AppRole,
	// JWT, Kubernetes): only such a token is revoked at the end, never a
	// user's VAULT_TOKEN or ~/.vault-token.
	ownToken bool
	kv       int // KV version of the mount, 0 until detected

	// transport is the HTTP transport under any wrapping, where a cert
	// login sets the client certificate.
	transport *http.Transport
	// logins keeps what a later login of the same process cannot get
	// again (Options.Logins, or this backend's own).
	logins *LoginCache

	// dyn holds the dynamic secrets read in this process, by path, so
	// vault://database/creds/app#username and #password are one
	// credential, not two.
	dynMu  gosync.Mutex
	dyn    map[string]*dynSecret
	leases []*sync.Lease
}

var (
	_ sync.Backend = (*Vault)(nil)
	_ sync.Leaser  = (*Vault)(nil)
)

// New prepares a backend. It does no I/O: the login and the detection of
// the KV version happen on first use.
func New(o Options) (*Vault, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	c, tr, err := newClient(&o)
	if err != nil {
		return nil, err
	}
	addr := o.address()
	if u, err := url.Parse(addr); err == nil && u.User != nil {
		addr = u.Redacted() // never show a password given in the URL
	}
	v := &Vault{client: c, transport: tr, opts: o, address: addr, mount: o.Mount, tmpl: o.Path, layout: o.Layout, logins: o.Logins}
	if v.logins == nil {
		v.logins = &LoginCache{}
	}
	if v.mount == "" {
		v.mount = "secret"
	}
	v.mount = strings.Trim(v.mount, "/")
	if v.tmpl == "" {
		v.tmpl = "{project}/{env}"
	}
	if v.layout == "" {
		v.layout = LayoutFields
	}
	if !cleanPath(v.mount) {
		return nil, fmt.Errorf("%w vault mount %q", store.ErrInvalid, o.Mount)
	}
	return v, nil
}

// Address is the server's address (not secret).
func (v *Vault) Address() string { return v.address }

// Layout is the layout in use.
func (v *Vault) Layout() string { return v.layout }

// Path is env's path inside the mount.
func (v *Vault) Path(env string) (string, error) {
	p := strings.NewReplacer("{project}", v.opts.Project, "PROJECT", v.opts.Project, "{env}", env).Replace(v.tmpl)
	p = strings.Trim(p, "/")
	if !cleanPath(p) {
		return "", fmt.Errorf("%w vault path %q (from template %q)", store.ErrInvalid, p, v.tmpl)
	}
	return p, nil
}

// Location names env's place in Vault: mount, path and server.
func (v *Vault) Location(env string) string {
	p, err := v.Path(env)
	if err != nil {
		p = "?"
	}
	return v.mount + "/" + p + " at " + v.address
}

// login obtains a token once, by the configured method.
func (v *Vault) login(ctx context.Context) error {
	if v.loggedIn {
		return nil
	}
	a := v.opts.Auth
	switch a.Method {
	case "", "token":
		tok := v.opts.getenv("VAULT_TOKEN")
		if tok == "" && v.opts.Home != "" {
			// The vault CLI's token helper keeps `vault login`'s token here.
			if b, err := store.ReadFileNoFollow(filepath.Join(v.opts.Home, ".vault-token"), 64<<10); err == nil {
				tok = strings.TrimSpace(string(b))
			}
		}
		if tok == "" {
			return fmt.Errorf("vault: no token: %w (VAULT_TOKEN is unset and there is no ~/.vault-token)", sync.ErrDenied)
		}
		v.client.SetToken(tok)
	case "approle":
		roleID := a.RoleID
		if roleID == "" {
			roleID = v.opts.getenv("VAULT_ROLE_ID")
		}
		if roleID == "" && a.RoleIDFile != "" {
			var err error
			if roleID, err = readCredential(a.RoleIDFile); err != nil {
				return err
			}
		}
		secretID := v.opts.getenv("VAULT_SECRET_ID")
		if secretID == "" && a.SecretIDFile != "" {
			var err error
			if secretID, err = readCredential(a.SecretIDFile); err != nil {
				return err
			}
		}
		if secretID == "" && roleID != "" {
			var err error
			if secretID, err = v.wrappedSecretID(ctx); err != nil {
				return err
			}
		}
		if roleID == "" || secretID == "" {
			return &opError{msg: "vault: approle login: " + sync.ErrDenied.Error() + " (set the role id with role_id, role_id_file or VAULT_ROLE_ID, and the secret id with secret_id_file or VAULT_SECRET_ID, or a wrapped one with wrapped_secret_id_file or VAULT_WRAPPED_SECRET_ID)",
				kind: sync.ErrDenied, method: "approle", login: true}
		}
		if err := v.loginWith(ctx, "approle", "login", map[string]any{"role_id": roleID, "secret_id": secretID}); err != nil {
			return err
		}
	case "jwt", "kubernetes":
		if a.Role == "" {
			return fmt.Errorf("%w vault %s login: set auth.role, and auth.token_file or auth.token_env, in hush.yaml", store.ErrInvalid, a.Method)
		}
		jwt, err := v.jwtToken(a.Method)
		if err != nil {
			return err
		}
		if err := v.loginWith(ctx, a.Method, "login", map[string]any{"role": a.Role, "jwt": jwt}); err != nil {
			return redactErr(err, jwt)
		}
	case "userpass", "ldap":
		if err := v.loginPassword(ctx, a.Method); err != nil {
			return err
		}
	case "cert":
		if err := v.loginCert(ctx); err != nil {
			return err
		}
	case "aws":
		if err := v.loginAWS(ctx); err != nil {
			return err
		}
	}
	v.loggedIn = true
	return nil
}

// loginWith logs in at auth/MOUNT/sub (sub: "login", or userpass's and
// LDAP's "login/USER").
func (v *Vault) loginWith(ctx context.Context, method, sub string, body map[string]any) error {
	path := "auth/" + v.mountOf(method) + "/" + sub
	s, err := v.client.write(ctx, path, body)
	if err != nil {
		werr := v.wrap("log in at", path, err)
		var oe *opError
		if errors.As(werr, &oe) {
			if oe.kind == nil {
				// Vault answers a bad role or secret id with 400: a
				// refusal of the credentials all the same.
				oe.kind = sync.ErrDenied
			}
			oe.login = true
		}
		return werr
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return fmt.Errorf("vault: log in at %s: %w (no token in the answer)", path, sync.ErrDenied)
	}
	v.client.SetToken(s.Auth.ClientToken)
	v.ownToken = true
	return nil
}

func readCredential(path string) (string, error) {
	b, err := store.ReadFileNoFollow(path, 64<<10)
	if err != nil {
		return "", fmt.Errorf("vault: read credential file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// KVVersion finds the KV version of the mount from
// sys/internal/ui/mounts, as the vault CLI does, once.
func (v *Vault) KVVersion(ctx context.Context) (int, error) {
	if v.kv != 0 {
		return v.kv, nil
	}
	if err := v.login(ctx); err != nil {
		return 0, err
	}
	_, ver, err := v.mountVersion(ctx, v.mount)
	if err != nil {
		return 0, err
	}
	v.kv = ver
	return ver, nil
}

// mountVersion finds the engine holding path (a mount, or any path
// inside one): its mount path and KV version, 1 or 2, or 0 for an engine
// that is not KV.
func (v *Vault) mountVersion(ctx context.Context, path string) (mount string, kv int, err error) {
	req := "sys/internal/ui/mounts/" + path
	s, err := v.client.read(ctx, req, nil)
	if err != nil {
		return "", 0, v.wrap("find the engine of", path, err)
	}
	if s == nil || s.Data == nil {
		return "", 0, fmt.Errorf("vault: %s: %w: no secrets engine is mounted there", path, sync.ErrNoEngine)
	}
	mount, _ = s.Data["path"].(string)
	mount = strings.Trim(mount, "/")
	if mount == "" {
		mount = path
	}
	if t, _ := s.Data["type"].(string); t != "kv" && t != "generic" {
		return mount, 0, nil
	}
	if opts, ok := s.Data["options"].(map[string]any); ok {
		if ver, _ := opts["version"].(string); ver == "2" {
			return mount, 2, nil
		}
	}
	return mount, 1, nil
}

// wrap turns a client error into a hush error naming the operation and
// path, classified by sentinel, and without the token or a value.
func (v *Vault) wrap(op, path string, err error) error {
	detail, kind := classify(err)
	if errors.Is(kind, sync.ErrUnavailable) && !errors.Is(kind, sync.ErrDenied) && strings.HasPrefix(detail, "cannot reach Vault") {
		detail = strings.Replace(detail, "cannot reach Vault", "cannot reach Vault at "+v.address, 1)
	}
	if strings.HasPrefix(detail, "no answer in time") {
		detail = fmt.Sprintf("no answer from Vault at %s within %s (VAULT_CLIENT_TIMEOUT sets the limit)", v.address, v.client.ClientTimeout())
	}
	msg := fmt.Sprintf("vault: %s %s: %s", op, path, detail)
	if tok := v.client.Token(); tok != "" {
		msg = strings.ReplaceAll(msg, tok, "[redacted]")
	}
	method := v.opts.Auth.Method
	if method == "" {
		method = "token"
	}
	return &opError{msg: msg, kind: kind, method: method}
}

type opError struct {
	msg  string
	kind error
	// method is the auth method in use, and login says the login itself
	// failed (rather than a request made with its token).
	method string
	login  bool
}

// Denial says, of an error that wraps sync.ErrDenied, which auth method
// was in use and whether the login itself was refused, so a hint can name
// what to check. ok is false for any other error.
func Denial(err error) (method string, login, ok bool) {
	var oe *opError
	if !errors.Is(err, sync.ErrDenied) || !errors.As(err, &oe) {
		return "", false, false
	}
	return oe.method, oe.login, true
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.kind }

// classify maps an error to a sentinel and a short description. Vault's
// own messages are kept (they name paths and reasons, never values); the
// request URL and headers are not.
func classify(err error) (detail string, kind error) {
	var re *apiError
	if errors.As(err, &re) {
		detail = fmt.Sprintf("HTTP %d", re.StatusCode)
		if len(re.Errors) > 0 && !re.RawError {
			detail += ": " + strings.Join(flatten(re.Errors), "; ")
		}
		switch {
		case re.StatusCode == 401 || re.StatusCode == 403:
			return detail, sync.ErrDenied
		case re.StatusCode == 429 || re.StatusCode >= 500:
			return detail + " (after retries)", sync.ErrUnavailable
		case re.StatusCode == 404:
			return detail, store.ErrNotFound
		case isCASMismatch(re):
			return "the secret changed since it was read (check-and-set)", sync.ErrConflict
		}
		return detail, nil
	}
	if errors.Is(err, context.Canceled) {
		return err.Error(), err
	}
	// A deadline is the client's timeout (VAULT_CLIENT_TIMEOUT) or a bound
	// hush set on a step (revocation at exit): either way the server did not
	// answer in time, which is the remote being unavailable.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return "no answer in time (VAULT_CLIENT_TIMEOUT sets the limit)", sync.ErrUnavailable
	}
	// Anything else from the HTTP client is the transport failing:
	// connection refused, reset, DNS, TLS.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "://") {
		msg = msg[i+2:] // drop "Get http://…/v1/…: " down to the cause
	}
	return "cannot reach Vault: " + msg, sync.ErrUnavailable
}

// flatten unpacks Vault's multi-line "2 errors occurred:\n\t* a\n\t* b"
// into its items.
func flatten(errs []string) []string {
	var out []string
	for _, e := range errs {
		if !strings.Contains(e, "\n") {
			out = append(out, strings.TrimSpace(e))
			continue
		}
		for _, line := range strings.Split(e, "\n") {
			if item, ok := strings.CutPrefix(strings.TrimSpace(line), "* "); ok {
				out = append(out, item)
			}
		}
	}
	return out
}

func isCASMismatch(re *apiError) bool {
	for _, e := range re.Errors {
		if strings.Contains(e, "check-and-set") {
			return true
		}
	}
	return false
}

func (o *Options) validate() error { return o.Config.validate() }
