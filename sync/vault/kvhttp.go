package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	gosync "sync"
)

// The KV hot path. The tree layout makes one request per key, ten
// thousand for a large environment, and vaultapi's Logical() spent about
// as much processor time around each request as the HTTP exchange itself:
// a fresh request object and retry client per call, the body buffered
// twice, the answer decoded into nested map[string]any (metadata,
// custom_metadata…) that hush then picks three fields from. kvCall makes
// exactly the KV calls (data read and write, metadata list, delete)
// through the client's one request path (client.go: its transport, token,
// headers, timeout, retries and redirect), decoding each answer into the
// call's own shape:
//
//   - an error answer as an *apiError, which wrap classifies into hush's
//     errors and exit codes; a 404 whose body carries data (a KV v2 secret
//     whose latest version is deleted) as that data.
//
// It never asks for a wrapped answer: vaultapi wrapped every request when
// VAULT_WRAP_TTL was set in hush's environment, and a wrapped KV read
// looked like a missing secret.

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
	ctx, cancel := v.client.withTimeout(ctx)
	defer cancel()
	resp, u, err := v.client.send(ctx, method, reqPath, query, body)
	if err != nil {
		return false, err
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
		return false, responseError(resp, u, buf.Bytes())
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
			return false, responseError(resp, u, buf.Bytes())
		}
		return false, fmt.Errorf("the answer is not Vault's JSON: %w", err)
	}
	if !ok && out.Data == nil && len(out.Warnings) == 0 {
		return false, nil
	}
	return true, nil
}
