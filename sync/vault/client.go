package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
	gosync "sync"
	"time"
	"unicode"
)

// client is hush's own Vault HTTP client: the few calls hush makes, each
// made as github.com/hashicorp/vault/api made it — the same request,
// headers, timeout, retries, redirect and reading of the answer — without
// that module, whose package init (some forty regular expressions of sudo
// paths, and what only it pulled in: hcl, go-sockaddr, parseutil,
// mapstructure, go-jose, x/net/http2) was the largest part of the start-up
// of every hush command, Vault or not. What each call sends and how its
// answer is read is written next to it; what they share:
//
//   - the HTTP client newClient builds (TLS settings, VAULT_CACERT, a
//     client certificate, the connection pool, a test's wrapper);
//   - the token at the moment of the call (a login, or a new login since,
//     is used), refused before any request when it holds unprintable
//     bytes;
//   - the headers: X-Vault-Request, VAULT_HEADERS', User-Agent,
//     X-Hush-Request-Id and X-Vault-Namespace (VAULT_NAMESPACE);
//   - a timeout per call, retries included (VAULT_CLIENT_TIMEOUT);
//   - retries of 429, 5xx and 412 with a jittered linear backoff that
//     honours Retry-After (VAULT_MAX_RETRIES), as retryablehttp made
//     them (retry.go);
//   - one redirect followed (a standby's), never from https to http;
//   - an answer outside 200–399 as an *apiError, which wrap classifies
//     into hush's errors and exit codes.
//
// It never asks for a wrapped answer (vaultapi did whenever VAULT_WRAP_TTL
// was in the process environment, and a wrapped answer has no data).
type client struct {
	addr    url.URL
	hc      *http.Client
	retries retries
	timeout time.Duration

	mu      gosync.RWMutex
	token   string
	headers http.Header
}

const (
	authHeader      = "X-Vault-Token"
	namespaceHeader = "X-Vault-Namespace"
	// requestHeader marks a request as made by a Vault client, not a
	// browser: Vault's SSRF protection (and its agent) want it.
	requestHeader = "X-Vault-Request"
)

// tlsErrorString is vaultapi's explanation of "tls: oversized record",
// kept so the message is the one users know.
const tlsErrorString = "This error usually means that the server is running with TLS disabled\n" +
	"but the client is configured to use TLS. Please either enable TLS\n" +
	"on the server or run the client with -address set to an address\n" +
	"that uses the http protocol:\n\n" +
	"    vault <command> -address http://<address>\n\n" +
	"You can also set the VAULT_ADDR environment variable:\n\n\n" +
	"    VAULT_ADDR=http://<address> vault <command>\n\n" +
	"where <address> is replaced by the actual address to the server."

// Address is the server's URL as the client uses it.
func (c *client) Address() string { return c.addr.String() }

// ClientTimeout bounds each call, retries included.
func (c *client) ClientTimeout() time.Duration { return c.timeout }

// Token is the token sent with the next request ("" for none).
func (c *client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetToken sets the token of the following requests.
func (c *client) SetToken(t string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = t
}

// ClearToken sends the following requests without a token.
func (c *client) ClearToken() { c.SetToken("") }

// Headers is a copy of the headers every request carries.
func (c *client) Headers() http.Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.headers.Clone()
}

// withTimeout bounds a call by the client's timeout.
func (c *client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return ctx, func() {}
}

