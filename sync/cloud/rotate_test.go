package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// testProviders is what the test companion runs: "echo", a provider that
// shows in its results what reached it.
var testProviders = map[string]rotate.Factory{"echo": newEcho}

type echoSettings struct {
	Admin string `yaml:"admin"`
	Port  int    `yaml:"port"`
	Fail  string `yaml:"fail"`
}

type echoProvider struct{ set echoSettings }

func newEcho(s rotate.Settings) (rotate.Provider, error) {
	var e echoProvider
	if err := s.Decode(&e.set); err != nil {
		return nil, err
	}
	if e.set.Port == 0 {
		return nil, fmt.Errorf("%w: rotation.sources.%s: no port", store.ErrInvalid, s.Name)
	}
	return &e, nil
}

func (e *echoProvider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	switch e.set.Fail {
	case "slow":
		<-ctx.Done()
		return nil, fmt.Errorf("echo: waited: %w", ctx.Err())
	case "late-log":
		// A goroutine the provider leaves behind, logging after the
		// answer: it must not be read as the next request's answer.
		go func() { time.Sleep(50 * time.Millisecond); req.Logf("late") }()
	}
	admin, err := req.Secret(e.set.Admin)
	if err != nil {
		return nil, fmt.Errorf("echo: the admin secret: %w", err)
	}
	req.Logf("creating for %s/%s on port %d", req.Env, req.Key, e.set.Port)
	dl, _ := ctx.Deadline()
	return &rotate.Result{Value: req.Proposed + "|" + admin, Also: map[string]store.Value{"OLD": req.Old}, OldValid: true,
		State:       map[string]string{"now": req.Now().UTC().Format(time.RFC3339), "deadline": dl.UTC().Format(time.RFC3339), "id": req.ID, "dir": req.Dir},
		RotateEvery: "60d", Types: map[string]string{"OLD": "tls"}}, nil
}

func (e *echoProvider) Verify(_ context.Context, _ *rotate.Request, res *rotate.Result) error {
	if e.set.Fail == "verify" {
		return hint.With(fmt.Errorf("%w: echo: the server refused %s", rotate.ErrUnavailable, res.State["id"]), "start the server")
	}
	if res.Value != "P\xff|A\x00" || res.Also["OLD"] != "O\xfe" {
		return fmt.Errorf("the result did not come back intact: %q %q", res.Value, res.Also["OLD"])
	}
	return nil
}

func (e *echoProvider) Retire(_ context.Context, req *rotate.Request, _ *rotate.Result) error {
	_, err := req.Secret("NOPE")
	return err
}

func (e *echoProvider) Plan(req *rotate.Request) string { return "echo " + req.Key }

