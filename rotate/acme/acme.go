// Package acme is the rotation provider for TLS certificates from an ACME
// CA (Let's Encrypt, a private step-ca, pebble in tests): Create makes a new
// private key, orders a certificate for the configured names, answers the
// CA's HTTP-01 challenges, finalizes and fetches the chain; Verify checks
// the stored chain against the CA's root, the key and the names; Retire
// optionally revokes the certificate it replaced.
//
// The rotated key holds the chain (leaf first, PEM); the private key (PKCS
// #8 PEM) goes in a second key of the same change, and so does the ACME
// account key when hush mints it. No key is ever written to disk in
// plaintext: they live in the store like every other secret, and reach a
// server through `hush run --file`.
//
// Renewal is due at two thirds of the certificate's actual life, counted
// from its NotBefore to its NotAfter, as Let's Encrypt advises: Create
// returns that as the key's rotate_every, less the time between NotBefore
// and now, so the store's clock (rotated + rotate_every) lands on the same
// instant.
package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	xacme "golang.org/x/crypto/acme"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// config is the provider's part of a rotation.sources entry.
type config struct {
	// Directory is the CA's ACME directory URL (https only).
	Directory string `yaml:"directory"`
	// Domains are the names the certificate is for; the first is its
	// common name.
	Domains []string `yaml:"domains"`
	// Contact are the account's contact URLs (mailto:…).
	Contact []string `yaml:"contact"`
	// AgreeTOS agrees to the CA's terms of service when hush registers
	// the account; required when the CA has terms.
	AgreeTOS bool `yaml:"agree_tos"`
	// Key is the secret that holds the certificate's private key
	// (default: the rotated key with _CERT replaced by _KEY, or _KEY
	// appended).
	Key string `yaml:"key"`
	// AccountKey is the secret that holds the ACME account's key
	// (default ACME_ACCOUNT_KEY); minted and registered when missing.
	AccountKey string `yaml:"account_key"`
	// KeyType is the certificate key's algorithm.
	KeyType string `yaml:"key_type"`
	// Challenge is the challenge type; http-01 is the one supported.
	Challenge string `yaml:"challenge"`
	// HTTPListen is where hush serves HTTP-01 responses while the CA
	// validates (default :80); a proxy in front may forward
	// /.well-known/acme-challenge/ to it.
	HTTPListen string `yaml:"http_listen"`
	// Webroot, instead, is the document root of the web server already
	// serving the names: hush writes the responses under
	// .well-known/acme-challenge/ there and removes them afterwards.
	Webroot string `yaml:"webroot"`
	// Profile is the CA's issuance profile, when it offers several.
	Profile string `yaml:"profile"`
	// EABKeyID and EABHMACKey bind a new account to an account at the
	// CA (ZeroSSL, Google, a private CA). EABHMACKey names the secret
	// that holds the base64url HMAC key: never the key itself.
	EABKeyID   string `yaml:"eab_kid"`
	EABHMACKey string `yaml:"eab_hmac_key"`
	// DirectoryRoots is a PEM file of roots trusted for the CA's HTTPS
	// endpoint instead of the system's (a private CA); Roots the roots
	// the issued chain must verify against (default: the system's).
	DirectoryRoots string `yaml:"directory_roots"`
	Roots          string `yaml:"roots"`
	// RevokeOld revokes the replaced certificate at retire, after the
	// grace period. Off by default: a certificate still served somewhere
	// (a server not restarted yet, a second host) breaks when revoked.
	RevokeOld bool `yaml:"revoke_old"`
}

// Provider issues certificates from one ACME CA.
type Provider struct {
	cfg  config
	name string // the rotation.sources entry, for messages
}

var (
	_ rotate.Provider  = (*Provider)(nil)
	_ rotate.Planner   = (*Provider)(nil)
	_ rotate.Preflight = (*Provider)(nil)
)

var keyTypes = map[string]bool{"ecdsa-p256": true, "ecdsa-p384": true, "rsa-2048": true, "rsa-3072": true, "rsa-4096": true}

// validDNSName says whether d is a host name: dot-separated labels of 1
// to 63 letters, digits and hyphens, none starting or ending with a
// hyphen; no empty label, so no leading or trailing dot. It is the regular
// expression
//
//	^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$
//
// written out (TestValidDNSName holds the two to the same answers): the
// compiled expression, its {0,61} unrolled twice, cost every hush command
// about 0.4 ms of package initialisation, this package being linked into
// the one binary.
func validDNSName(d string) bool {
	for {
		label, rest, more := strings.Cut(d, ".")
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
		if !more {
			return true
		}
		d = rest
	}
}

