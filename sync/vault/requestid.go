package vault

import (
	"context"
	gosync "sync"
)

// RequestIDHeader carries a command's correlation id on every request
// hush makes (Options.RequestID). Vault's audit device records it once
// told to: vault write sys/config/auditing/request-headers/x-hush-request-id hmac=false
const RequestIDHeader = "X-Hush-Request-Id"

// RequestIDs collects the request ids Vault gave its answers to the
// requests made under one context (TrackRequestIDs): the same id is in
// every entry Vault's audit device writes for that request, so a line of
// hush's own log can name the request that did its work. They are kept by
// the path the request was about (inside the mount for KV).
type RequestIDs struct {
	mu     gosync.Mutex
	byPath map[string]string
	last   string
}

type requestIDsKey struct{}

// TrackRequestIDs returns a context under which the backend's requests
// record their answers' request ids in the returned RequestIDs.
func TrackRequestIDs(ctx context.Context) (context.Context, *RequestIDs) {
	r := &RequestIDs{byPath: map[string]string{}}
	return context.WithValue(ctx, requestIDsKey{}, r), r
}

// Last is the request id of the last answer recorded ("" for none).
func (r *RequestIDs) Last() string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Of is the request id of the last answer about path ("" for none).
func (r *RequestIDs) Of(path string) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPath[path]
}

// note records s's request id under path in ctx's RequestIDs, if any.
func note(ctx context.Context, path string, s *Secret) {
	if s != nil {
		noteID(ctx, path, s.RequestID)
	}
}

func noteID(ctx context.Context, path, id string) {
	r, _ := ctx.Value(requestIDsKey{}).(*RequestIDs)
	if r == nil || id == "" {
		return
	}
	r.mu.Lock()
	r.byPath[path], r.last = id, id
	r.mu.Unlock()
}

// KeyRequestID is the request id of the answer that did the work for key
// of env (key "": the environment as a whole) among ids: in the tree
// layout the key's own secret, in the fields layout the environment's.
func (v *Vault) KeyRequestID(ids *RequestIDs, env, key string) string {
	p, err := v.Path(env)
	if err != nil {
		return ""
	}
	if v.layout == LayoutTree && key != "" {
		return ids.Of(p + "/" + key)
	}
	if id := ids.Of(p); id != "" {
		return id
	}
	return ids.Last()
}
