// Package gcpsm is hush's GCP Secret Manager backend: an environment kept
// as one secret per key, with versions, in a GCP project, labelled with
// the hush project and environment (the layout is in names.go). It talks
// to Secret Manager with Google's official client over gRPC, with
// application-default credentials. It links Google's client and so is
// never imported by cmd/hush: the companion executable serves it.
package gcpsm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

// EndpointEnv overrides the Secret Manager endpoint. Google's Go client
// has no standard variable for it (GOOGLE_CLOUD_UNIVERSE_DOMAIN picks a
// universe, not a host, and the client honours it as it is), so hush
// reads its own, from the user's environment and never from hush.yaml: a
// repository cannot send secrets or credentials elsewhere by it. Forms:
//
//	host:port, https://host[:port]   TLS, application-default credentials
//	                                 (a regional endpoint, Private Service
//	                                 Connect, a proxy)
//	http://127.0.0.1:port            plaintext gRPC, loopback IP only (an
//	                                 emulator or test fake); the token from
//	                                 the same credentials is still sent
const EndpointEnv = "HUSH_GCPSM_ENDPOINT"

// Config is one backend's configuration, as the hush side sends it (from
// pinned hush.yaml settings). It holds no credential.
type Config struct {
	// Project is the GCP project id (or number) holding the secrets.
	Project string `json:"project"`
	// HushProject is the hush project's name, put in every secret's
	// labels and annotations.
	HushProject string `json:"hush_project"`
	// Prefix starts every secret id (letters and digits; default "hush").
	Prefix string `json:"prefix,omitempty"`
	// Locations, when set, makes new secrets user-managed replicas in
	// these regions (for an organisation policy on resource locations);
	// empty is automatic replication.
	Locations []string `json:"locations,omitempty"`
}

func (c *Config) validate() error {
	if err := validProject(c.Project); err != nil {
		return err
	}
	if c.HushProject == "" {
		return fmt.Errorf("%w gcpsm config: hush_project is empty", store.ErrInvalid)
	}
	if c.Prefix == "" {
		c.Prefix = defaultPrefix
	}
	for _, l := range c.Locations {
		if err := validProject(l); err != nil || strings.ContainsAny(l, ".:") {
			return fmt.Errorf("%w gcpsm location %q", store.ErrInvalid, l)
		}
	}
	return validPrefix(c.Prefix)
}