// New checks an acme entry of rotation.sources.
func New(s rotate.Settings) (rotate.Provider, error) {
	var c config
	if err := s.Decode(&c); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: rotation.sources.%s (provider acme): %s", store.ErrInvalid, s.Name, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(c.Directory)
	if c.Directory == "" {
		return nil, bad("no directory (the CA's ACME directory URL, like https://acme-v02.api.letsencrypt.org/directory)")
	}
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, bad("directory %q: want an https:// URL without credentials", c.Directory)
	}
	if len(c.Domains) == 0 {
		return nil, bad("no domains (the names the certificate is for)")
	}
	seen := map[string]bool{}
	for _, d := range c.Domains {
		if net.ParseIP(d) != nil {
			return nil, bad("domain %q is an IP address: give a DNS name", d)
		}
		if strings.HasPrefix(d, "*.") {
			return nil, bad("domain %q is a wildcard: CAs validate those with dns-01, which hush does not answer", d)
		}
		if len(d) > 253 || !validDNSName(d) {
			return nil, bad("domain %q is not a DNS name", d)
		}
		if seen[strings.ToLower(d)] {
			return nil, bad("domain %q is listed twice", d)
		}
		seen[strings.ToLower(d)] = true
	}
	for _, ct := range c.Contact {
		if !strings.HasPrefix(ct, "mailto:") || strings.ContainsAny(ct, " \t\r\n,") {
			return nil, bad("contact %q: want mailto:ADDRESS", ct)
		}
	}
	switch c.Challenge {
	case "", "http-01":
		c.Challenge = "http-01"
	default:
		return nil, bad("challenge %q: hush answers http-01 (serving the response on http_listen)", c.Challenge)
	}
	switch {
	case c.Webroot != "" && c.HTTPListen != "":
		return nil, bad("http_listen and webroot both set: hush answers HTTP-01 one way (its own listener, or files in the web server's root)")
	case c.Webroot != "":
		if strings.ContainsRune(c.Webroot, 0) {
			return nil, bad("webroot: not a path")
		}
	case c.HTTPListen == "":
		c.HTTPListen = ":80"
	}
	if c.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			return nil, bad("http_listen %q: want HOST:PORT or :PORT", c.HTTPListen)
		}
	}
	if c.KeyType == "" {
		c.KeyType = "ecdsa-p256"
	}
	if !keyTypes[c.KeyType] {
		return nil, bad("key_type %q: want ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096", c.KeyType)
	}
	key := s.Name[strings.LastIndex(s.Name, "/")+1:]
	if c.Key == "" {
		c.Key = defaultKeyName(key)
	}
	if c.AccountKey == "" {
		c.AccountKey = "ACME_ACCOUNT_KEY"
	}
	for _, n := range []struct{ field, name string }{{"key", c.Key}, {"account_key", c.AccountKey}, {"eab_hmac_key", c.EABHMACKey}} {
		if n.name == "" {
			continue
		}
		if err := store.ValidKeyName(n.name); err != nil {
			return nil, bad("%s: %v", n.field, err)
		}
		if n.name == key {
			return nil, bad("%s names %s, the key being rotated", n.field, key)
		}
	}
	if c.Key == c.AccountKey {
		return nil, bad("key and account_key both name %s", c.Key)
	}
	if (c.EABKeyID == "") != (c.EABHMACKey == "") {
		return nil, bad("external account binding needs both eab_kid and eab_hmac_key (the name of the secret holding the HMAC key)")
	}
	for _, f := range []struct{ field, path string }{{"roots", c.Roots}, {"directory_roots", c.DirectoryRoots}} {
		if strings.ContainsRune(f.path, 0) {
			return nil, bad("%s: not a path", f.field)
		}
	}
	return &Provider{cfg: c, name: s.Name}, nil
}

// defaultKeyName is where a certificate's private key goes when the
// settings do not say: TLS_CERT's in TLS_KEY, WEB_CERTIFICATE's in
// WEB_KEY, CHAIN's in CHAIN_KEY.
func defaultKeyName(key string) string {
	for _, suf := range []string{"_CERTIFICATE", "_CERT", "_CHAIN", "_CRT"} {
		if base, ok := strings.CutSuffix(key, suf); ok && base != "" {
			return base + "_KEY"
		}
	}
	return key + "_KEY"
}

