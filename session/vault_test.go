package session

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
)

// memVault is one object per environment in memory, with versions and
// check-and-set, at an address (as Vault has one for the audit log).
type memVault struct {
	snap   *sync.Snapshot // nil: nothing there
	pushes int
}

func (m *memVault) Location(env string) string { return "mem/" + env }
func (m *memVault) Address() string            { return "https://mem.example:8200" }

func (m *memVault) Pull(_ context.Context, env string) (*sync.Snapshot, error) {
	out := sync.NewSnapshot()
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

func (m *memVault) Push(_ context.Context, env string, plan *sync.Plan) (*sync.Snapshot, error) {
	cur := 0
	if m.snap != nil {
		cur = m.snap.Version
	}
	if plan.Base.Version != cur {
		return nil, sync.ErrConflict
	}
	m.pushes++
	m.snap = &sync.Snapshot{Values: plan.Result(), Version: cur + 1}
	return m.Pull(context.Background(), env)
}

// syncLines are the audit lines of command "vault push"/"vault pull" etc.
func syncLines(t *testing.T, s *Session, from int) []audit.Entry {
	return runAuditLog(t, s)[from:]
}

// A push writes the local changes with one line per key naming the Vault;
// a pull brings the remote's into the team store, each key a read line; a
// key both sides changed stops either way (nothing written, a failed sync
// line) until --prefer says which side wins.
func TestVaultSyncPlan(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "A", "a1")
	tr.set("dev", store.Team, "B", "b1")
	mv := &memVault{}
	vo := VaultOptions{Backend: mv}
	ctx := context.Background()

	s := tr.session("")
	n := len(runAuditLog(t, s))
	rep, err := s.VaultSync(ctx, VaultSyncOptions{VaultOptions: vo, Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Set, []string{"A", "B"}) || rep.Version != 1 || string(mv.snap.Values["A"]) != "a1" {
		t.Errorf("first push: %+v, remote %v", rep.Result, mv.snap)
	}
	lines := syncLines(t, s, n)
	if len(lines) != 2 || lines[0].Action != audit.SecretWrite || lines[0].Path != "runp/dev/A" || lines[0].Source != mv.Address() || !lines[0].Success {
		t.Errorf("push lines: %+v", lines)
	}

	// Nothing changed: in step, nothing written, no line.
	s = tr.session("")
	n = len(runAuditLog(t, s))
	r, err := s.VaultCompare(ctx, vo)
	if err != nil || r.Status() != sync.InStep {
		t.Fatalf("compare: %v %v", r, err)
	}
	if l := syncLines(t, s, n); len(l) != 1 || l[0].Action != audit.SecretList || l[0].Path != "runp/dev" {
		t.Errorf("compare lines: %+v", l)
	}

	// Remote changes B, pull brings it.
	mv.snap = &sync.Snapshot{Values: map[string]store.Value{"A": "a1", "B": "b2", "C": "c2"}, Version: 2}
	s = tr.session("")
	n = len(runAuditLog(t, s))
	rep, err = s.VaultSync(ctx, VaultSyncOptions{VaultOptions: vo})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Set, []string{"B", "C"}) || rep.OtherWay {
		t.Errorf("pull: %+v", rep)
	}
	if l := syncLines(t, s, n); len(l) != 2 || l[0].Action != audit.SecretRead || l[1].Path != "runp/dev/C" {
		t.Errorf("pull lines: %+v", l)
	}
	if sec, err := tr.session("").Get("dev", "B", false); err != nil || string(sec.Value) != "b2" {
		t.Errorf("B after pull: %v %v", sec, err)
	}

	// Both sides change A: push stops, writes nothing, and says so in the
	// log; then --prefer remote on a push keeps Vault's A and reports it.
	tr.set("dev", store.Team, "A", "a-local")
	mv.snap = &sync.Snapshot{Values: map[string]store.Value{"A": "a-remote", "B": "b2", "C": "c2"}, Version: 3}
	s = tr.session("")
	n = len(runAuditLog(t, s))
	pushes := mv.pushes
	_, err = s.VaultSync(ctx, VaultSyncOptions{VaultOptions: vo, Push: true})
	var ce *sync.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) && !errors.Is(err, sync.ErrConflict) || !slices.Equal(ce.Keys, []string{"A"}) {
		t.Fatalf("conflicting push: %v", err)
	}
	if mv.pushes != pushes {
		t.Error("a conflicting push wrote")
	}
	if l := syncLines(t, s, n); len(l) != 1 || l[0].Action != audit.SyncPush || l[0].Success || l[0].Source != mv.Address() || !strings.Contains(l[0].Error, "both sides changed") {
		t.Errorf("conflict line: %+v", l)
	}
	rep, err = tr.session("").VaultSync(ctx, VaultSyncOptions{VaultOptions: vo, Push: true, Prefer: "remote"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.KeptConflicts, []string{"A"}) || string(mv.snap.Values["A"]) != "a-remote" {
		t.Errorf("push --prefer remote: kept %v, remote A %q", rep.KeptConflicts, mv.snap.Values["A"])
	}
	if _, err := tr.session("").VaultSync(ctx, VaultSyncOptions{VaultOptions: vo, Prefer: "theirs"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("--prefer theirs: %v", err)
	}
}

// A sync is refused before the remote is read or written when the audit
// log cannot be written.
func TestVaultSyncRefusedWhenAuditUnwritable(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "A", "a1")
	s := tr.session("")
	logPath := s.AuditLog().Path
	if err := os.Remove(logPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(logPath, 0o700); err != nil {
		t.Fatal(err)
	}
	mv := &memVault{}
	if _, err := s.VaultSync(context.Background(), VaultSyncOptions{VaultOptions: VaultOptions{Backend: mv}, Push: true}); err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("push with an unwritable log: %v", err)
	}
	if _, err := s.VaultCompare(context.Background(), VaultOptions{Backend: mv}); err == nil {
		t.Fatal("compare with an unwritable log succeeded")
	}
	if mv.pushes != 0 || mv.snap != nil {
		t.Error("the remote was written")
	}
}