// validProject accepts GCP project ids (lower-case letters, digits, '-',
// and the legacy "domain.com:id" form) and project numbers.
func validProject(p string) error {
	ok := p != "" && len(p) <= 100
	for i := 0; ok && i < len(p); i++ {
		c := p[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':'
	}
	if !ok {
		return fmt.Errorf("%w GCP project %q", store.ErrInvalid, p)
	}
	return nil
}

// Driver serves the "gcpsm" kind in the companion.
type Driver struct {
	// Getenv reads the environment (nil: os.Getenv). Credentials are
	// found by Google's application-default lookup, which reads the
	// process environment itself.
	Getenv func(string) string
}

func (d Driver) getenv(k string) string {
	if d.Getenv != nil {
		return d.Getenv(k)
	}
	return os.Getenv(k)
}

// Open returns the backend for config (a JSON Config).
func (d Driver) Open(ctx context.Context, config json.RawMessage) (sync.Backend, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w gcpsm config: %v", store.ErrInvalid, err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	cl, where, err := clientFor(ctx, d.getenv(EndpointEnv))
	if err != nil {
		return nil, err
	}
	return newBackend(cl, where, c), nil
}

// Backend is a sync.Backend on GCP Secret Manager.
type Backend struct {
	c           *secretmanager.Client
	where       string // the endpoint when overridden, for Location
	project     string
	hushProject string
	prefix      string
	locations   []string

	// attempts and backoff bound the retries of throttling and server
	// errors: attempts calls in all, waiting backoff, 2×backoff, …
	attempts int
	backoff  time.Duration
}

var _ sync.Backend = (*Backend)(nil)

func newBackend(c *secretmanager.Client, where string, cfg Config) *Backend {
	return &Backend{c: c, where: where, project: cfg.Project, hushProject: cfg.HushProject, prefix: cfg.Prefix, locations: cfg.Locations, attempts: 5, backoff: 200 * time.Millisecond}
}

// Close closes the client's connections.
func (b *Backend) Close() error { return b.c.Close() }

// Location names env's secrets: project, id pattern and, when overridden,
// the endpoint.
func (b *Backend) Location(env string) string {
	loc := "projects/" + b.project + "/secrets/" + b.secretID(env, "*")
	if b.where != "" {
		loc += " at " + b.where
	}
	return loc
}

// clients are shared by the Resolve calls of one process, one per
// endpoint, so a run with many references dials and fetches a token once.
var clients struct {
	mu gosync.Mutex
	m  map[string]*secretmanager.Client
}

// Resolve reads a reference gcpsm://projects/P/secrets/S[/versions/N|latest]
// (the secret's resource name as gcloud and the console print it; no
// version means latest). A secret or version that does not exist, or a
// version that is disabled or destroyed, wraps store.ErrNotFound.
func (d Driver) Resolve(ctx context.Context, ref string) ([]byte, error) {
	name, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	ep := d.getenv(EndpointEnv)
	clients.mu.Lock()
	cl := clients.m[ep]
	if cl == nil {
		if cl, _, err = clientFor(ctx, ep); err != nil {
			clients.mu.Unlock()
			return nil, err
		}
		if clients.m == nil {
			clients.m = map[string]*secretmanager.Client{}
		}
		clients.m[ep] = cl
	}
	clients.mu.Unlock()
	b := &Backend{c: cl, attempts: 5, backoff: 200 * time.Millisecond}
	data, err := b.access(ctx, name)
	if err != nil {
		if errors.Is(err, errNotEnabled) {
			return nil, fmt.Errorf("gcpsm: %s: %w: %v", ref, store.ErrNotFound, err)
		}
		return nil, err
	}
	return data, nil
}

func parseRef(ref string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w gcpsm reference %q: %s (use gcpsm://projects/PROJECT/secrets/SECRET[/versions/N|latest])", store.ErrInvalid, ref, why)
	}
	rest, ok := strings.CutPrefix(ref, "gcpsm://")
	if !ok {
		return "", bad("it does not start with gcpsm://")
	}
	if strings.ContainsAny(rest, "?#") {
		return "", bad("a query or fragment is not part of the grammar")
	}
	p := strings.Split(rest, "/")
	if len(p) >= 2 && p[0] == "projects" && len(p) > 2 && p[2] == "locations" {
		return "", bad("regional secrets (locations/…) are not supported")
	}
	if len(p) != 4 && len(p) != 6 || p[0] != "projects" || p[2] != "secrets" {
		return "", bad("not a secret's resource name")
	}
	if err := validProject(p[1]); err != nil {
		return "", bad("bad project")
	}
	if !validSecretID(p[3]) {
		return "", bad("a secret id is 1 to 255 of [A-Za-z0-9_-]")
	}
	ver := "latest"
	if len(p) == 6 {
		if p[4] != "versions" {
			return "", bad("not a secret's resource name")
		}
		ver = p[5]
		if n, err := strconv.Atoi(ver); ver != "latest" && (err != nil || n < 1 || strconv.Itoa(n) != ver) {
			return "", bad("a version is a number from 1 or latest")
		}
	}
	return "projects/" + p[1] + "/secrets/" + p[3] + "/versions/" + ver, nil
}

func validSecretID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// clientFor makes a client for the endpoint override ep ("" is Google's
// default endpoint) and says where it points when overridden.
func clientFor(ctx context.Context, ep string) (*secretmanager.Client, string, error) {
	var opts []option.ClientOption
	where := ""
	switch {
	case ep == "":
	case strings.HasPrefix(ep, "http://"):
		host, err := loopback(ep)
		if err != nil {
			return nil, "", err
		}
		conn, err := insecureConn(ctx, host)
		if err != nil {
			return nil, "", err
		}
		opts = append(opts, option.WithGRPCConn(conn))
		where = ep
	default:
		host := strings.TrimPrefix(ep, "https://")
		if strings.ContainsAny(host, "/?#@") || strings.Contains(host, "://") {
			return nil, "", fmt.Errorf("%w %s %q: give host:port, https://host[:port] or http://127.0.0.1:port", store.ErrInvalid, EndpointEnv, ep)
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(host, "443")
		}
		opts = append(opts, option.WithEndpoint(host))
		where = host
	}
	c, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("gcpsm: %w: %v (set up application-default credentials: gcloud auth application-default login, GOOGLE_APPLICATION_CREDENTIALS, or run on GCP)", sync.ErrDenied, err)
	}
	// hush bounds its own retries (calls in backend.go); the client's
	// default retry of AccessSecretVersion waits up to a minute.
	c.CallOptions.AccessSecretVersion = []gax.CallOption{gax.WithTimeout(60 * time.Second)}
	return c, where, nil
}

