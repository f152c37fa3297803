package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/synctest"
)

// The test binary is also the companion: run with HUSH_CLOUD_TEST_SERVE=1
// it serves the memory driver over its stdin and stdout.
func TestMain(m *testing.M) {
	if os.Getenv("HUSH_CLOUD_TEST_SERVE") == "1" {
		os.Exit(Serve(Services{Drivers: map[string]Driver{"mem": &memDriver{}, "fail": failDriver{}}, Providers: testProviders}, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func client(t *testing.T) *Client {
	c := &Client{Path: os.Args[0], Env: append(os.Environ(), "HUSH_CLOUD_TEST_SERVE=1"), Stderr: os.Stderr}
	t.Cleanup(func() { c.Close() })
	return c
}

// memDriver keeps environments in memory, one object per environment
// with a version, check-and-set on it.
type memDriver struct{ b *memBackend }

type memBackend struct{ envs map[string]*hushsync.Snapshot }

func (d *memDriver) Open(_ context.Context, config json.RawMessage) (hushsync.Backend, error) {
	if string(config) != `{"where":"here"}` {
		return nil, fmt.Errorf("config %s did not cross intact", config)
	}
	if d.b == nil {
		d.b = &memBackend{envs: map[string]*hushsync.Snapshot{}}
	}
	return d.b, nil
}

func (d *memDriver) Resolve(_ context.Context, ref string) ([]byte, error) {
	if ref == "mem://pid" {
		return []byte(fmt.Sprint(os.Getpid())), nil
	}
	if ref == "mem://bin" {
		return []byte("\x00\xff"), nil
	}
	return nil, fmt.Errorf("mem: %s: %w", ref, store.ErrNotFound)
}

func (m *memBackend) Location(env string) string { return "mem:" + env }

func (m *memBackend) Pull(_ context.Context, env string) (*hushsync.Snapshot, error) {
	s := hushsync.NewSnapshot()
	if cur := m.envs[env]; cur != nil {
		for k, v := range cur.Values {
			s.Values[k] = v
		}
		s.Version = cur.Version
	} else {
		s.Missing = true
	}
	return s, nil
}

func (m *memBackend) Push(_ context.Context, env string, p *hushsync.Plan) (*hushsync.Snapshot, error) {
	cur := m.envs[env]
	ver := 0
	if cur != nil {
		ver = cur.Version
	}
	if ver != p.Base.Version {
		return nil, fmt.Errorf("mem: %s: %w", env, hushsync.ErrConflict)
	}
	s := hushsync.NewSnapshot()
	s.Values, s.Version = p.Result(), ver+1
	m.envs[env] = s
	return m.Pull(context.Background(), env)
}

// failDriver answers every request with the error its config names.
type failDriver struct{}

var kinds = map[string]error{
	"conflict": hushsync.ErrConflict, "deleted": hushsync.ErrDeleted, "denied": hushsync.ErrDenied,
	"unavailable": hushsync.ErrUnavailable, "noengine": hushsync.ErrNoEngine, "notfound": store.ErrNotFound,
	"invalid": store.ErrInvalid,
}

func (failDriver) Open(_ context.Context, config json.RawMessage) (hushsync.Backend, error) {
	var name string
	_ = json.Unmarshal(config, &name)
	if name == "partial" {
		return partialBackend{}, nil
	}
	return nil, fmt.Errorf("fail: opening: %w", kinds[name])
}

func (failDriver) Resolve(_ context.Context, ref string) ([]byte, error) {
	return nil, fmt.Errorf("fail: %w", kinds[strings.TrimPrefix(ref, "fail://")])
}

type partialBackend struct{}

func (partialBackend) Location(string) string { return "" }
func (partialBackend) Pull(context.Context, string) (*hushsync.Snapshot, error) {
	return nil, errors.New("plain failure")
}
func (partialBackend) Push(_ context.Context, _ string, p *hushsync.Plan) (*hushsync.Snapshot, error) {
	w := hushsync.NewSnapshot()
	w.Values["A"] = "\xfe"
	w.Versions["A"] = 3
	return nil, &hushsync.PartialError{Err: fmt.Errorf("cut off: %w", hushsync.ErrUnavailable), Written: w, Set: []string{"A"}, Planned: 2}
}

func TestConformanceThroughTheWire(t *testing.T) {
	synctest.Run(t, func(t *testing.T) (hushsync.Backend, synctest.Remote) {
		c := client(t)
		return &Backend{Client: c, Kind: "mem", Config: json.RawMessage(`{"where":"here"}`)}, synctest.Remote{
			Unreachable: func(t *testing.T) hushsync.Backend {
				return &Backend{Client: &Client{Path: "/nonexistent/hush-cloud"}, Kind: "mem"}
			},
		}
	})
}

func TestErrorKindsCross(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	for name, want := range kinds {
		cfg, _ := json.Marshal(name)
		_, err := (&Backend{Client: c, Kind: "fail", Config: cfg}).Pull(ctx, "dev")
		if !errors.Is(err, want) || !strings.Contains(err.Error(), "fail: opening") {
			t.Errorf("%s: pull error %v, want %v with the driver's text", name, err, want)
		}
		if _, err := c.Resolve(ctx, "fail", "fail://"+name); !errors.Is(err, want) {
			t.Errorf("%s: resolve error %v", name, err)
		}
	}
	// Exactness matters: a denial is unavailable but not a conflict; a
	// deletion is a conflict but not unavailable.
	if _, err := c.Resolve(ctx, "fail", "fail://denied"); errors.Is(err, hushsync.ErrConflict) || !errors.Is(err, hushsync.ErrDenied) {
		t.Errorf("denied: %v", err)
	}
	b := &Backend{Client: c, Kind: "fail", Config: json.RawMessage(`"partial"`)}
	_, err := b.Push(ctx, "dev", &hushsync.Plan{Base: hushsync.NewSnapshot(), Set: synctest.Vals("A", "x", "B", "y")})
	var pe *hushsync.PartialError
	if !errors.As(err, &pe) || !errors.Is(err, hushsync.ErrUnavailable) || pe.Planned != 2 || pe.Written.Values["A"] != "\xfe" || pe.Written.Versions["A"] != 3 {
		t.Fatalf("partial push: %#v", err)
	}
	if _, err := b.Pull(ctx, "dev"); err == nil || errors.Is(err, hushsync.ErrUnavailable) || err.Error() != "plain failure" {
		t.Errorf("plain error: %v", err)
	}
	// An unknown kind is a clear error, and the process still answers.
	if _, err := c.Resolve(ctx, "nope", "nope://x"); err == nil || !strings.Contains(err.Error(), `does not serve "nope"`) {
		t.Errorf("unknown kind: %v", err)
	}
	if v, err := c.Resolve(ctx, "mem", "mem://bin"); err != nil || string(v) != "\x00\xff" {
		t.Errorf("resolve after errors: %q %v", v, err)
	}
	if _, err := c.Resolve(ctx, "mem", "mem://none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("resolve of nothing: %v", err)
	}
}

func TestCancelKillsTheCompanion(t *testing.T) {
	c := client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Resolve(ctx, "mem", "mem://bin"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := (&Client{Path: "/nonexistent"}).Resolve(context.Background(), "mem", "x"); !errors.Is(err, hushsync.ErrUnavailable) {
		t.Errorf("no companion: %v", err)
	}
}

// One companion answers every request of a client, pulls and pushes of
// several environments and references alike, until Close.
func TestOneCompanionPerClient(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	first, err := c.Resolve(ctx, "mem", "mem://pid")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Client: c, Kind: "mem", Config: json.RawMessage(`{"where":"here"}`)}
	for _, env := range []string{"a", "b"} {
		if _, err := synctest.PushAll(t, b, env, synctest.Vals("K", env)); err != nil {
			t.Fatal(err)
		}
	}
	again, err := c.Resolve(ctx, "mem", "mem://pid")
	if err != nil || string(again) != string(first) {
		t.Fatalf("second request answered by pid %s, the first by %s (%v)", again, first, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(ctx, "mem", "mem://pid"); err == nil {
		t.Error("a closed client still answers")
	}
}