func echoSet(t *testing.T, raw map[string]any) rotate.Settings {
	t.Helper()
	raw["provider"] = "echo"
	s, err := rotate.ParseSettings("API_KEY", raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRotationThroughTheWire runs every phase of a provider in the
// companion: settings as hush read them (a number stays a number),
// values with invalid UTF-8 and NULs both ways, the secret the provider
// asks for answered by hush, its log lines shown by hush, hush's clock,
// the phase's deadline, errors with their kind and hint.
func TestRotationThroughTheWire(t *testing.T) {
	c := client(t)
	var asked []string
	var logged []string
	clock := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	req := &rotate.Request{ID: "r1", Env: "prod", Key: "API_KEY", Old: "O\xfe", Proposed: "P\xff", Dir: "/proj",
		Secret: func(name string) (store.Value, error) {
			asked = append(asked, name)
			if name == "ADMIN" {
				return "A\x00", nil
			}
			return "", fmt.Errorf("%s: %w", name, store.ErrNotFound)
		},
		Now:  func() time.Time { return clock },
		Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}

	p, err := NewProvider(c, echoSet(t, map[string]any{"admin": "ADMIN", "port": 5432}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value != "P\xff|A\x00" || res.Also["OLD"] != "O\xfe" || !res.OldValid || res.RotateEvery != "60d" || res.Types["OLD"] != "tls" {
		t.Errorf("result %#v", res)
	}
	if res.State["now"] != "2031-05-06T07:08:09Z" || res.State["id"] != "r1" || res.State["dir"] != "/proj" {
		t.Errorf("the provider saw %v: not hush's clock, id or project", res.State)
	}
	if dl, _ := ctx.Deadline(); res.State["deadline"] != dl.UTC().Format(time.RFC3339) {
		t.Errorf("the provider's deadline %s, hush's %s", res.State["deadline"], dl.UTC().Format(time.RFC3339))
	}
	if strings.Join(asked, ",") != "ADMIN" || len(logged) != 1 || logged[0] != "creating for prod/API_KEY on port 5432" {
		t.Errorf("asked %v, logged %q", asked, logged)
	}
	if err := p.Verify(ctx, req, res); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := p.Retire(ctx, req, res); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("retire: the secret's not-found did not cross back: %v", err)
	}
	if got := p.Plan(req); got != "echo API_KEY" {
		t.Errorf("plan %q", got)
	}
	if err := p.Preflight(req); err != nil {
		t.Errorf("preflight of a provider without one: %v", err)
	}

	failing, err := NewProvider(c, echoSet(t, map[string]any{"admin": "ADMIN", "port": 1, "fail": "verify"}))
	if err != nil {
		t.Fatal(err)
	}
	err = failing.Verify(ctx, req, res)
	if !errors.Is(err, rotate.ErrUnavailable) || hint.Of(err) != "start the server" || !strings.Contains(err.Error(), "refused r1") {
		t.Errorf("verify error %v (hint %q): kind, hint or text lost", err, hint.Of(err))
	}

	// Settings are checked in the companion, before any phase.
	if _, err := NewProvider(c, echoSet(t, map[string]any{"admin": "ADMIN"})); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("missing port: %v", err)
	}
	if _, err := NewProvider(c, echoSet(t, map[string]any{"port": 1, "typo": 1})); err == nil || !strings.Contains(err.Error(), "typo") {
		t.Errorf("unknown field: %v", err)
	}
	other, _ := rotate.ParseSettings("K", map[string]any{"provider": "nosuch"})
	if _, err := NewProvider(c, other); err == nil || !strings.Contains(err.Error(), `does not run rotation provider "nosuch" (it runs echo)`) {
		t.Errorf("unknown provider: %v", err)
	}
}

// A phase that overruns its timeout ends with the companion's own
// deadline error, and the companion lives on for the command's next
// request; a log line a provider's goroutine sends after its answer is
// not taken for the next answer.
func TestRotationTimeoutAndStrayLog(t *testing.T) {
	c := client(t)
	req := &rotate.Request{Key: "K", Secret: func(string) (store.Value, error) { return "a", nil }, Logf: func(string, ...any) {}}
	slow, err := NewProvider(c, echoSet(t, map[string]any{"port": 1, "fail": "slow"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := slow.Create(ctx, req); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "echo: waited") {
		t.Fatalf("slow create: %v", err)
	}
	pid, err := c.Resolve(context.Background(), "mem", "mem://pid")
	if err != nil {
		t.Fatalf("the companion did not survive a phase's timeout: %v", err)
	}
	late, err := NewProvider(c, echoSet(t, map[string]any{"port": 1, "fail": "late-log"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	again, err := c.Resolve(context.Background(), "mem", "mem://pid")
	if err != nil || string(again) != string(pid) {
		t.Fatalf("after a stray log line: %q %v (first pid %s)", again, err, pid)
	}
	// An interrupt (not a deadline) still ends the call at once.
	ictx, icancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, icancel)
	if _, err := slow.Create(ictx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted create: %v", err)
	}
}

// A request that takes no calls back refuses one: the companion cannot
// turn a pull into a question.
func TestNoCallBackOutsideRotation(t *testing.T) {
	c := client(t)
	_, err := c.call(context.Background(), &request{Op: "rotate-create", Kind: "echo", Rotation: &wireRotation{Settings: wireSettings{Provider: "echo", Raw: "port: 1\nadmin: X\n"}}})
	if err == nil || !strings.Contains(err.Error(), "takes none") {
		t.Errorf("a call back during a plain call: %v", err)
	}
}
