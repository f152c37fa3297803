package civars

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hush-secrets/hush/sync"
)

// client is what both services' APIs share: one base URL, a credential
// added to every request, bounded retries of rate limits and server
// errors, and no redirects (a redirect would carry GitLab's PRIVATE-TOKEN
// header, which net/http does not strip, to wherever it points).
type client struct {
	service string // "GitHub", "GitLab", for messages
	base    *url.URL
	hc      *http.Client
	auth    func(*http.Request)
	agent   string
	// retries is how many times a rate-limited or failed request is
	// tried again; wait caps one wait (Retry-After may ask for more).
	retries int
	wait    time.Duration
	sleep   func(context.Context, time.Duration) error
}

// BaseURL checks an API base URL: https, or http to a loopback address
// only (a test server, a local proxy), since the token travels with every
// request.
func BaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("API URL %q is not an http(s) URL without credentials, query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("API URL %s is plain http: the token would cross the network in clear; use https (http is allowed to a loopback address only)", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("API URL %q is not an http(s) URL", raw)
	}
	return u, nil
}

func newClient(service string, base *url.URL, auth func(*http.Request), agent string, hc *http.Client) *client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{service: service, base: base, hc: &c, auth: auth, agent: agent, retries: 4, wait: 10 * time.Second, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apiError is an answer the service gave with an error status.
type apiError struct {
	service, method, path string
	status                int
	message               string
}

func (e *apiError) Error() string {
	msg := ""
	if e.message != "" {
		msg = ": " + e.message
	}
	return fmt.Sprintf("%s: %s %s: %d %s%s", e.service, e.method, e.path, e.status, http.StatusText(e.status), msg)
}

// deniedError is a 401, 403 or (where the service hides what a token may
// not see) 404: exit 8 with a hint.
type deniedError struct{ *apiError }

func (e *deniedError) Unwrap() error { return sync.ErrDenied }

// unavailableError is a service that could not be reached or kept failing.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{e.err, sync.ErrUnavailable}
}

// Status is the HTTP status of an error from a service, 0 when it is not
// an answer.
func Status(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	var de *deniedError
	if errors.As(err, &de) {
		return de.status
	}
	return 0
}

// do sends one request (retried as need be) and decodes a JSON answer into
// out (nil: the body is dropped). notFoundDenied makes a 404 a denial.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any, notFoundDenied bool) (http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawPath = ""
	if strings.Contains(path, "%") {
		u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + path
		if p, err := url.PathUnescape(u.RawPath); err == nil {
			u.Path = p
		}
	}
	u.RawQuery = query.Encode()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("User-Agent", c.agent)
		c.auth(req)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt < c.retries {
				if err := c.sleep(ctx, backoff(attempt)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, &unavailableError{fmt.Errorf("cannot reach %s at %s: %v", c.service, c.base.Redacted(), scrub(err))}
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if d, retry := c.retryAfter(resp); retry && attempt < c.retries {
			if err := c.sleep(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		if rerr != nil {
			return nil, &unavailableError{fmt.Errorf("%s: %s %s: reading the answer: %v", c.service, method, path, rerr)}
		}
		ae := &apiError{service: c.service, method: method, path: path, status: resp.StatusCode, message: apiMessage(data)}
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			if out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return nil, fmt.Errorf("%s: %s %s: the answer is not the JSON expected: %v", c.service, method, path, err)
				}
			}
			return resp.Header, nil
		case resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode == 404 && notFoundDenied:
			return nil, &deniedError{ae}
		case resp.StatusCode == 429 || resp.StatusCode >= 500:
			return nil, &unavailableError{fmt.Errorf("%w (after %d attempts)", ae, attempt+1)}
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			return nil, &unavailableError{fmt.Errorf("%w: a redirect to %q, which hush does not follow with a token", ae, resp.Header.Get("Location"))}
		}
		return nil, ae
	}
}

// retryAfter says whether an answer is worth another try, and after how
// long: 429, a 5xx, or GitHub's rate limits (a 403 with no requests left,
// or its secondary limit's Retry-After).
func (c *client) retryAfter(resp *http.Response) (time.Duration, bool) {
	code := resp.StatusCode
	limited := code == 429 || code == 403 && (resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("Retry-After") != "")
	if !limited && code < 500 {
		return 0, false
	}
	d := time.Second
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			d = time.Duration(n) * time.Second
		}
	} else if s := resp.Header.Get("X-RateLimit-Reset"); s != "" && code != 429 {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			d = time.Until(time.Unix(n, 0))
		}
	} else if code >= 500 {
		d = 250 * time.Millisecond
	}
	if d > c.wait {
		// A limit that resets later than hush waits fails now, saying so,
		// rather than holding a CI job for an hour.
		return 0, false
	}
	if d < 0 {
		d = 0
	}
	return d, true
}

func backoff(attempt int) time.Duration { return time.Duration(100<<attempt) * time.Millisecond }

// apiMessage is the service's own message from an error body (GitHub's
// "message", GitLab's "message" or "error"), shortened; never the request.
func apiMessage(data []byte) string {
	var m struct {
		Message any    `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	var s string
	switch v := m.Message.(type) {
	case string:
		s = v
	case nil:
		s = m.Error
	default:
		b, _ := json.Marshal(v)
		s = string(b)
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// scrub drops the URL net/http puts in a transport error (it is ours, but
// keeps messages short and never carries a query).
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
