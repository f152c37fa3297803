package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	gosync "sync"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

// The logins beyond token, file-based JWT and plain AppRole: userpass and
// LDAP with a password, TLS certificates, AppRole with a response-wrapped
// secret id, and a JWT from an environment variable. Each secret comes
// from the environment, a file or the terminal, never from hush.yaml or
// the command line, and is kept out of every error.

// LoginCache keeps, in memory only, what a login cannot get twice: a
// password the user typed (asked once per process, not while a child owns
// the terminal) and a secret id unwrapped from a one-time wrapping token.
// The zero value is ready.
type LoginCache struct {
	mu                  gosync.Mutex
	prompted, unwrapped map[string]string // by method, mount and user
}

func (c *LoginCache) get(m map[string]string, k string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[k]
}

func (c *LoginCache) set(m *map[string]string, k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *m == nil {
		*m = map[string]string{}
	}
	if v == "" {
		delete(*m, k)
		return
	}
	(*m)[k] = v
}

// loginError is a refused or impossible login of method: exit 8, with the
// hint for that method.
func loginError(method, format string, args ...any) error {
	return &opError{msg: "vault: " + method + " login: " + fmt.Sprintf(format, args...), kind: sync.ErrDenied, method: method, login: true}
}

// mountOf is where the configured method is enabled.
func (v *Vault) mountOf(method string) string {
	if m := strings.Trim(v.opts.Auth.Mount, "/"); m != "" {
		return m
	}
	return method
}

// username is the userpass or LDAP user: auth.username, else
// VAULT_USERNAME. It becomes a path segment, so it is checked as one.
func (v *Vault) username(method string) (string, error) {
	u := v.opts.Auth.Username
	if u == "" {
		u = v.opts.getenv("VAULT_USERNAME")
	}
	if u == "" {
		return "", loginError(method, "no username (set vault.auth.username in .hush/hush.yaml or VAULT_USERNAME)")
	}
	if u == "." || u == ".." || strings.ContainsAny(u, "/?#%\\ \t\r\n") {
		return "", fmt.Errorf("%w vault %s username %q", store.ErrInvalid, method, u)
	}
	return u, nil
}

// password is the userpass or LDAP password: the variable auth.password_env
// names (VAULT_PASSWORD by default), else auth.password_file, else a
// prompt on the terminal. A prompted password is kept in memory for a
// later login of the same run (the token's max TTL reached), so the user
// is not asked again while a child owns the terminal.
func (v *Vault) password(method, user string) (string, error) {
	a := v.opts.Auth
	name := a.PasswordEnv
	if name == "" {
		name = "VAULT_PASSWORD"
	}
	if p := v.opts.getenv(name); p != "" {
		return p, nil
	}
	if a.PasswordFile != "" {
		p, err := readPrivateCredential(a.PasswordFile)
		if err != nil {
			return "", err
		}
		if p == "" {
			return "", loginError(method, "vault.auth.password_file is empty")
		}
		return p, nil
	}
	key := v.address + " " + v.mountOf(method) + " " + user
	if p := v.logins.get(v.logins.prompted, key); p != "" {
		return p, nil
	}
	if v.opts.Prompt != nil {
		p, err := v.opts.Prompt(fmt.Sprintf("Vault %s password for %s: ", method, user))
		if err == nil && p != "" {
			v.logins.set(&v.logins.prompted, key, p)
			return p, nil
		}
	}
	return "", loginError(method, "no password (set %s, vault.auth.password_file in .hush/hush.yaml, or run hush on a terminal to be asked)", name)
}

