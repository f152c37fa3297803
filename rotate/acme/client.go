package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	gosync "sync"
	"time"

	xacme "golang.org/x/crypto/acme"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// client is an ACME client logged in with the account key.
type client struct {
	c *xacme.Client
}

// client opens the account: the account key from its secret, or, when the
// store has none and also is not nil (Create), a new key put in also to be
// stored with the certificate. The account is registered (agreeing to the
// terms when the settings do, binding it when EAB is set); an account that
// exists already is used as it is.
func (p *Provider) client(ctx context.Context, req *rotate.Request, also map[string]store.Value) (*client, error) {
	var key crypto.Signer
	v, err := req.Secret(p.cfg.AccountKey)
	switch {
	case err == nil:
		if key, err = parseKey([]byte(v.Reveal())); err != nil {
			return nil, fmt.Errorf("acme: the account key %s %w", p.cfg.AccountKey, err)
		}
	case errors.Is(err, store.ErrNotFound) && also != nil:
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
		pemKey, err := encodeKey(key)
		if err != nil {
			return nil, err
		}
		also[p.cfg.AccountKey] = store.Value(pemKey)
		req.Logf("no ACME account key in %s: registering a new account with %s", p.cfg.AccountKey, p.cfg.Directory)
	default:
		return nil, fmt.Errorf("acme: read the account key %s: %w", p.cfg.AccountKey, err)
	}
	dirRoots, err := p.readRoots("directory_roots", p.cfg.DirectoryRoots, req.Dir)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: dirRoots, MinVersion: tls.VersionTLS12}
	c := &xacme.Client{Key: key, DirectoryURL: p.cfg.Directory, UserAgent: "hush", HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	dir, err := c.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: acme: the directory %s: %w", rotate.ErrUnavailable, p.cfg.Directory, err)
	}
	acct := &xacme.Account{Contact: p.cfg.Contact}
	if p.cfg.EABKeyID != "" {
		hv, err := req.Secret(p.cfg.EABHMACKey)
		if err != nil {
			return nil, fmt.Errorf("acme: read the EAB HMAC key %s: %w", p.cfg.EABHMACKey, err)
		}
		hk, err := eabKey(hv.Reveal())
		if err != nil {
			return nil, fmt.Errorf("acme: the EAB HMAC key %s %w", p.cfg.EABHMACKey, err)
		}
		acct.ExternalAccountBinding = &xacme.ExternalAccountBinding{KID: p.cfg.EABKeyID, Key: hk}
	}
	if dir.Terms != "" && !p.cfg.AgreeTOS {
		return nil, fmt.Errorf("acme: %s has terms of service (%q): read them, then set agree_tos: true in rotation.sources.%s", p.cfg.Directory, dir.Terms, p.name)
	}
	_, err = c.Register(ctx, acct, func(string) bool { return p.cfg.AgreeTOS })
	if err != nil && !errors.Is(err, xacme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("acme: register the account at %s: %w", p.cfg.Directory, err)
	}
	return &client{c: c}, nil
}

// issue orders a certificate for cfg.Domains with key, answers the
// authorizations still pending with HTTP-01 through rs, finalizes,
// and returns the chain, leaf first.
func (cl *client) issue(ctx context.Context, cfg config, key crypto.Signer, rs answerer, logf func(string, ...any)) ([]*x509.Certificate, error) {
	var opts []xacme.OrderOption
	if cfg.Profile != "" {
		opts = append(opts, xacme.WithOrderIssuanceProfile(xacme.ProfileName(cfg.Profile)))
	}
	order, err := cl.c.AuthorizeOrder(ctx, xacme.DomainIDs(cfg.Domains...), opts...)
	if err != nil {
		return nil, fmt.Errorf("acme: order a certificate for %s: %w", strings.Join(cfg.Domains, ", "), err)
	}
	announced := false
	for _, zurl := range order.AuthzURLs {
		z, err := cl.c.GetAuthorization(ctx, zurl)
		if err != nil {
			return nil, fmt.Errorf("acme: authorization %s: %w", zurl, err)
		}
		if z.Status == xacme.StatusValid {
			continue
		}
		if z.Status != xacme.StatusPending {
			return nil, fmt.Errorf("acme: the authorization for %s is %s", z.Identifier.Value, z.Status)
		}
		var chal *xacme.Challenge
		var types []string
		for _, ch := range z.Challenges {
			types = append(types, ch.Type)
			if ch.Type == cfg.Challenge {
				chal = ch
			}
		}
		if chal == nil {
			return nil, fmt.Errorf("acme: the CA offers no %s challenge for %s (it offers %s)", cfg.Challenge, z.Identifier.Value, strings.Join(types, ", "))
		}
		if !validToken(chal.Token) {
			return nil, fmt.Errorf("acme: the CA sent a malformed challenge token for %s", z.Identifier.Value)
		}
		if !announced {
			logf("answering HTTP-01 %s", rs.where())
			announced = true
		}
		body, err := cl.c.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return nil, err
		}
		if err := rs.set(cl.c.HTTP01ChallengePath(chal.Token), body); err != nil {
			return nil, err
		}
		if _, err := cl.c.Accept(ctx, chal); err != nil {
			return nil, fmt.Errorf("acme: accept the %s challenge for %s: %w", cfg.Challenge, z.Identifier.Value, err)
		}
		if _, err := cl.c.WaitAuthorization(ctx, z.URI); err != nil {
			return nil, fmt.Errorf("acme: the CA did not validate %s: %w", z.Identifier.Value, err)
		}
	}
	if order, err = cl.c.WaitOrder(ctx, order.URI); err != nil {
		return nil, fmt.Errorf("acme: the order for %s: %w", strings.Join(cfg.Domains, ", "), err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cfg.Domains[0]}, DNSNames: cfg.Domains}, key)
	if err != nil {
		return nil, err
	}
	// CreateCertFromOrder, not CreateOrderCert: the latter needs the
	// finalize response's Location header, which RFC 8555 lets a CA omit
	// and pebble 2.10 does.
	ders, _, err := cl.c.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return nil, fmt.Errorf("acme: finalize the order for %s: %w", strings.Join(cfg.Domains, ", "), err)
	}
	var chain []*x509.Certificate
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("acme: the CA's certificate does not parse: %w", err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("acme: the CA returned no certificate")
	}
	return chain, nil
}

// validToken is RFC 8555's token alphabet (base64url), so a token can only
// name a path under /.well-known/acme-challenge/.
func validToken(t string) bool {
	if len(t) < 16 || len(t) > 256 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// responder serves HTTP-01 key authorizations, and nothing else, while an
// order is validated.
type responder struct {
	srv  *http.Server
	mu   gosync.Mutex
	body map[string]string
	done chan struct{}
}

func listen(addr string) (*responder, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, hint.With(fmt.Errorf("acme: serve HTTP-01 on %s (http_listen): %w", addr, err),
			"the CA fetches http://NAME/.well-known/acme-challenge/ on port 80: set http_listen to an address hush may bind while it runs, and forward that path to it")
	}
	r := &responder{body: map[string]string{}, done: make(chan struct{})}
	r.srv = &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l); close(r.done) }()
	return r, nil
}

func (r *responder) set(path, body string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.body[path] = body
	return nil
}

func (r *responder) where() string { return "on " + r.srv.Addr }

func (r *responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	body, ok := r.body[req.URL.Path]
	r.mu.Unlock()
	if !ok || req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(body))
}

func (r *responder) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	<-r.done
}