// send makes one request to /v1/reqPath with body (nil: none) and returns
// Vault's answer unread whatever its status, and the URL it came from.
// The caller bounds ctx (withTimeout) and closes the body.
func (c *client) send(ctx context.Context, method, reqPath string, query url.Values, body []byte) (*http.Response, string, error) {
	token := c.Token()
	if strings.IndexFunc(token, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return nil, "", errors.New("configured Vault token contains non-printable characters and cannot be used")
	}
	u := c.addr
	u.Path = path.Join(u.Path, "/v1/"+reqPath)
	u.RawPath = ""
	u.RawQuery = query.Encode()
	for redirects := 0; ; redirects++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, "", err
		}
		req.Host = c.addr.Host
		req.Header = c.Headers()
		if token != "" {
			req.Header.Set(authHeader, token)
		}
		resp, err := c.do(req, body)
		if err != nil {
			if resp != nil {
				resp.Body.Close()
			}
			if strings.Contains(err.Error(), "tls: oversized") {
				err = fmt.Errorf("%w\n\n%s", err, tlsErrorString)
			}
			return nil, "", err
		}
		if redirects > 0 || (resp.StatusCode != 301 && resp.StatusCode != 302 && resp.StatusCode != 307) {
			return resp, u.String(), nil
		}
		loc, err := resp.Location()
		drain(resp)
		if err != nil {
			return nil, "", err
		}
		if u.Scheme == "https" && loc.Scheme != "https" {
			return nil, "", errors.New("redirect would cause protocol downgrade")
		}
		// The redirect keeps the request's own parameters, as vaultapi's did.
		u = *loc
		u.RawQuery = query.Encode()
	}
}

// call makes one request and reads its answer whole: the status and body,
// and for a status outside 200–399 the *apiError that says it (the body
// is returned all the same: a 404 may carry data).
func (c *client) call(ctx context.Context, method, reqPath string, query url.Values, body []byte) (int, []byte, error) {
	resp, u, err := c.send(ctx, method, reqPath, query, body)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return resp.StatusCode, b, responseError(resp, u, b)
	}
	return resp.StatusCode, b, nil
}

// jsonBody is a request body as vaultapi encoded one (a nil map is
// "null").
func jsonBody(data any) ([]byte, error) {
	return json.Marshal(data)
}

