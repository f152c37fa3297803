package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// Rotation providers with a driver of their own (pgx, the MySQL driver,
// the ACME client) run in the companion: linked into hush they made every
// command's binary half as large again and its start-up slower, for a
// command most users run once a month. Provider is their hush side: a
// rotate.Provider whose every phase is one request. The phases are
// stateless on the companion's side (a provider keeps its notes in the
// Result, which the journal holds), so a companion started by a resumed
// rotation continues where a killed one stopped.
//
// Request's callbacks cross the pipe the other way: the provider's
// Request.Secret becomes a "secret" call that hush answers with an
// audited read of the same environment, and Request.Logf a "log" call
// that wants no answer. A provider in the companion has no Request.Vault
// (those that need Vault, rotate/vault, run in hush).

// wireRotation is one phase's request: rotate.Request without its
// callbacks, and for verify and retire create's result.
type wireRotation struct {
	Settings wireSettings `json:"settings"`
	ID       string       `json:"id,omitempty"`
	Env      string       `json:"env,omitempty"`
	Key      string       `json:"key,omitempty"`
	Old      []byte       `json:"old,omitempty"`
	Proposed []byte       `json:"proposed,omitempty"`
	Dir      string       `json:"dir,omitempty"`
	// Now is hush's clock when it sent the request; the provider's clock
	// runs on from it.
	Now time.Time `json:"now"`
	// Deadline is the phase's timeout (rotation.sources timeout).
	Deadline *time.Time  `json:"deadline,omitempty"`
	Result   *wireResult `json:"result,omitempty"`
}

// wireSettings is rotate.Settings; the provider's own fields travel as
// the YAML they were read from, so Settings.Decode reads there exactly
// what it would read in hush (JSON would turn every number into a float).
type wireSettings struct {
	Name     string        `json:"name"`
	Provider string        `json:"provider"`
	Grace    time.Duration `json:"grace"`
	Timeout  time.Duration `json:"timeout"`
	Length   int           `json:"length"`
	Charset  string        `json:"charset"`
	Raw      string        `json:"raw"`
}

// wireResult is rotate.Result with its values as bytes.
type wireResult struct {
	Value       []byte            `json:"value"`
	Also        map[string][]byte `json:"also,omitempty"`
	OldValid    bool              `json:"old_valid"`
	State       map[string]string `json:"state,omitempty"`
	RotateEvery string            `json:"rotate_every,omitempty"`
	Types       map[string]string `json:"types,omitempty"`
}

// wireCall is the companion asking hush something in the middle of a
// request: "secret" (Name) or "log" (Text).
type wireCall struct {
	Call string `json:"call"`
	Name string `json:"name,omitempty"`
	Text string `json:"text,omitempty"`
}

// wireAnswer is hush's answer to a call.
type wireAnswer struct {
	Value []byte     `json:"value,omitempty"`
	Error *wireError `json:"error,omitempty"`
}

func toWireSettings(s rotate.Settings) (wireSettings, error) {
	raw, err := yaml.Marshal(s.Raw)
	if err != nil {
		return wireSettings{}, fmt.Errorf("rotation.sources.%s: %w", s.Name, err)
	}
	return wireSettings{Name: s.Name, Provider: s.Provider, Grace: s.Grace, Timeout: s.Timeout, Length: s.Length, Charset: s.Charset, Raw: string(raw)}, nil
}

func (w wireSettings) settings() (rotate.Settings, error) {
	s := rotate.Settings{Name: w.Name, Provider: w.Provider, Grace: w.Grace, Timeout: w.Timeout, Length: w.Length, Charset: w.Charset, Raw: map[string]any{}}
	if err := yaml.Unmarshal([]byte(w.Raw), &s.Raw); err != nil {
		return s, fmt.Errorf("rotation.sources.%s: %w", w.Name, err)
	}
	if s.Raw == nil {
		s.Raw = map[string]any{}
	}
	return s, nil
}

func toWireResult(r *rotate.Result) *wireResult {
	if r == nil {
		return nil
	}
	w := &wireResult{Value: []byte(r.Value.Reveal()), OldValid: r.OldValid, State: r.State, RotateEvery: r.RotateEvery, Types: r.Types}
	if r.Also != nil {
		w.Also = make(map[string][]byte, len(r.Also))
		for k, v := range r.Also {
			w.Also[k] = []byte(v.Reveal())
		}
	}
	return w
}

