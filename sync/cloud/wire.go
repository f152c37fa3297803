// Package cloud is hush's door to the code too heavy to link into hush:
// the remote stores' SDKs (AWS SSM Parameter Store and Secrets Manager,
// GCP Secret Manager, Kubernetes), AWS KMS, and the rotation providers
// with a driver of their own (PostgreSQL, MySQL, ACME). They live in one
// companion executable, hush-cloud, which hush runs only when one of them
// is used and talks to over its stdin and stdout. This package is both
// ends of that conversation, so they cannot drift apart; it imports no
// SDK. The client end (Client, Backend, KeyService, Provider) is what
// hush uses; the server end (Serve) is hush-cloud's main loop over the
// Services it links.
//
// The conversation is JSON lines: hush sends a request, hush-cloud
// answers it, as many times as the command needs (a pull and a push of
// the same command reuse one process). Values travel as bytes (base64 in
// JSON), never as JSON strings, which would replace invalid UTF-8. No
// credential crosses it on its own: the companion finds its own in its
// environment (the AWS default chain, application-default credentials, a
// kubeconfig or the in-cluster service account). The exception is
// rotation (rotate.go): the database and ACME providers run here too, and
// one asks hush for the secret its settings name (an admin URL) by
// calling back during its request; hush reads it as an audited read and
// answers on the same pipe. Errors cross it with their kind (conflict,
// unavailable, denied, deleted, no engine, not found, invalid, a partial
// push) and their hint, so hush gives each its exit code and its advice.
package cloud

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// protocol says which conversation hush and hush-cloud speak; they are
// built and installed together. 2 added rotation and calls back to hush.
const protocol = 2

// Companion is the companion executable's name.
const Companion = "hush-cloud"

// A Driver is one kind of remote the companion serves ("ssm", "awssm",
// "gcpsm", "k8s").
type Driver interface {
	// Open returns the backend for one configuration: the JSON the hush
	// side sent (no credential in it: credentials come from the
	// companion's environment).
	Open(ctx context.Context, config json.RawMessage) (hushsync.Backend, error)
	// Resolve reads one reference for run --env-file and references, e.g.
	// "ssm:///myapp/prod/DB_URL". A reference that names nothing wraps
	// store.ErrNotFound (exit 3).
	Resolve(ctx context.Context, ref string) ([]byte, error)
}

type request struct {
	Protocol int             `json:"protocol"`
	Op       string          `json:"op"` // pull, push, resolve
	Kind     string          `json:"kind"`
	Config   json.RawMessage `json:"config,omitempty"`
	Env      string          `json:"env,omitempty"`
	Plan     *wirePlan       `json:"plan,omitempty"`
	Ref      string          `json:"ref,omitempty"`
	// kms-check, kms-wrap, kms-unwrap (kms.go)
	Key        string            `json:"key,omitempty"`
	KeyContext *crypt.KeyContext `json:"key_context,omitempty"`
	Data       []byte            `json:"data,omitempty"`
	// rotate-check, -plan, -preflight, -create, -verify, -retire (rotate.go)
	Rotation *wireRotation `json:"rotation,omitempty"`
	// answer: hush's answer to the companion's call (response.Call)
	Answer *wireAnswer `json:"answer,omitempty"`
}

type response struct {
	Snapshot *wireSnapshot `json:"snapshot,omitempty"`
	Value    []byte        `json:"value,omitempty"`
	Error    *wireError    `json:"error,omitempty"`
	// A rotation phase's answer: create's result, a plan's text.
	Result *wireResult `json:"result,omitempty"`
	Text   string      `json:"text,omitempty"`
	// Call is not an answer but a question from the companion, in the
	// middle of a request: hush answers it (request.Answer) and reads on.
	Call *wireCall `json:"call,omitempty"`
}

type wireSnapshot struct {
	Values      map[string][]byte `json:"values"`
	Version     int               `json:"version,omitempty"`
	Versions    map[string]int    `json:"versions,omitempty"`
	Deleted     bool              `json:"deleted,omitempty"`
	Destroyed   bool              `json:"destroyed,omitempty"`
	DeletedKeys []string          `json:"deleted_keys,omitempty"`
	Missing     bool              `json:"missing,omitempty"`
}

type wirePlan struct {
	Base   *wireSnapshot     `json:"base"`
	Set    map[string][]byte `json:"set,omitempty"`
	Delete []string          `json:"delete,omitempty"`
}

