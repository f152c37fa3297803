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
	gosync "sync"
	"unicode"

	"github.com/hashicorp/go-retryablehttp"
	vaultapi "github.com/hashicorp/vault/api"
)

// The KV hot path. The tree layout makes one request per key, ten
// thousand for a large environment, and vaultapi's Logical() spends about
// as much processor time around each request as the HTTP exchange itself:
// a fresh request object and retry client per call, the body buffered
// twice, the answer decoded into nested map[string]any (metadata,
// custom_metadata…) that hush then picks three fields from. kvCall makes
// exactly the KV calls (data read and write, metadata list, delete) with
// the same client's settings, each taken as vaultapi takes it:
//
//   - its HTTP client, so its transport (TLS settings, VAULT_CACERT, a
//     client certificate, the connection pool, a test's wrapper);
//   - its token at the moment of the call (a login or a new login since
//     is used), refused as vaultapi refuses one with unprintable bytes;
//   - its headers: User-Agent, X-Hush-Request-Id, X-Vault-Namespace
//     (VAULT_NAMESPACE) and X-Vault-Request;
//   - its timeout per request, retries included (VAULT_CLIENT_TIMEOUT);
//   - its retries of 429, 5xx and 412, with its backoff and limits
//     (VAULT_MAX_RETRIES), through the same retryablehttp code;
//   - one redirect followed, never from https to http;
//   - an error answer as a *vaultapi.ResponseError, which wrap classifies
//     into hush's errors and exit codes; a 404 whose body carries data (a
//     KV v2 secret whose latest version is deleted) as that data.
//
// It never asks for a wrapped answer: vaultapi wrapped every request when
// VAULT_WRAP_TTL was set in hush's environment, and a wrapped KV read
// looked like a missing secret.

// kvClient is what kvCall needs of the vaultapi client, read once from
// its final configuration.
type kvClient struct {
	rc   *retryablehttp.Client
	addr url.URL
}

func newKVClient(c *vaultapi.Client) (*kvClient, error) {
	cfg := c.CloneConfig()
	addr, err := url.Parse(c.Address())
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	check := cfg.CheckRetry
	if check == nil {
		check = vaultapi.DefaultRetryPolicy
	}
	backoff := cfg.Backoff
	if backoff == nil {
		backoff = retryablehttp.LinearJitterBackoff
	}
	rc := &retryablehttp.Client{
		HTTPClient:   cfg.HttpClient,
		RetryWaitMin: cfg.MinRetryWait,
		RetryWaitMax: cfg.MaxRetryWait,
		RetryMax:     cfg.MaxRetries,
		Backoff:      backoff,
		CheckRetry:   check,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	if cfg.Logger != nil {
		rc.Logger = cfg.Logger
	}
	return &kvClient{rc: rc, addr: *addr}, nil
}

// kvAnswer is the envelope of every answer kvCall decodes; Data is the
// call's own shape.
type kvAnswer[T any] struct {
	RequestID string   `json:"request_id"`
	Warnings  []string `json:"warnings"`
	Data      *T       `json:"data"`
}

// kvData2 is a KV v2 data read's data.
type kvData2 struct {
	Data     map[string]any `json:"data"`
	Metadata *struct {
		Version      json.Number `json:"version"`
		DeletionTime string      `json:"deletion_time"`
		Destroyed    bool        `json:"destroyed"`
	} `json:"metadata"`
}

// kvList is a LIST's data.
type kvList struct {
	Keys []any `json:"keys"`
}

// kvWritten is a KV v2 write's data.
type kvWritten struct {
	Version json.Number `json:"version"`
}

var bodyPool = gosync.Pool{New: func() any { return new(bytes.Buffer) }}

// kvCall makes one request to /v1/reqPath (a path inside the mount's API)
// and decodes the answer into out, which may be nil. found is false when
// Vault answered 404 without data, or with no body at all (204); a 404 of
// a write is an error, as vaultapi has it.
func kvCall[T any](ctx context.Context, v *Vault, method, reqPath string, query url.Values, body []byte, out *kvAnswer[T]) (found bool, err error) {
	if t := v.client.ClientTimeout(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	token := v.client.Token()
	if unprintable(token) {
		return false, errors.New("configured Vault token contains non-printable characters and cannot be used")
	}
	u := v.kvc.addr
	u.Path = path.Join(u.Path, "/v1/"+reqPath)
	u.RawPath = ""
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var resp *http.Response
	for redirects := 0; ; redirects++ {
		req, err := retryablehttp.NewRequestWithContext(ctx, method, u.String(), body)
		if err != nil {
			return false, err
		}
		req.Host = v.kvc.addr.Host
		req.Header = v.client.Headers()
		if token != "" {
			req.Header.Set(vaultapi.AuthHeaderName, token)
		}
		resp, err = v.kvc.rc.Do(req)
		if err != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return false, err
		}
		if redirects > 0 || (resp.StatusCode != 301 && resp.StatusCode != 302 && resp.StatusCode != 307) {
			break
		}
		loc, err := resp.Location()
		drain(resp)
		if err != nil {
			return false, err
		}
		if u.Scheme == "https" && loc.Scheme != "https" {
			return false, errors.New("redirect would cause protocol downgrade")
		}
		u = *loc
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bodyPool.Put(buf)
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 400
	if !ok && (resp.StatusCode != http.StatusNotFound || method != http.MethodGet) {
		return false, responseError(resp, u.String(), buf.Bytes())
	}
	if buf.Len() == 0 {
		return false, nil
	}
	if out == nil {
		out = new(kvAnswer[T])
	}
	dec := json.NewDecoder(buf)
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		if !ok {
			// A 404 that is not Vault's (a proxy's page): not found, but
			// not a secret that is missing either.
			return false, responseError(resp, u.String(), buf.Bytes())
		}
		return false, fmt.Errorf("the answer is not Vault's JSON: %w", err)
	}
	if !ok && out.Data == nil && len(out.Warnings) == 0 {
		return false, nil
	}
	return true, nil
}

// responseError is the *vaultapi.ResponseError vaultapi makes of an error
// answer: Vault's error list, or the raw body when it is not one.
func responseError(resp *http.Response, u string, body []byte) error {
	re := &vaultapi.ResponseError{
		HTTPMethod:    resp.Request.Method,
		URL:           u,
		StatusCode:    resp.StatusCode,
		NamespacePath: resp.Header.Get(vaultapi.NamespaceHeaderName),
	}
	var er vaultapi.ErrorResponse
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

func unprintable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