func (w *wireResult) result() *rotate.Result {
	if w == nil {
		return nil
	}
	r := &rotate.Result{Value: store.Value(w.Value), OldValid: w.OldValid, State: w.State, RotateEvery: w.RotateEvery, Types: w.Types}
	if w.Also != nil {
		r.Also = make(map[string]store.Value, len(w.Also))
		for k, v := range w.Also {
			r.Also[k] = store.Value(v)
		}
	}
	return r
}

// Provider is a rotation provider run by the companion (see above). It
// implements rotate.Provider, rotate.Planner and rotate.Preflight: the
// companion answers the last two for a provider without them as hush
// would (no plan of its own, nothing to check).
type Provider struct {
	client   *Client
	settings rotate.Settings
}

var (
	_ rotate.Provider  = (*Provider)(nil)
	_ rotate.Planner   = (*Provider)(nil)
	_ rotate.Preflight = (*Provider)(nil)
)

// NewProvider checks s in the companion (its provider's Factory) and
// returns the provider: a bad setting fails here, before any phase, as it
// would in hush.
func NewProvider(c *Client, s rotate.Settings) (*Provider, error) {
	p := &Provider{client: c, settings: s}
	if _, err := p.phase(context.Background(), "rotate-check", &rotate.Request{Settings: s, Now: time.Now}, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Create implements rotate.Provider.
func (p *Provider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	res, err := p.phase(ctx, "rotate-create", req, nil)
	if err != nil {
		return nil, err
	}
	if res.Result == nil {
		return nil, fmt.Errorf("%s answered a rotation's create without a result", Companion)
	}
	return res.Result.result(), nil
}

// Verify implements rotate.Provider.
func (p *Provider) Verify(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	_, err := p.phase(ctx, "rotate-verify", req, res)
	return err
}

// Retire implements rotate.Provider.
func (p *Provider) Retire(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	_, err := p.phase(ctx, "rotate-retire", req, res)
	return err
}

// Plan implements rotate.Planner.
func (p *Provider) Plan(req *rotate.Request) string {
	res, err := p.phase(context.Background(), "rotate-plan", req, nil)
	if err != nil {
		return "cannot plan: " + err.Error()
	}
	return res.Text
}

// Preflight implements rotate.Preflight.
func (p *Provider) Preflight(req *rotate.Request) error {
	_, err := p.phase(context.Background(), "rotate-preflight", req, nil)
	return err
}

// callGrace is how long after a phase's deadline hush waits for the
// companion's own answer (its provider stopped by the same deadline)
// before it kills the companion, and with it the command's later
// requests.
const callGrace = 5 * time.Second

func (p *Provider) phase(ctx context.Context, op string, req *rotate.Request, res *rotate.Result) (*response, error) {
	set, err := toWireSettings(p.settings)
	if err != nil {
		return nil, err
	}
	w := &wireRotation{Settings: set, ID: req.ID, Env: req.Env, Key: req.Key, Old: []byte(req.Old.Reveal()), Proposed: []byte(req.Proposed.Reveal()),
		Dir: req.Dir, Now: time.Now(), Result: toWireResult(res)}
	if req.Now != nil {
		w.Now = req.Now()
	}
	if dl, ok := ctx.Deadline(); ok {
		w.Deadline = &dl
	}
	ctx, cancel := withGrace(ctx, callGrace)
	defer cancel()
	return p.client.callBack(ctx, &request{Op: op, Kind: p.settings.Provider, Rotation: w}, func(c *wireCall) *wireAnswer {
		switch c.Call {
		case "log":
			if req.Logf != nil {
				req.Logf("%s", c.Text)
			}
			return nil
		case "secret":
			if req.Secret == nil {
				return &wireAnswer{Error: toWireError(fmt.Errorf("%w: no secret can be read in this phase", store.ErrNotFound))}
			}
			v, err := req.Secret(c.Name)
			if err != nil {
				return &wireAnswer{Error: toWireError(err)}
			}
			return &wireAnswer{Value: []byte(v.Reveal())}
		}
		return &wireAnswer{Error: toWireError(fmt.Errorf("hush does not answer a %q call", c.Call))}
	})
}

// withGrace is ctx with its deadline moved grace later; a cancellation
// (an interrupt) still ends it at once.
func withGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	out, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl.Add(grace))
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return out, func() { stop(); cancel() }
}