// readRoots reads the PEM file of CA certificates a setting names,
// relative to the project's root dir; nil (the system's) when path is "".
// The file is only trusted, never sent anywhere, and may live outside the
// project (/etc/ssl/…): the setting is pinned like the rest of the source.
// A file that holds anything but certificates is refused, and the message
// never shows its content.
func (p *Provider) readRoots(field, path, dir string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	if !filepath.IsAbs(path) {
		if dir == "" {
			return nil, fmt.Errorf("rotation.sources.%s.%s: %q is relative and the project's root is unknown", p.name, field, path)
		}
		path = filepath.Join(dir, path)
	}
	b, err := readLimited(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("rotation.sources.%s.%s: %w", p.name, field, err)
	}
	certs, err := parseCerts(b)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("rotation.sources.%s.%s: %s holds no PEM certificate", p.name, field, path)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// Preflight reads the roots files the settings name and checks the
// webroot is a directory, so a missing or malformed one refuses the
// rotation before its journal is written.
func (p *Provider) Preflight(req *rotate.Request) error {
	if _, err := p.readRoots("roots", p.cfg.Roots, req.Dir); err != nil {
		return err
	}
	if _, err := p.readRoots("directory_roots", p.cfg.DirectoryRoots, req.Dir); err != nil {
		return err
	}
	if p.cfg.Webroot != "" {
		w, err := p.answerer(req.Dir)
		if err != nil {
			return err
		}
		w.close()
	}
	return nil
}

// Plan is the dry run's line.
func (p *Provider) Plan(req *rotate.Request) string {
	where := "on " + p.cfg.HTTPListen
	if p.cfg.Webroot != "" {
		where = "in " + p.cfg.Webroot
	}
	return fmt.Sprintf("order a certificate for %s from %s (http-01 %s), new key in %s", strings.Join(p.cfg.Domains, ", "),
		p.cfg.Directory, where, p.cfg.Key)
}

// answerer opens where HTTP-01 responses go: the webroot (relative to
// the project's root dir), or hush's own listener.
func (p *Provider) answerer(dir string) (answerer, error) {
	if p.cfg.Webroot == "" {
		return listen(p.cfg.HTTPListen)
	}
	root := p.cfg.Webroot
	if !filepath.IsAbs(root) {
		if dir == "" {
			return nil, fmt.Errorf("rotation.sources.%s.webroot: %q is relative and the project's root is unknown", p.name, root)
		}
		root = filepath.Join(dir, root)
	}
	return openWebroot(root)
}

// Create issues a new certificate with a new key. A rerun after a crash
// issues another; the one it returns is the one stored.
func (p *Provider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	// The HTTP-01 port (or webroot) first: one hush cannot use fails the
	// rotation before it registers an account or opens an order at the CA.
	rs, err := p.answerer(req.Dir)
	if err != nil {
		return nil, err
	}
	defer rs.close()
	also := map[string]store.Value{}
	cl, err := p.client(ctx, req, also)
	if err != nil {
		return nil, err
	}
	key, err := newKey(p.cfg.KeyType)
	if err != nil {
		return nil, err
	}
	chain, err := cl.issue(ctx, p.cfg, key, rs, req.Logf)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	now := req.Now()
	// The same checks as Verify, before anything is stored: a CA that
	// handed back a chain for other names or another key is an error
	// here, and the old certificate stays.
	if err := p.check(chain, key.Public(), now, req.Dir); err != nil {
		return nil, err
	}
	also[p.cfg.Key] = store.Value(keyPEM)
	return &rotate.Result{
		Value:       store.Value(encodeChain(chain)),
		Also:        also,
		OldValid:    true,
		RotateEvery: RotateEvery(leaf, now),
		Types:       map[string]string{req.Key: "tls", p.cfg.Key: "tls"},
		State: map[string]string{
			"serial":     leaf.SerialNumber.Text(16),
			"not_before": leaf.NotBefore.UTC().Format(time.RFC3339),
			"not_after":  leaf.NotAfter.UTC().Format(time.RFC3339),
			"renew_at":   RenewAt(leaf).UTC().Format(time.RFC3339),
			"names":      strings.Join(p.cfg.Domains, ","),
		},
	}, nil
}

// Verify checks what the store now holds, read back from it: the chain
// is the one this rotation issued, verifies against the CA's root at now
// for every configured name, and carries the stored private key. It
// changes nothing.
func (p *Provider) Verify(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	cv, err := req.Secret(req.Key)
	if err != nil {
		return fmt.Errorf("acme: read back %s: %w", req.Key, err)
	}
	if cv != res.Value {
		return fmt.Errorf("acme: the store's %s is not the certificate this rotation issued", req.Key)
	}
	chain, err := parseCerts([]byte(cv.Reveal()))
	if err != nil || len(chain) == 0 {
		return fmt.Errorf("acme: the new %s holds no certificate", req.Key)
	}
	kv, err := req.Secret(p.cfg.Key)
	if err != nil {
		return fmt.Errorf("acme: read back the certificate's key %s: %w", p.cfg.Key, err)
	}
	key, err := parseKey([]byte(kv.Reveal()))
	if err != nil {
		return fmt.Errorf("acme: %s: %w", p.cfg.Key, err)
	}
	return p.check(chain, key.Public(), req.Now(), req.Dir)
}

// check is Verify's test of a chain and the public key it must carry.
func (p *Provider) check(chain []*x509.Certificate, pub crypto.PublicKey, now time.Time, dir string) error {
	roots, err := p.readRoots("roots", p.cfg.Roots, dir)
	if err != nil {
		return err
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, d := range p.cfg.Domains {
		opts.DNSName = d
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("acme: the certificate (serial %s) does not verify for %s: %w", leaf.SerialNumber.Text(16), d, err)
		}
	}
	if !samePublicKey(leaf.PublicKey, pub) {
		return fmt.Errorf("acme: the certificate (serial %s) is not for the stored private key %s", leaf.SerialNumber.Text(16), p.cfg.Key)
	}
	return nil
}

// Retire revokes the certificate the rotation replaced when revoke_old is
// set; otherwise it lets it expire. A certificate already revoked, or an
// old value that is no certificate (the first issue), is nothing to do.
func (p *Provider) Retire(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	if !p.cfg.RevokeOld || req.Old == "" {
		return nil
	}
	old, err := parseCerts([]byte(req.Old.Reveal()))
	if err != nil || len(old) == 0 {
		req.Logf("the old %s held no certificate: nothing to revoke", req.Key)
		return nil
	}
	if res != nil {
		if cur, err := parseCerts([]byte(res.Value.Reveal())); err == nil && len(cur) > 0 && cur[0].Equal(old[0]) {
			return nil
		}
	}
	if !req.Now().Before(old[0].NotAfter) {
		req.Logf("the old certificate (serial %s) has expired: nothing to revoke", old[0].SerialNumber.Text(16))
		return nil
	}
	cl, err := p.client(ctx, req, nil)
	if err != nil {
		return err
	}
	err = cl.c.RevokeCert(ctx, nil, old[0].Raw, xacme.CRLReasonSuperseded)
	var ae *xacme.Error
	if errors.As(err, &ae) && ae.ProblemType == "urn:ietf:params:acme:error:alreadyRevoked" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("acme: revoke the old certificate (serial %s): %w", old[0].SerialNumber.Text(16), err)
	}
	req.Logf("revoked the old certificate (serial %s)", old[0].SerialNumber.Text(16))
	return nil
}