// loopback returns host:port of an http:// endpoint whose host is a
// loopback IP literal, and refuses anything else: plaintext would carry
// the access token and the values in the clear. A name (even
// "localhost") is refused because it is resolved, and could resolve
// elsewhere.
func loopback(ep string) (string, error) {
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w %s %q: a plaintext endpoint is http://127.0.0.1:port", store.ErrInvalid, EndpointEnv, ep)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() || u.Port() == "" {
		return "", fmt.Errorf("%w %s %q: plaintext (http://) only to a loopback IP with a port, such as http://127.0.0.1:8085; use host:port for TLS", store.ErrInvalid, EndpointEnv, ep)
	}
	return u.Host, nil
}

// errNotEnabled is an access to a version that is disabled or destroyed.
var errNotEnabled = errors.New("version is not enabled")

// wrap turns a gRPC error into hush's error kinds. Server messages name
// resources, never a payload.
func wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && status.Code(err) == codes.Unknown {
		return fmt.Errorf("gcpsm: %s %s: %w", op, name, err)
	}
	st, _ := status.FromError(err)
	msg := st.Message()
	switch st.Code() {
	case codes.NotFound:
		return fmt.Errorf("gcpsm: %s %s: %w: %s", op, name, store.ErrNotFound, msg)
	case codes.PermissionDenied, codes.Unauthenticated:
		return fmt.Errorf("gcpsm: %s %s: %w: %s", op, name, sync.ErrDenied, msg)
	case codes.FailedPrecondition:
		switch {
		case strings.Contains(msg, "etag"):
			return fmt.Errorf("gcpsm: %s %s: %w: it changed since it was read", op, name, sync.ErrConflict)
		case strings.Contains(msg, "DISABLED") || strings.Contains(msg, "DESTROYED"):
			return fmt.Errorf("gcpsm: %s %s: %w: %s", op, name, errNotEnabled, msg)
		}
		// Anything else the project refuses (an organisation policy on
		// locations, a KMS key): an error of its own, exit 1.
		return fmt.Errorf("gcpsm: %s %s: refused: %s", op, name, msg)
	case codes.AlreadyExists:
		return fmt.Errorf("gcpsm: %s %s: %w: %s", op, name, store.ErrExists, msg)
	case codes.InvalidArgument, codes.OutOfRange:
		return fmt.Errorf("gcpsm: %s %s: %w: %s", op, name, store.ErrInvalid, msg)
	}
	return fmt.Errorf("gcpsm: %s %s: %w: %s: %s", op, name, sync.ErrUnavailable, st.Code(), msg)
}

// transient says a call may succeed if made again: throttled, the server
// unreachable or failing, or no answer in time.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.ResourceExhausted, codes.Unavailable, codes.Internal, codes.Unknown, codes.DeadlineExceeded, codes.Aborted:
		return !errors.Is(err, context.Canceled)
	}
	return false
}

// retry calls f until it succeeds, fails for good, or has been called
// b.attempts times, waiting longer each time. Only for calls that are
// safe to repeat: reads, and writes whose effect is checked before the
// next attempt.
func (b *Backend) retry(ctx context.Context, f func(context.Context) error) error {
	wait := b.backoff
	for i := 1; ; i++ {
		err := f(ctx)
		if err == nil || !transient(err) || i >= b.attempts {
			return err
		}
		if serr := sleep(ctx, wait); serr != nil {
			return serr
		}
		wait *= 2
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// access reads one version's payload and checks its checksum.
func (b *Backend) access(ctx context.Context, name string) ([]byte, error) {
	var resp *secretmanagerpb.AccessSecretVersionResponse
	err := b.retry(ctx, func(ctx context.Context) error {
		var err error
		resp, err = b.c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
		return err
	})
	if err != nil {
		return nil, wrap("access", name, err)
	}
	p := resp.GetPayload()
	// Secret Manager stores a checksum for every version (computing one
	// when the writer sent none) and returns it with the data.
	if p.DataCrc32C == nil || *p.DataCrc32C != crc32c(p.Data) {
		return nil, fmt.Errorf("gcpsm: access %s: %w: the data does not match its CRC32C checksum", name, store.ErrIntegrity)
	}
	return p.Data, nil
}
