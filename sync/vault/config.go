package vault

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-rootcerts"
	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/store"
)

// Layouts of an environment in KV.
const (
	// LayoutFields keeps one KV secret per environment whose fields are the
	// keys: a push is one write, checked against one version.
	LayoutFields = "fields"
	// LayoutTree keeps one KV secret per key, under the environment's path,
	// each with one field "value".
	LayoutTree = "tree"
)

// DefaultAddress is the vault CLI's default.
const DefaultAddress = "https://127.0.0.1:8200"

// Config is the `vault:` section of hush.yaml. It holds no secret: tokens
// and secret ids come from the environment or from files.
type Config struct {
	Address   string `yaml:"address,omitempty"`
	Namespace string `yaml:"namespace,omitempty"`
	// Mount is the KV engine's mount (default "secret").
	Mount string `yaml:"mount,omitempty"`
	// Path is the template of an environment's path inside the mount;
	// {project} and {env} are replaced (default "{project}/{env}").
	Path   string     `yaml:"path,omitempty"`
	Layout string     `yaml:"layout,omitempty"`
	Auth   AuthConfig `yaml:"auth,omitempty"`
}

// AuthConfig says how hush logs in to Vault. It names where secrets are
// (an environment variable, a file), never holds one: a password, a
// secret id, a JWT or a private key is never in hush.yaml.
type AuthConfig struct {
	// Method is token (the default), approle, jwt, kubernetes, userpass,
	// ldap, cert or aws.
	Method string `yaml:"method,omitempty"`
	// Mount is where the auth method is enabled (default: its name).
	Mount string `yaml:"mount,omitempty"`
	// Role is the jwt or kubernetes role, or the cert role (optional:
	// Vault then tries every role of the mount).
	Role string `yaml:"role,omitempty"`
	// RoleID (or RoleIDFile, or VAULT_ROLE_ID) and SecretIDFile (or
	// VAULT_SECRET_ID) are approle's credentials. WrappedSecretIDFile (or
	// VAULT_WRAPPED_SECRET_ID) is instead a response-wrapping token of a
	// secret id, unwrapped at login after checking what it wraps.
	RoleID              string `yaml:"role_id,omitempty"`
	RoleIDFile          string `yaml:"role_id_file,omitempty"`
	SecretIDFile        string `yaml:"secret_id_file,omitempty"`
	WrappedSecretIDFile string `yaml:"wrapped_secret_id_file,omitempty"`
	// TokenFile is the JWT for jwt (CI's OIDC token) or the service
	// account token for kubernetes (default: the in-cluster path);
	// TokenEnv names an environment variable holding it instead, as CI
	// systems hand out their OIDC tokens.
	TokenFile string `yaml:"token_file,omitempty"`
	TokenEnv  string `yaml:"token_env,omitempty"`
	// Username is the userpass or ldap user (default: VAULT_USERNAME).
	// The password comes from the variable PasswordEnv names (default
	// VAULT_PASSWORD), else PasswordFile (which only its owner may read),
	// else a prompt on the terminal.
	Username     string `yaml:"username,omitempty"`
	PasswordEnv  string `yaml:"password_env,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
	// ClientCertFile and ClientKeyFile are cert's TLS client certificate
	// and key, PEM (default: VAULT_CLIENT_CERT and VAULT_CLIENT_KEY).
	ClientCertFile string `yaml:"client_cert_file,omitempty"`
	ClientKeyFile  string `yaml:"client_key_file,omitempty"`
	// Region is the STS region aws signs for (default: the global
	// endpoint); IAMServerID is the X-Vault-AWS-IAM-Server-ID header's
	// value, when the aws mount requires one. The AWS credentials come
	// from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	Region      string `yaml:"region,omitempty"`
	IAMServerID string `yaml:"iam_server_id,omitempty"`
}

// Methods are the auth methods hush can log in with.
var Methods = []string{"token", "approle", "jwt", "kubernetes", "userpass", "ldap", "cert", "aws"}

// ParseConfig reads the `vault:` section kept in store.Config.Extra (nil:
// no section, all defaults). Unknown fields are an error, so a typo is not
// silently ignored.
func ParseConfig(section any) (Config, error) {
	var c Config
	if section == nil {
		return c, nil
	}
	b, err := yaml.Marshal(section)
	if err != nil {
		return c, fmt.Errorf("%w: .hush/hush.yaml: vault: %v", store.ErrIntegrity, err)
	}
	// A secret written into hush.yaml is refused by name, before the
	// unknown-field error would: it says where the secret goes instead.
	if m, ok := section.(map[string]any); ok {
		if auth, ok := m["auth"].(map[string]any); ok {
			for _, k := range []string{"password", "secret_id", "token", "jwt", "wrapped_secret_id", "client_key", "private_key", "aws_secret_access_key"} {
				if _, ok := auth[k]; ok {
					return c, fmt.Errorf("%w .hush/hush.yaml: vault.auth.%s: a secret is never kept in hush.yaml (it is committed): name an environment variable or a file instead (see hush vault --help)", store.ErrInvalid, k)
				}
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: .hush/hush.yaml: vault: %v", store.ErrIntegrity, err)
	}
	return c, c.validate()
}

// FileSetting is a setting of the vault: section that names a file hush
// reads: its name in hush.yaml (auth.token_file) and the field itself, so
// the caller can check the path and replace it with the resolved one.
type FileSetting struct {
	Name string
	Path *string
}

// Files lists every non-empty setting whose name ends in _file (and any
// such setting a later version adds: they are found by their yaml names,
// not listed by hand), so each can be checked before it is read.
func (c *Config) Files() []FileSetting {
	var out []FileSetting
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			f := v.Field(i)
			switch {
			case f.Kind() == reflect.Struct:
				walk(prefix+name+".", f)
			case f.Kind() == reflect.String && (strings.HasSuffix(name, "_file") || strings.HasSuffix(name, "_cert") || strings.HasSuffix(name, "_path")):
				if f.String() != "" {
					out = append(out, FileSetting{Name: "vault." + prefix + name, Path: f.Addr().Interface().(*string)})
				}
			}
		}
	}
	walk("", reflect.ValueOf(c).Elem())
	return out
}

func (c *Config) validate() error {
	switch c.Layout {
	case "", LayoutFields, LayoutTree:
	default:
		return fmt.Errorf("%w vault layout %q: use fields or tree", store.ErrInvalid, c.Layout)
	}
	if c.Auth.Method != "" && !slices.Contains(Methods, c.Auth.Method) {
		return fmt.Errorf("%w vault auth method %q: use %s or %s", store.ErrInvalid, c.Auth.Method,
			strings.Join(Methods[:len(Methods)-1], ", "), Methods[len(Methods)-1])
	}
	for _, e := range []struct{ name, v string }{{"password_env", c.Auth.PasswordEnv}, {"token_env", c.Auth.TokenEnv}} {
		if e.v != "" && !envName(e.v) {
			return fmt.Errorf("%w vault auth.%s %q: want the name of an environment variable", store.ErrInvalid, e.name, e.v)
		}
	}
	if c.Auth.Mount != "" && !cleanPath(strings.Trim(c.Auth.Mount, "/")) {
		return fmt.Errorf("%w vault auth.mount %q", store.ErrInvalid, c.Auth.Mount)
	}
	for _, r := range c.Auth.Region {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return fmt.Errorf("%w vault auth.region %q: want an AWS region such as eu-west-1", store.ErrInvalid, c.Auth.Region)
		}
	}
	if strings.ContainsAny(c.Auth.IAMServerID, "\r\n") {
		return fmt.Errorf("%w vault auth.iam_server_id: one line", store.ErrInvalid)
	}
	if c.Auth.Username != "" && strings.ContainsAny(c.Auth.Username, "/?#%\\ \t\n") {
		return fmt.Errorf("%w vault auth.username %q", store.ErrInvalid, c.Auth.Username)
	}
	if c.Mount != "" && !cleanPath(c.Mount) {
		return fmt.Errorf("%w vault mount %q", store.ErrInvalid, c.Mount)
	}
	return nil
}

// envName accepts an environment variable's name: letters, digits and
// underscores, not starting with a digit.
func envName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// cleanPath accepts a relative slash path without empty, "." or ".."
// segments, so a template cannot climb out of its mount.
func cleanPath(p string) bool {
	if p == "" {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "?#%\\ \t\n") {
			return false
		}
	}
	return true
}

// Options is everything New needs.
type Options struct {
	Config
	// Project is the hush project name, for the default path.
	Project string
	// AddressFlag is --address: it wins over VAULT_ADDR, which wins over
	// hush.yaml (a user's shell setting over the team's default).
	AddressFlag string
	// Getenv reads VAULT_ADDR and the other variables the vault CLI
	// honours; Home is where ~/.vault-token lives.
	Getenv func(string) string
	Home   string
	// WrapTransport, when set, wraps the HTTP transport (tests count or
	// break requests with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// UserAgent names hush and its version to the server (its audit
	// device logs it); empty keeps the Go client's.
	UserAgent string
	// Prompt asks the user for a password on the terminal, without echo
	// (userpass, ldap); nil, or an error, when there is no terminal.
	Prompt func(prompt string) (string, error)
	// Logins, when set, is shared by the backends of one process, so a
	// run that logs in again (--on-lease-end=restart) neither prompts
	// again nor needs a second wrapping token.
	Logins *LoginCache
	// RequestID, when set, is sent on every request as RequestIDHeader: the
	// command's correlation id, also in its local audit lines.
	RequestID string
	// MinRetryWait and MaxRetryWait bound the backoff between retries of
	// 429 and 5xx answers (0: the vault CLI's 1s and 1.5s).
	MinRetryWait, MaxRetryWait time.Duration
}

func (o *Options) getenv(k string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(k)
}

// address is, in order: --address, VAULT_ADDR, hush.yaml, the vault CLI's default.
func (o *Options) address() string {
	if o.AddressFlag != "" {
		return o.AddressFlag
	}
	if v := o.getenv("VAULT_ADDR"); v != "" {
		return v
	}
	if o.Address != "" {
		return o.Address
	}
	return DefaultAddress
}

// newClient builds the client from o alone: the process environment
// vaultapi would have read by itself is not, so a test's (or a user's)
// explicit settings are the ones used. It returns the HTTP transport under
// any wrapping too, where a cert login sets the client certificate.
func newClient(o *Options) (*client, *http.Transport, error) {
	timeout, err := clientTimeout(o.getenv("VAULT_CLIENT_TIMEOUT"))
	if err != nil {
		return nil, nil, err
	}
	tr := cleanhttp.DefaultPooledTransport()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	// The pooled transport keeps GOMAXPROCS+1 idle connections per host (3
	// on two cores): with more requests in flight than that (the tree
	// layout's pool), every request beyond it closed its connection after
	// use and the next one dialled anew. Keep one per worker.
	tr.MaxIdleConnsPerHost = workers
	hc := &http.Client{Transport: tr}
	// Redirects are followed by the client (send), once, never to http.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// The vault CLI's retries: 2, 1s to 1.5s apart (Retry-After honoured
	// on 429 and 503, jittered linear otherwise: retry.go).
	rt := retries{max: 2, min: o.MinRetryWait, top: o.MaxRetryWait}
	if rt.min == 0 {
		rt.min = time.Second
	}
	if rt.top == 0 {
		rt.top = 1500 * time.Millisecond
	}
	if v := o.getenv("VAULT_MAX_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("%w VAULT_MAX_RETRIES %q", store.ErrInvalid, v)
		}
		rt.max = n
	}
	tlsc := tlsSettings{
		CACert:        o.getenv("VAULT_CACERT"),
		CAPath:        o.getenv("VAULT_CAPATH"),
		ClientCert:    o.getenv("VAULT_CLIENT_CERT"),
		ClientKey:     o.getenv("VAULT_CLIENT_KEY"),
		TLSServerName: o.getenv("VAULT_TLS_SERVER_NAME"),
	}
	if v := o.getenv("VAULT_SKIP_VERIFY"); v != "" {
		skip, err := strconv.ParseBool(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%w VAULT_SKIP_VERIFY %q", store.ErrInvalid, v)
		}
		tlsc.Insecure = skip
	}
	if err := tlsc.configure(tr.TLSClientConfig); err != nil {
		return nil, nil, fmt.Errorf("vault: TLS settings: %w", err)
	}
	addr := o.address()
	u, err := url.Parse(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: %w", err)
	}
	if socket, ok := strings.CutPrefix(addr, "unix://"); ok {
		// A Vault agent's socket: HTTP to "localhost" over it.
		tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
			return net.Dial("unix", socket)
		}
		u.Scheme, u.Host, u.Path = "http", "localhost", ""
	}
	if o.WrapTransport != nil {
		hc.Transport = o.WrapTransport(hc.Transport)
	}
	c := &client{addr: *u, hc: hc, retries: rt, timeout: timeout, headers: http.Header{requestHeader: {"true"}}}
	if err := c.envHeaders(o.getenv("VAULT_HEADERS")); err != nil {
		return nil, nil, fmt.Errorf("vault: %w", err)
	}
	if o.UserAgent != "" {
		c.headers.Add("User-Agent", o.UserAgent)
	}
	if o.RequestID != "" {
		c.headers.Add(RequestIDHeader, o.RequestID)
	}
	ns := o.getenv("VAULT_NAMESPACE")
	if ns == "" {
		ns = o.Namespace
	}
	if ns != "" {
		c.headers.Set(namespaceHeader, ns)
	}
	return c, tr, nil
}

// envHeaders adds the headers of VAULT_HEADERS (a JSON object of strings),
// as the vault CLI does; X-Vault-* are its own and refused.
func (c *client) envHeaders(v string) error {
	if v == "" {
		return nil
	}
	var result map[string]any
	if err := json.Unmarshal([]byte(v), &result); err != nil {
		return errors.New("could not unmarshal environment-supplied headers")
	}
	var forbidden []string
	for key, value := range result {
		if strings.HasPrefix(key, "X-Vault-") {
			forbidden = append(forbidden, key)
			continue
		}
		value, ok := value.(string)
		if !ok {
			return errors.New("environment-supplied headers include non-string values")
		}
		c.headers.Add(key, value)
	}
	if len(forbidden) > 0 {
		return fmt.Errorf("failed to setup Headers[%s]: Header starting by 'X-Vault-' are for internal usage only", strings.Join(forbidden, ", "))
	}
	return nil
}

// tlsSettings are the TLS variables of the vault CLI.
type tlsSettings struct {
	CACert, CAPath, ClientCert, ClientKey, TLSServerName string
	Insecure                                             bool
}

// configure applies t to cfg as vaultapi's ConfigureTLS did: a client
// certificate presented whatever CAs the server names, the CA file or
// directory as the only roots, no verification if asked, a server name.
func (t tlsSettings) configure(cfg *tls.Config) error {
	var cert *tls.Certificate
	switch {
	case t.ClientCert != "" && t.ClientKey != "":
		pair, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return err
		}
		cert = &pair
	case t.ClientCert != "" || t.ClientKey != "":
		return errors.New("both client cert and client key must be provided")
	}
	if t.CACert != "" || t.CAPath != "" {
		if err := rootcerts.ConfigureTLS(cfg, &rootcerts.Config{CAFile: t.CACert, CAPath: t.CAPath}); err != nil {
			return err
		}
	}
	if t.Insecure {
		cfg.InsecureSkipVerify = true
	}
	if cert != nil {
		// Ignore the server's list of acceptable CAs: the cert auth
		// method's CA need not be among the server's.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	if t.TLSServerName != "" {
		cfg.ServerName = t.TLSServerName
	}
	return nil
}

// DefaultTimeout bounds each request, retries included, as the vault
// CLI's default does: a Vault that accepts connections and never answers
// fails the command instead of hanging it. Sixty seconds, not less, because
// the CLI's users already live with that figure and a slow but working
// server (a large tree push behind a busy storage backend) must not be cut
// short; VAULT_CLIENT_TIMEOUT shortens it.
const DefaultTimeout = 60 * time.Second

// clientTimeout reads VAULT_CLIENT_TIMEOUT as the vault CLI does: whole
// seconds ("4") or a Go duration ("4s", "1m30s").
func clientTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultTimeout, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%w VAULT_CLIENT_TIMEOUT %q: want seconds (30) or a duration (30s)", store.ErrInvalid, v)
}