// RenewAt is when a certificate is due for renewal: two thirds of the way
// from its NotBefore to its NotAfter.
func RenewAt(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotBefore.Add(life * 2 / 3)
}

// RotateEvery is the rotate_every that makes the store's due date (the
// rotation stamped at now, plus the period) fall at RenewAt or just
// before: whole hours, the store's finest unit, rounded down, at least 1h.
func RotateEvery(leaf *x509.Certificate, now time.Time) string {
	h := int64(RenewAt(leaf).Sub(now) / time.Hour)
	if h < 1 {
		h = 1
	}
	return fmt.Sprintf("%dh", h)
}

func newKey(typ string) (crypto.Signer, error) {
	switch typ {
	case "ecdsa-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa-2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "rsa-4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func encodeKey(k crypto.Signer) (string, error) {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})), nil
}

// parseKey reads a PEM private key (PKCS #8, or the older EC and PKCS #1
// forms a user may have stored by hand). Errors never show the key.
func parseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("holds no PEM private key")
		}
		var k any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("its %s block does not parse", blk.Type)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("its %s is not a signing key", blk.Type)
		}
		return s, nil
	}
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func encodeChain(chain []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range chain {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return b.String()
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// eabKey decodes an EAB HMAC key: base64url, padded or not, as CAs hand
// them out.
func eabKey(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil && len(b) > 0 {
		return b, nil
	}
	return nil, errors.New("is not a base64url HMAC key")
}