func toWireSnapshot(s *hushsync.Snapshot) *wireSnapshot {
	if s == nil {
		return nil
	}
	w := &wireSnapshot{Values: make(map[string][]byte, len(s.Values)), Version: s.Version, Versions: s.Versions,
		Deleted: s.Deleted, Destroyed: s.Destroyed, DeletedKeys: s.DeletedKeys, Missing: s.Missing}
	for k, v := range s.Values {
		w.Values[k] = []byte(v.Reveal())
	}
	return w
}

func (w *wireSnapshot) snapshot() *hushsync.Snapshot {
	if w == nil {
		return nil
	}
	s := hushsync.NewSnapshot()
	for k, v := range w.Values {
		s.Values[k] = store.Value(v)
	}
	for k, v := range w.Versions {
		s.Versions[k] = v
	}
	s.Version, s.Deleted, s.Destroyed, s.DeletedKeys, s.Missing = w.Version, w.Deleted, w.Destroyed, w.DeletedKeys, w.Missing
	return s
}

func toWirePlan(p *hushsync.Plan) *wirePlan {
	w := &wirePlan{Base: toWireSnapshot(p.Base), Set: make(map[string][]byte, len(p.Set)), Delete: p.Delete}
	for k, v := range p.Set {
		w.Set[k] = []byte(v.Reveal())
	}
	return w
}

func (w *wirePlan) plan() *hushsync.Plan {
	p := &hushsync.Plan{Base: w.Base.snapshot(), Set: make(map[string]store.Value, len(w.Set)), Delete: w.Delete}
	if p.Base == nil {
		p.Base = hushsync.NewSnapshot()
	}
	for k, v := range w.Set {
		p.Set[k] = store.Value(v)
	}
	return p
}

// wireError is an error's kind (which becomes hush's exit code) and its
// text, which the backends keep free of values.
type wireError struct {
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
	// Hint is the error's advice line (internal/hint), if it has one.
	Hint string `json:"hint,omitempty"`
	// Partial carries a sync.PartialError's record of what was written.
	Partial *wirePartial `json:"partial,omitempty"`
}

type wirePartial struct {
	Written      *wireSnapshot `json:"written"`
	Set, Deleted []string
	Planned      int `json:"planned"`
}

// errorKinds, most specific first: ErrDeleted is a conflict, ErrDenied
// an unavailability, ErrNoEngine a not-found.
var errorKinds = []struct {
	kind string
	err  error
}{
	{"deleted", hushsync.ErrDeleted},
	{"conflict", hushsync.ErrConflict},
	{"denied", hushsync.ErrDenied},
	{"unavailable", hushsync.ErrUnavailable},
	{"no-engine", hushsync.ErrNoEngine},
	{"not-found", store.ErrNotFound},
	{"invalid", store.ErrInvalid},
	{"integrity", store.ErrIntegrity},
	{"incorrect-identity", ageIncorrect},
	{"key-service", crypt.ErrKeyService},
	{"rotation-unavailable", rotate.ErrUnavailable},
	{"canceled", context.Canceled},
	{"deadline", context.DeadlineExceeded},
}

func toWireError(err error) *wireError {
	w := &wireError{Message: err.Error(), Hint: hint.Of(err)}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			w.Kind = k.kind
			break
		}
	}
	var pe *hushsync.PartialError
	if errors.As(err, &pe) {
		w.Partial = &wirePartial{Written: toWireSnapshot(pe.Written), Set: pe.Set, Deleted: pe.Deleted, Planned: pe.Planned}
	}
	return w
}

// kindError has the text the companion sent and is its sentinel (and so
// has that sentinel's exit code).
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func (w *wireError) err() error {
	var err error = errors.New(w.Message)
	for _, k := range errorKinds {
		if k.kind == w.Kind {
			err = &kindError{msg: w.Message, kind: k.err}
			break
		}
	}
	if w.Hint != "" {
		err = hint.With(err, "%s", w.Hint)
	}
	if w.Partial != nil {
		written := w.Partial.Written.snapshot()
		if written == nil {
			written = hushsync.NewSnapshot()
		}
		return &hushsync.PartialError{Err: err, Written: written, Set: w.Partial.Set, Deleted: w.Partial.Deleted, Planned: w.Partial.Planned}
	}
	return err
}