// conversation is the companion's end of one request during which it
// calls back. Calls are one at a time (a provider's goroutines share it);
// once the request is answered it is closed, and a late log line from a
// goroutine the provider left running is dropped rather than read by
// hush as the answer to its next request.
type conversation struct {
	enc    *json.Encoder
	dec    *json.Decoder
	mu     gosync.Mutex
	closed bool
}

func (c *conversation) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

func (c *conversation) log(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		_ = c.enc.Encode(&response{Call: &wireCall{Call: "log", Text: text}})
	}
}

func (c *conversation) secret(name string) (store.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errors.New(Companion + ": a secret asked for after its request was answered")
	}
	if err := c.enc.Encode(&response{Call: &wireCall{Call: "secret", Name: name}}); err != nil {
		return "", err
	}
	var req request
	if err := c.dec.Decode(&req); err != nil {
		return "", fmt.Errorf("%s: reading hush's answer: %w", Companion, err)
	}
	if req.Op != "answer" || req.Answer == nil {
		return "", fmt.Errorf("%s: hush sent %q where it should have answered", Companion, req.Op)
	}
	if req.Answer.Error != nil {
		return "", req.Answer.Error.err()
	}
	return store.Value(req.Answer.Value), nil
}

// answerRotate is the companion's side of a rotate-* request.
func answerRotate(providers map[string]rotate.Factory, req *request, conv *conversation) *response {
	defer conv.close()
	fail := func(err error) *response { return &response{Error: toWireError(err)} }
	w := req.Rotation
	if w == nil {
		return fail(fmt.Errorf("%s: a rotation request without its rotation", Companion))
	}
	f, ok := providers[req.Kind]
	if !ok || w.Settings.Provider != req.Kind {
		return fail(fmt.Errorf("%s does not run rotation provider %q (it runs %s): install hush and %s from the same version", Companion, req.Kind, strings.Join(slices.Sorted(maps.Keys(providers)), ", "), Companion))
	}
	set, err := w.Settings.settings()
	if err != nil {
		return fail(err)
	}
	prov, err := f(set)
	if err != nil {
		return fail(err)
	}
	sent, received := w.Now, time.Now()
	r := &rotate.Request{ID: w.ID, Env: w.Env, Key: w.Key, Settings: set, Old: store.Value(w.Old), Proposed: store.Value(w.Proposed),
		Secret: conv.secret, Dir: w.Dir, Getenv: os.Getenv,
		Now:  func() time.Time { return sent.Add(time.Since(received)) },
		Logf: func(format string, args ...any) { conv.log(fmt.Sprintf(format, args...)) }}
	ctx := context.Background()
	if w.Deadline != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, *w.Deadline)
		defer cancel()
	}
	switch req.Op {
	case "rotate-check":
		return &response{}
	case "rotate-plan":
		if pl, ok := prov.(rotate.Planner); ok {
			return &response{Text: pl.Plan(r)}
		}
		return &response{Text: "rotate with provider " + set.Provider}
	case "rotate-preflight":
		if pf, ok := prov.(rotate.Preflight); ok {
			if err := pf.Preflight(r); err != nil {
				return fail(err)
			}
		}
		return &response{}
	case "rotate-create":
		res, err := prov.Create(ctx, r)
		if err != nil {
			return fail(err)
		}
		if res == nil {
			return fail(fmt.Errorf("provider %s created nothing", set.Provider))
		}
		return &response{Result: toWireResult(res)}
	case "rotate-verify", "rotate-retire":
		if w.Result == nil {
			return fail(fmt.Errorf("%s: %s without create's result", Companion, req.Op))
		}
		if req.Op == "rotate-verify" {
			err = prov.Verify(ctx, r, w.Result.result())
		} else {
			err = prov.Retire(ctx, r, w.Result.result())
		}
		if err != nil {
			return fail(err)
		}
		return &response{}
	}
	return fail(fmt.Errorf("%s: unknown request %q", Companion, req.Op))
}