// read is a GET of path (with query parameters, nil for none), its answer
// read as vaultapi's Logical().ReadWithData read it: nil for a 404 with no
// data nor warnings, or for an empty answer (a blank 200 is io.EOF).
func (c *client) read(ctx context.Context, reqPath string, query url.Values) (*Secret, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	status, b, err := c.call(ctx, http.MethodGet, reqPath, query, nil)
	if status == http.StatusNotFound {
		s, perr := parseSecret(b)
		if perr == io.EOF {
			return nil, nil
		} else if perr != nil {
			return nil, perr
		}
		if s != nil && (len(s.Warnings) > 0 || len(s.Data) > 0) {
			return s, nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseSecret(b)
}

// write is a PUT of data (JSON) to path, its answer read as vaultapi's
// Logical().Write read it: a 404 whose body carries data or warnings is
// that secret and the error, one whose body is blank nil and no error.
func (c *client) write(ctx context.Context, reqPath string, data map[string]any) (*Secret, error) {
	body, err := jsonBody(data)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	status, b, err := c.call(ctx, http.MethodPut, reqPath, nil, body)
	if status == http.StatusNotFound {
		s, perr := parseSecret(b)
		if perr == io.EOF {
			return nil, nil
		} else if perr != nil {
			return nil, perr
		}
		if s != nil && (len(s.Warnings) > 0 || len(s.Data) > 0) {
			return s, err
		}
	}
	if err != nil {
		return nil, err
	}
	return parseSecret(b)
}

// unwrap unwraps a response-wrapping token at sys/wrapping/unwrap, as
// vaultapi's Logical().Unwrap: with no token of its own the client
// authenticates with the wrapping token (and keeps it: the caller clears
// it), otherwise it names it in the body. A 404 without data falls back to
// the old-style cubbyhole/response.
func (c *client) unwrap(ctx context.Context, wrappingToken string) (*Secret, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var data map[string]any
	wt := strings.TrimSpace(wrappingToken)
	if wrappingToken != "" {
		if c.Token() == "" {
			c.SetToken(wt)
		} else if wrappingToken != c.Token() {
			data = map[string]any{"token": wt}
		}
	}
	body, err := jsonBody(data)
	if err != nil {
		return nil, err
	}
	status, b, err := c.call(ctx, http.MethodPut, "sys/wrapping/unwrap", nil, body)
	if status != http.StatusNotFound {
		if err != nil {
			return nil, err
		}
		return parseSecret(b)
	}
	s, perr := parseSecret(b)
	if perr == io.EOF {
		return nil, nil
	} else if perr != nil {
		return nil, perr
	}
	if s != nil && (len(s.Warnings) > 0 || len(s.Data) > 0) {
		return s, nil
	}
	if wrappingToken != "" {
		orig := c.Token()
		defer c.SetToken(orig)
		c.SetToken(wrappingToken)
	}
	const loc = "cubbyhole/response"
	s, err = c.read(ctx, loc, nil)
	if err != nil {
		return nil, fmt.Errorf("error reading %q: %w", loc, err)
	}
	if s == nil {
		return nil, fmt.Errorf("no value found at %q", loc)
	}
	if s.Data == nil {
		return nil, errors.New("\"data\" not found in wrapping response")
	}
	if _, ok := s.Data["response"]; !ok {
		return nil, errors.New("\"response\" not found in wrapping response \"data\" map")
	}
	resp, _ := s.Data["response"].(string)
	wrapped := new(Secret)
	dec := json.NewDecoder(strings.NewReader(resp))
	dec.UseNumber()
	if err := dec.Decode(wrapped); err != nil {
		return nil, fmt.Errorf("error unmarshalling wrapped secret: %w", err)
	}
	return wrapped, nil
}

// lookupSelf is auth/token/lookup-self: what Vault says of the token.
func (c *client) lookupSelf(ctx context.Context) (*Secret, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, b, err := c.call(ctx, http.MethodGet, "auth/token/lookup-self", nil, nil)
	if err != nil {
		return nil, err
	}
	return parseSecret(b)
}

// renewSelf is auth/token/renew-self by increment seconds.
func (c *client) renewSelf(ctx context.Context, increment int) (*Secret, error) {
	body, err := jsonBody(map[string]any{"increment": increment})
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, b, err := c.call(ctx, http.MethodPut, "auth/token/renew-self", nil, body)
	if err != nil {
		return nil, err
	}
	return parseSecret(b)
}

// revokeSelf is auth/token/revoke-self, with no body.
func (c *client) revokeSelf(ctx context.Context) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, _, err := c.call(ctx, http.MethodPut, "auth/token/revoke-self", nil, nil)
	return err
}

// capabilitiesSelf is the token's capabilities on p
// (sys/capabilities-self): the list under p in the answer, else under
// "capabilities".
func (c *client) capabilitiesSelf(ctx context.Context, p string) ([]string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	body, err := jsonBody(map[string]string{"token": c.Token(), "path": p})
	if err != nil {
		return nil, err
	}
	_, b, err := c.call(ctx, http.MethodPost, "sys/capabilities-self", nil, body)
	if err != nil {
		return nil, err
	}
	s, err := parseSecret(b)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data == nil {
		return nil, errors.New("data from server response is empty")
	}
	res, err := stringList(s.Data[p])
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		if x, ok := s.Data["capabilities"]; ok {
			if res, err = stringList(x); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// stringList reads a JSON list of strings (nil: none).
func stringList(x any) ([]string, error) {
	if x == nil {
		return nil, nil
	}
	list, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("capabilities: want a list, got %T", x)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		// As mapstructure decoded them: null as "", a number as its text.
		switch e := e.(type) {
		case nil:
			out = append(out, "")
		case string:
			out = append(out, e)
		case json.Number:
			out = append(out, e.String())
		default:
			return nil, fmt.Errorf("capabilities: want strings, got %T", e)
		}
	}
	return out, nil
}

// Secret is an answer of Vault's, as vaultapi's Secret decoded it: every
// field, so an answer that did not decode then does not now, with the same
// error (which names the type).
type Secret struct {
	RequestID     string         `json:"request_id"`
	LeaseID       string         `json:"lease_id"`
	LeaseDuration int            `json:"lease_duration"`
	Renewable     bool           `json:"renewable"`
	Data          map[string]any `json:"data"`
	Warnings      []string       `json:"warnings"`
	Auth          *secretAuth    `json:"auth,omitempty"`
	WrapInfo      *wrapInfo      `json:"wrap_info,omitempty"`
	MountType     string         `json:"mount_type,omitempty"`
}

// secretAuth is a login's answer.
type secretAuth struct {
	ClientToken      string            `json:"client_token"`
	Accessor         string            `json:"accessor"`
	Policies         []string          `json:"policies"`
	TokenPolicies    []string          `json:"token_policies"`
	IdentityPolicies []string          `json:"identity_policies"`
	Metadata         map[string]string `json:"metadata"`
	Orphan           bool              `json:"orphan"`
	EntityID         string            `json:"entity_id"`
	LeaseDuration    int               `json:"lease_duration"`
	Renewable        bool              `json:"renewable"`
	MFARequirement   *struct {
		MFARequestID   string `json:"mfa_request_id,omitempty"`
		MFAConstraints map[string]*struct {
			Any []*struct {
				Type                  string `json:"type,omitempty"`
				ID                    string `json:"id,omitempty"`
				UsesPasscode          bool   `json:"uses_passcode,omitempty"`
				Name                  string `json:"name,omitempty"`
				SelfEnrollmentEnabled bool   `json:"self_enrollment_enabled,omitempty"`
			} `json:"any,omitempty"`
		} `json:"mfa_constraints,omitempty"`
	} `json:"mfa_requirement"`
}

// wrapInfo describes a wrapped answer.
type wrapInfo struct {
	Token           string    `json:"token"`
	Accessor        string    `json:"accessor"`
	TTL             int       `json:"ttl"`
	CreationTime    time.Time `json:"creation_time"`
	CreationPath    string    `json:"creation_path"`
	WrappedAccessor string    `json:"wrapped_accessor"`
}

// parseSecret reads an answer as vaultapi's ParseSecret did: nil for an
// empty body; an object with none of an answer's fields is its data,
// unless it holds only "errors" (nil) or errors with data (their text as
// the error).
func parseSecret(b []byte) (*Secret, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var s Secret
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if reflect.DeepEqual(s, Secret{}) {
		data := make(map[string]any)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return nil, err
		}
		errRaw, errPresent := data["errors"]
		if len(data) == 1 && errPresent {
			return nil, nil
		}
		if errPresent {
			var errs []string
			eb, err := json.Marshal(errRaw)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(eb, &errs); err != nil {
				return nil, err
			}
			return nil, errors.New(strings.Join(errs, " "))
		}
		if len(data) > 0 {
			s.Data = data
		}
	}
	return &s, nil
}

// apiError is an answer outside 200–399: Vault's error list, or the raw
// body when it is not one (RawError), as vaultapi's ResponseError had it.
type apiError struct {
	HTTPMethod    string
	URL           string
	StatusCode    int
	RawError      bool
	Errors        []string
	NamespacePath string
}

func (r *apiError) Error() string {
	kind := "Errors"
	if r.RawError {
		kind = "Raw Message"
	}
	var ns string
	if r.NamespacePath != "" && r.NamespacePath != "root/" {
		ns = "Namespace: " + r.NamespacePath + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Error making API request.\n\n"+ns+"URL: %s %s\nCode: %d. %s:\n\n", r.HTTPMethod, r.URL, r.StatusCode, kind)
	if r.RawError && len(r.Errors) == 1 {
		b.WriteString(r.Errors[0])
	} else {
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "* %s", e)
		}
	}
	return b.String()
}

// responseError is the *apiError of an error answer.
func responseError(resp *http.Response, u string, body []byte) error {
	re := &apiError{
		HTTPMethod:    resp.Request.Method,
		URL:           u,
		StatusCode:    resp.StatusCode,
		NamespacePath: resp.Header.Get(namespaceHeader),
	}
	var er struct{ Errors []string }
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&er); err != nil {
		re.RawError, re.Errors = true, []string{string(body)}
	} else {
		re.Errors = er.Errors
	}
	return re
}

// drain reads what is left of an answer so its connection can serve the
// next request, and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}
