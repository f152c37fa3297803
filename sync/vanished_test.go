package sync

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// memBackend is one object per environment in memory, with versions and
// check-and-set, that a test can make vanish.
type memBackend struct {
	snap     *Snapshot // nil: nothing there
	noEngine bool
}

func (m *memBackend) Location(env string) string { return "mem/" + env }

func (m *memBackend) Pull(_ context.Context, env string) (*Snapshot, error) {
	if m.noEngine {
		return nil, ErrNoEngine
	}
	out := NewSnapshot()
	if m.snap == nil {
		out.Missing = true
		return out, nil
	}
	out.Version = m.snap.Version
	for k, v := range m.snap.Values {
		out.Values[k] = v
	}
	return out, nil
}

func (m *memBackend) Push(_ context.Context, env string, plan *Plan) (*Snapshot, error) {
	cur := 0
	if m.snap != nil {
		cur = m.snap.Version
	}
	if plan.Base.Version != cur {
		return nil, ErrConflict
	}
	m.snap = &Snapshot{Values: plan.Result(), Version: cur + 1}
	return m.Pull(context.Background(), env)
}

func newSyncer(t *testing.T) (*Syncer, *memBackend) {
	t.Helper()
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p, err := store.Create(root, filepath.Join(root, "data"), &store.Config{Version: store.ConfigVersion, Project: "demo", Environments: map[string]*store.EnvConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateEnv("dev", []store.Recipient{{Key: id.Public, Label: "me"}}, id); err != nil {
		t.Fatal(err)
	}
	err = p.Update("dev", store.Team, id, func(d *store.Document) error {
		d.SetValue("A", "a", time.Now())
		d.SetValue("B", "b", time.Now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &memBackend{}
	return &Syncer{Backend: m, Project: p, Env: "dev", Identity: id, Hasher: NewHasher([]byte("k")),
		State: NewState(filepath.Join(root, "data"), "state.json"), Now: time.Now}, m
}

func localValues(t *testing.T, s *Syncer) map[string]store.Value {
	t.Helper()
	d, err := s.Project.Read("dev", store.Team, s.Identity)
	if err != nil {
		t.Fatal(err)
	}
	return Values(d)
}

func TestVanishedRemoteIsNotADeletion(t *testing.T) {
	ctx := context.Background()
	s, m := newSyncer(t)
	// Never synced: an empty remote is just empty, and push fills it.
	if r, err := s.Compare(ctx); err != nil || r.Vanished != nil || r.Status() != Ahead {
		t.Fatalf("first compare: %+v, %v", r, err)
	}
	if _, err := s.Push(ctx, PreferNone); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"missing", "no engine"} {
		m.snap, m.noEngine = nil, what == "no engine"
		var v *VanishedError
		if _, err := s.Pull(ctx, PreferRemote); !errors.As(err, &v) || !errors.Is(err, ErrConflict) || v.Keys != 2 || v.Version != 1 || v.NoEngine != m.noEngine {
			t.Fatalf("%s: Pull = %v", what, err)
		}
		if got := localValues(t, s); len(got) != 2 {
			t.Fatalf("%s: pull changed the local store: %d keys", what, len(got))
		}
		if _, err := s.Push(ctx, PreferNone); !errors.As(err, &v) {
			t.Fatalf("%s: plain Push = %v", what, err)
		}
	}
	m.noEngine = false
	if r, err := s.Compare(ctx); err != nil || r.Status() != "remote vanished" {
		t.Fatalf("status: %+v, %v", r, err)
	}
	res, err := s.Push(ctx, PreferLocal)
	if err != nil || len(res.Set) != 2 || m.snap == nil || m.snap.Version != 1 || m.snap.Values["A"].Reveal() != "a" {
		t.Fatalf("Push --prefer local = %+v, %v (remote %+v)", res, err, m.snap)
	}
	if r, err := s.Compare(ctx); err != nil || r.Status() != InStep {
		t.Fatalf("after restore: %+v, %v", r, err)
	}
}

func TestRecreatedRemoteComparesAsFirstSync(t *testing.T) {
	ctx := context.Background()
	s, m := newSyncer(t)
	for i := 0; i < 3; i++ { // synced with the remote at version 2
		m.snap = nil
		if i > 0 {
			m.snap = &Snapshot{Values: vals("A", "a", "B", "b"), Version: i}
		}
		if _, err := s.Push(ctx, PreferLocal); err != nil {
			t.Fatal(err)
		}
	}
	// Someone deletes it and writes it anew with one key.
	m.snap = &Snapshot{Values: vals("A", "a"), Version: 1}
	r, err := s.Compare(ctx)
	if err != nil || !r.Recreated || len(r.Diff.Remote) != 0 || keys(r.Diff.Local) != "B:added" {
		t.Fatalf("Compare = %+v, %v", r, err)
	}
	if res, err := s.Pull(ctx, PreferNone); err != nil || len(res.Deleted) != 0 {
		t.Fatalf("Pull = %+v, %v", res, err)
	}
	if got := localValues(t, s); len(got) != 2 {
		t.Fatalf("pull deleted a local key: %v", len(got))
	}
	// The saved state does not turn B into a remote deletion later.
	if r, err := s.Compare(ctx); err != nil || keys(r.Diff.Local) != "B:added" || len(r.Diff.Remote) != 0 {
		t.Fatalf("second Compare = %+v, %v", r.Diff, err)
	}
}
