package sync

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
)

func vals(kv ...string) map[string]store.Value {
	m := map[string]store.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = store.Value(kv[i+1])
	}
	return m
}

func keys(cs []Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Key+":"+c.Kind.String())
	}
	return strings.Join(out, " ")
}

func TestCompare(t *testing.T) {
	t.Parallel()
	h := NewHasher([]byte("k"))
	base := vals("SAME", "1", "LCHG", "1", "RCHG", "1", "BOTH", "1", "BOTHSAME", "1", "LDEL", "1", "RDEL", "1", "GONE", "1")
	baseHashes := NewBase(h, "dev", base, base, nil)
	local := vals("SAME", "1", "LCHG", "2", "RCHG", "1", "BOTH", "L", "BOTHSAME", "x", "RDEL", "1", "LNEW", "n", "NEWBOTH", "a")
	remote := vals("SAME", "1", "LCHG", "1", "RCHG", "2", "BOTH", "R", "BOTHSAME", "x", "LDEL", "1", "RNEW", "n", "NEWBOTH", "b")
	d := Compare(h, "dev", local, &Snapshot{Values: remote}, baseHashes)
	if got, want := keys(d.Local), "LCHG:changed LDEL:removed LNEW:added"; got != want {
		t.Errorf("local = %q, want %q", got, want)
	}
	if got, want := keys(d.Remote), "RCHG:changed RDEL:removed RNEW:added"; got != want {
		t.Errorf("remote = %q, want %q", got, want)
	}
	if got, want := strings.Join(d.Conflicts, " "), "BOTH NEWBOTH"; got != want {
		t.Errorf("conflicts = %q, want %q", got, want)
	}
	if d.Status() != Diverged {
		t.Errorf("status = %s", d.Status())
	}

	_, err := d.PushPlan("dev", local, &Snapshot{Values: remote}, PreferNone)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "BOTH, NEWBOTH") {
		t.Fatalf("push without prefer: %v", err)
	}
	if strings.Contains(err.Error(), "\"L\"") || strings.Contains(err.Error(), "R,") {
		t.Errorf("conflict error mentions a value: %v", err)
	}
	p, err := d.PushPlan("dev", local, &Snapshot{Values: remote}, PreferLocal)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Result(); !reflect.DeepEqual(got, vals("SAME", "1", "LCHG", "2", "RCHG", "2", "BOTH", "L", "BOTHSAME", "x", "LNEW", "n", "RNEW", "n", "NEWBOTH", "a")) {
		t.Errorf("push result = %v", reveal(got))
	}
	set, del, err := d.PullChanges("dev", &Snapshot{Values: remote}, PreferRemote)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reveal(set), map[string]string{"RCHG": "2", "RNEW": "n", "BOTH": "R", "NEWBOTH": "b"}) || strings.Join(del, " ") != "RDEL" {
		t.Errorf("pull = %v, del %v", reveal(set), del)
	}
	// Pull with prefer local leaves the conflicts to a push.
	set, _, _ = d.PullChanges("dev", &Snapshot{Values: remote}, PreferLocal)
	if _, ok := set["BOTH"]; ok {
		t.Errorf("pull --prefer local took the remote BOTH")
	}
}

func reveal(m map[string]store.Value) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v.Reveal()
	}
	return out
}

func TestStatusAndFirstSync(t *testing.T) {
	t.Parallel()
	h := NewHasher([]byte("k"))
	for _, tc := range []struct {
		name          string
		local, remote map[string]store.Value
		want          Status
	}{
		{"empty", vals(), vals(), InStep},
		{"equal", vals("A", "1"), vals("A", "1"), InStep},
		{"ahead", vals("A", "1"), vals(), Ahead},
		{"behind", vals(), vals("A", "1"), Behind},
		{"both new, differing", vals("A", "1"), vals("A", "2"), Diverged},
	} {
		if got := Compare(h, "dev", tc.local, &Snapshot{Values: tc.remote}, nil).Status(); got != tc.want {
			t.Errorf("%s: status %s, want %s", tc.name, got, tc.want)
		}
	}
}

// After a push that leaves a remote change unpulled, the next compare must
// still show that change as remote.
func TestNewBaseKeepsUnsyncedChanges(t *testing.T) {
	t.Parallel()
	h := NewHasher([]byte("k"))
	base := NewBase(h, "dev", vals("A", "1", "B", "1"), vals("A", "1", "B", "1"), nil)
	local := vals("A", "2", "B", "1")
	remote := vals("A", "1", "B", "9")
	d := Compare(h, "dev", local, &Snapshot{Values: remote}, base)
	p, err := d.PushPlan("dev", local, &Snapshot{Values: remote}, PreferNone)
	if err != nil {
		t.Fatal(err)
	}
	after := p.Result()
	nb := NewBase(h, "dev", local, after, base)
	d2 := Compare(h, "dev", local, &Snapshot{Values: after}, nb)
	if keys(d2.Remote) != "B:changed" || len(d2.Local) != 0 || len(d2.Conflicts) != 0 {
		t.Errorf("after push: local %q remote %q conflicts %v", keys(d2.Local), keys(d2.Remote), d2.Conflicts)
	}
}

func TestHasherKeyed(t *testing.T) {
	t.Parallel()
	a, b := NewHasher([]byte("a")), NewHasher([]byte("b"))
	if a.Sum("dev", "K", "v") == b.Sum("dev", "K", "v") {
		t.Error("different keys give the same hash")
	}
	if a.Sum("dev", "K", "v") == a.Sum("prod", "K", "v") || a.Sum("dev", "K", "v") == a.Sum("dev", "K2", "v") {
		t.Error("hash does not bind environment and key")
	}
	if strings.Contains(a.Sum("dev", "K", "secretvalue"), "secretvalue") {
		t.Error("hash contains the value")
	}
}

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := NewState(filepath.Join(dir, "sub"), "vault-state.json")
	es, err := s.Load("dev", "secret/p/dev")
	if err != nil || len(es.Hashes) != 0 || es.Version != 0 {
		t.Fatalf("empty load: %+v %v", es, err)
	}
	if err := s.Save("dev", &EnvState{Location: "secret/p/dev", Version: 3, Hashes: map[string]string{"A": "h"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("prod", &EnvState{Location: "secret/p/prod", Version: 1, Hashes: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	es, _ = s.Load("dev", "secret/p/dev")
	if es.Version != 3 || es.Hashes["A"] != "h" {
		t.Errorf("dev state lost: %+v", es)
	}
	// A different location voids the state.
	es, _ = s.Load("dev", "secret/other/dev")
	if es.Version != 0 || len(es.Hashes) != 0 {
		t.Errorf("state of another location used: %+v", es)
	}
	st, err := os.Stat(s.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v %v", st.Mode(), err)
	}
	if err := os.WriteFile(s.Path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("dev", "secret/p/dev"); !errors.Is(err, store.ErrIntegrity) {
		t.Errorf("corrupt state: %v", err)
	}
}
