package vault

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Retries, as vaultapi had github.com/hashicorp/go-retryablehttp make
// them, written out: that package compiles four regular expressions and
// builds a default client and logger at start-up, for every hush command.

// retries are the retry settings: at most max retries, waits between min
// and max apart (the vault CLI's 2, 1s and 1.5s; VAULT_MAX_RETRIES).
type retries struct {
	max      int
	min, top time.Duration
}

// do sends req, its body (nil: none) sent anew on each attempt, retrying
// what retryPolicy retries after backoff's wait, as retryablehttp's
// Client.Do with a pass-through error handler: the last answer is
// returned with its error, if any; a retried answer is drained and
// closed; giving up closes the idle connections.
func (c *client) do(req *http.Request, body []byte) (*http.Response, error) {
	if body != nil {
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	var resp *http.Response
	var doErr, checkErr error
	var retry bool
	for i := 0; ; i++ {
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, doErr = c.hc.Do(req)
		retry, checkErr = retryPolicy(req.Context(), resp, doErr)
		if !retry || c.retries.max-i <= 0 {
			break
		}
		if doErr == nil {
			drainBody(resp.Body)
		}
		timer := time.NewTimer(backoff(c.retries.min, c.retries.top, i, resp))
		select {
		case <-req.Context().Done():
			timer.Stop()
			c.hc.CloseIdleConnections()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		// A copy, so the next body does not race the transport closing
		// this one.
		next := *req
		req = &next
	}
	if doErr == nil && checkErr == nil && !retry {
		return resp, nil
	}
	c.hc.CloseIdleConnections()
	if checkErr != nil {
		return resp, checkErr
	}
	return resp, doErr
}

// retryPolicy retries connection errors but a bad redirect, scheme or
// header and an untrusted certificate; 429; 5xx but 501; and 412, which
// Vault answers when an X-Vault-Index it was sent is not there yet. A
// context that is done stops it, with its error.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if v, ok := err.(*url.Error); ok {
			msg := v.Error()
			if tooManyRedirects(msg) || strings.Contains(msg, "unsupported protocol scheme") ||
				strings.Contains(msg, "invalid header") || strings.Contains(msg, "certificate is not trusted") {
				return false, nil
			}
			if _, ok := v.Err.(*tls.CertificateVerificationError); ok {
				return false, nil
			}
		}
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case resp.StatusCode == 0 || resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return true, nil
	}
	return resp.StatusCode == http.StatusPreconditionFailed, nil
}

// tooManyRedirects matches net/http's "stopped after N redirects" at the
// end of msg.
func tooManyRedirects(msg string) bool {
	rest, ok := strings.CutSuffix(msg, " redirects")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, "stopped after ")
	if i < 0 {
		return false
	}
	n := rest[i+len("stopped after "):]
	return n != "" && strings.Trim(n, "0123456789") == ""
}

// backoff is the wait before retry attempt+1: Retry-After on 429 and 503
// when it parses, else attempt+1 times a random duration between min and
// max (min times attempt+1 when max is not above it).
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if sleep, ok := retryAfter(resp.Header["Retry-After"]); ok {
			return sleep
		}
	}
	attempt++
	if max <= min {
		return min * time.Duration(attempt)
	}
	jitter := rand.Float64() * float64(max-min)
	return time.Duration((int64(jitter) + int64(min)) * int64(attempt))
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date (a
// past one is no wait).
func retryAfter(h []string) (time.Duration, bool) {
	if len(h) == 0 || h[0] == "" {
		return 0, false
	}
	if sleep, err := strconv.ParseInt(h[0], 10, 64); err == nil {
		if sleep < 0 {
			return 0, false
		}
		return time.Second * time.Duration(sleep), true
	}
	t, err := time.Parse(time.RFC1123, h[0])
	if err != nil {
		return 0, false
	}
	if until := time.Until(t); until > 0 {
		return until, true
	}
	return 0, true
}

// drainBody reads a little of an answer that is retried, so its
// connection can serve the retry, and closes it.
func drainBody(body io.ReadCloser) {
	defer body.Close()
	io.Copy(io.Discard, io.LimitReader(body, 4096))
}