// readPrivateCredential reads a credential file that only its owner may
// read or write (0600 or stricter), without following a symbolic link.
func readPrivateCredential(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|store.ONoFollow, 0)
	if err != nil {
		if store.IsSymlinkError(err) {
			return "", fmt.Errorf("vault: read credential file: %w: %s is a symlink; hush does not follow links for its files", store.ErrUnsafe, path)
		}
		return "", fmt.Errorf("vault: read credential file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("vault: read credential file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("vault: read credential file: %w: %s is not a regular file", store.ErrUnsafe, path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("vault: read credential file: %w: %s is readable or writable by others (mode %04o): chmod 600 it", store.ErrUnsafe, path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", fmt.Errorf("vault: read credential file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// loginPassword logs in to userpass or LDAP.
func (v *Vault) loginPassword(ctx context.Context, method string) error {
	user, err := v.username(method)
	if err != nil {
		return err
	}
	pw, err := v.password(method, user)
	if err != nil {
		return err
	}
	err = v.loginWith(ctx, method, "login/"+user, map[string]any{"password": pw})
	if err != nil && errors.Is(err, sync.ErrDenied) {
		// A refused password is not kept for the next try.
		v.logins.set(&v.logins.prompted, v.address+" "+v.mountOf(method)+" "+user, "")
	}
	return redactErr(err, pw)
}

// loginCert logs in with a TLS client certificate: the handshake carries
// it, and Vault matches it against the cert mount's roles (auth.role
// names one; none tries them all).
func (v *Vault) loginCert(ctx context.Context) error {
	a := v.opts.Auth
	certFile, keyFile := a.ClientCertFile, a.ClientKeyFile
	if certFile == "" {
		certFile = v.opts.getenv("VAULT_CLIENT_CERT")
	}
	if keyFile == "" {
		keyFile = v.opts.getenv("VAULT_CLIENT_KEY")
	}
	if certFile == "" || keyFile == "" {
		return loginError("cert", "no client certificate (set vault.auth.client_cert_file and client_key_file in .hush/hush.yaml, or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY)")
	}
	if v.transport == nil || v.transport.TLSClientConfig == nil {
		return loginError("cert", "this client cannot present a certificate")
	}
	certPEM, err := store.ReadFileNoFollow(certFile, 1<<20)
	if err != nil {
		return fmt.Errorf("vault: cert login: read the client certificate: %w", err)
	}
	keyPEM, err := readPrivateCredential(keyFile)
	if err != nil {
		return fmt.Errorf("vault: cert login: client key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, []byte(keyPEM))
	if err != nil {
		// crypto/tls's messages name the PEM blocks found, never their bytes.
		return fmt.Errorf("%w vault cert login: %s and %s are not a certificate and its key: %v", store.ErrInvalid, certFile, keyFile, err)
	}
	if !strings.HasPrefix(v.address, "https://") {
		return loginError("cert", "Vault at %s is not HTTPS: a certificate login needs TLS", v.address)
	}
	// Set before any connection exists (the login is the first request),
	// so every connection of the pool presents it.
	v.transport.TLSClientConfig.Certificates = []tls.Certificate{pair}
	v.transport.TLSClientConfig.GetClientCertificate = nil // VAULT_CLIENT_CERT's, when the config names others
	v.transport.CloseIdleConnections()
	body := map[string]any{}
	if a.Role != "" {
		body["name"] = a.Role
	}
	return v.loginWith(ctx, "cert", "login", body)
}

// jwtToken is the JWT of a jwt or kubernetes login: from the variable
// auth.token_env names, else auth.token_file (kubernetes: the in-cluster
// service account token by default).
func (v *Vault) jwtToken(method string) (string, error) {
	a := v.opts.Auth
	if a.TokenEnv != "" {
		if t := strings.TrimSpace(v.opts.getenv(a.TokenEnv)); t != "" {
			return t, nil
		}
		if a.TokenFile == "" {
			return "", loginError(method, "%s (vault.auth.token_env) is unset or empty", a.TokenEnv)
		}
	}
	file := a.TokenFile
	if file == "" && method == "kubernetes" {
		file = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	}
	if file == "" {
		return "", fmt.Errorf("%w vault %s login: set auth.token_file or auth.token_env in hush.yaml", store.ErrInvalid, method)
	}
	return readCredential(file)
}

// wrappedSecretID unwraps a response-wrapped AppRole secret id (from
// VAULT_WRAPPED_SECRET_ID or auth.wrapped_secret_id_file). The wrapping
// token is looked up first: only one made by the secret-id endpoint of
// the configured AppRole mount is used. One made for anything else — a
// secret the attacker wrapped and handed over, to learn whether it gets
// used, or to make hush log in with credentials they chose — is refused,
// and not unwrapped. The unwrapped secret id is kept in memory for a
// later login of the same run: a wrapping token works once.
func (v *Vault) wrappedSecretID(ctx context.Context) (string, error) {
	a := v.opts.Auth
	key := v.address + " " + v.mountOf("approle")
	if sid := v.logins.get(v.logins.unwrapped, key); sid != "" {
		return sid, nil
	}
	wt := strings.TrimSpace(v.opts.getenv("VAULT_WRAPPED_SECRET_ID"))
	if wt == "" && a.WrappedSecretIDFile != "" {
		var err error
		if wt, err = readCredential(a.WrappedSecretIDFile); err != nil {
			return "", err
		}
	}
	if wt == "" {
		return "", nil
	}
	mount := v.mountOf("approle")
	look, err := v.client.write(ctx, "sys/wrapping/lookup", map[string]any{"token": wt})
	if err != nil {
		return "", v.unwrapError("look up the wrapping token at sys/wrapping/lookup", err, wt)
	}
	var path string
	if look != nil {
		path, _ = look.Data["creation_path"].(string)
	}
	want := regexp.MustCompile(`^auth/` + regexp.QuoteMeta(mount) + `/role/[^/]+/secret-id$`)
	if !want.MatchString(path) {
		shown := path
		if shown == "" {
			shown = "(none)"
		}
		return "", loginError("approle", "the wrapping token was not made by auth/%s/role/NAME/secret-id but by %s: refused, not unwrapped (someone may have handed over another secret)", mount, shown)
	}
	// Unwrapping authenticates with the wrapping token itself; hush has no
	// token yet, so the client's is set for the call and cleared after.
	defer v.client.ClearToken()
	s, err := v.client.unwrap(ctx, wt)
	if err != nil {
		return "", v.unwrapError("unwrap at sys/wrapping/unwrap", err, wt)
	}
	var sid string
	if s != nil {
		sid, _ = s.Data["secret_id"].(string)
	}
	if sid == "" {
		return "", loginError("approle", "the wrapping token held no secret_id")
	}
	v.logins.set(&v.logins.unwrapped, key, sid)
	return sid, nil
}

// unwrapError says a wrapping token was refused: used already, expired or
// never valid, which Vault answers with 400. Vault's words are kept, the
// token is not.
func (v *Vault) unwrapError(op string, err error, wt string) error {
	detail, kind := classify(err)
	if kind == nil || errors.Is(kind, store.ErrNotFound) {
		kind = sync.ErrDenied
	}
	msg := "vault: approle login: " + op + ": " + detail
	if errors.Is(kind, sync.ErrDenied) {
		msg += " (a wrapping token works once and only within its TTL: ask for a new one)"
	}
	return &opError{msg: strings.ReplaceAll(msg, wt, "[redacted]"), kind: kind, method: "approle", login: errors.Is(kind, sync.ErrDenied)}
}

// redactErr takes secret out of err's text, should a server ever echo it.
func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	var oe *opError
	if errors.As(err, &oe) {
		c := *oe
		c.msg = strings.ReplaceAll(c.msg, secret, "[redacted]")
		return &c
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

// LoginSecretEnv names the variables that hold a person's login secret
// for c's method — a password, a one-use wrapping token — which hush run
// keeps from the child: a token is the program's to use (as envconsul
// hands it on), a person's directory password is not.
func LoginSecretEnv(c Config) []string {
	names := []string{"VAULT_PASSWORD", "VAULT_WRAPPED_SECRET_ID"}
	if c.Auth.PasswordEnv != "" {
		names = append(names, c.Auth.PasswordEnv)
	}
	return names
}
