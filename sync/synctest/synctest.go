// Package synctest is a conformance suite for sync.Backend: every MUST in
// sync/sync.go's Backend doc, run against a real remote. A backend's test
// calls Run with a function that returns a backend on a remote it may
// write to, and a Remote saying what the test can do to that remote
// behind the backend's back (lose an answer, make it unreachable, delete
// out of band). A hook left nil skips the rules that need it, with the
// reason in the test log.
package synctest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// Remote is what the suite may do to the remote a backend talks to.
type Remote struct {
	// LoseAnswer arms a fault in front of the backend: the next write
	// reaches the remote and is committed, but its answer is lost (the
	// backend sees a transport error). Faults.LoseNextWrite does this for
	// an HTTP backend. Nil skips the lost-answer rule.
	LoseAnswer func()
	// ServerErrors, while on, makes every request answered with a server
	// error or a throttling answer (Faults.ServerErrors). Nil skips the
	// bounded-retry rule.
	ServerErrors func(on bool)
	// Unreachable returns a backend configured as the one under test but
	// whose remote cannot be reached (a closed port). Nil skips.
	Unreachable func(t *testing.T) hushsync.Backend
	// NoEngine returns a backend whose store does not exist (for Vault: an
	// unmounted path). Nil skips: not every remote has such a thing.
	NoEngine func(t *testing.T) hushsync.Backend
	// Delete removes key of env out of band, as another client would: a
	// soft deletion where the remote has them (Pull must then report it in
	// DeletedKeys, or Deleted for a layout with one object per
	// environment). Nil skips.
	Delete func(t *testing.T, env, key string)
	// Vanish removes everything env has on the remote, metadata and
	// versions (Pull must then say Missing). Nil skips.
	Vanish func(t *testing.T, env string)
	// TextOnly says the remote cannot hold bytes that are not UTF-8: Push
	// must then refuse such a value with store.ErrInvalid, writing
	// nothing, instead of storing it.
	TextOnly bool
	// PerKeyChecks says the backend checks each key's version as it writes
	// it (several writes in parallel), so a conflict on one key may leave
	// other keys of the plan written: it must then say so with a
	// *hushsync.PartialError. Without it, a conflicting push writes nothing.
	PerKeyChecks bool
	// RetryBudget bounds how long a push or pull may retry against server
	// errors before failing (0: 60s).
	RetryBudget time.Duration
}

// New returns a backend on a remote the test may write to and what the
// test can do to it. Run calls it once per rule.
type New func(t *testing.T) (hushsync.Backend, Remote)

var envSeq atomic.Int64

// freshEnv is an environment name no other rule (or run) has used.
func freshEnv() string {
	return fmt.Sprintf("st%d-%d", time.Now().UnixNano()%1e9, envSeq.Add(1))
}

// Run checks every rule of sync.Backend against the backends new returns.
func Run(t *testing.T, new New) {
	t.Helper()
	rules := []struct {
		name string
		fn   func(*testing.T, hushsync.Backend, Remote, string)
	}{
		{"FreshRemoteIsMissing", testMissing},
		{"RoundTrip", testRoundTrip},
		{"BinaryAndEmptyValues", testBinary},
		{"PushResultIsNextBase", testResultIsBase},
		{"StaleBaseConflicts", testStale},
		{"StaleDeleteConflicts", testStaleDelete},
		{"ConcurrentCreateConflicts", testConcurrentCreate},
		{"Deletes", testDeletes},
		{"DeletedOutOfBand", testDeletedOutOfBand},
		{"Vanished", testVanished},
		{"LostAnswerRecognised", testLostAnswer},
		{"ServerErrorsBounded", testServerErrors},
		{"Unreachable", testUnreachable},
		{"NoEngine", testNoEngine},
		{"ErrorsCarryNoValue", testErrorsCarryNoValue},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			b, rem := new(t)
			r.fn(t, b, rem, freshEnv())
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// Vals makes a value map from key, value pairs.
func Vals(kv ...string) map[string]store.Value {
	m := map[string]store.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = store.Value(kv[i+1])
	}
	return m
}

// Show is a map's contents for a failure message, values quoted (the
// suite's values are test values, not secrets).
func Show(m map[string]store.Value) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "%s=%q ", k, m[k].Reveal())
	}
	return strings.TrimSpace(b.String())
}

func same(a, b map[string]store.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w.Reveal() != v.Reveal() {
			return false
		}
	}
	return true
}

func pull(t *testing.T, b hushsync.Backend, env string) *hushsync.Snapshot {
	t.Helper()
	s, err := b.Pull(ctx(t), env)
	if err != nil {
		t.Fatalf("pull %s: %v", env, err)
	}
	if s == nil || s.Values == nil {
		t.Fatalf("pull %s: snapshot %+v without values", env, s)
	}
	return s
}

// PushAll makes the remote hold want, through a pull and a plan, and
// returns what the push returned.
func PushAll(t *testing.T, b hushsync.Backend, env string, want map[string]store.Value) (*hushsync.Snapshot, error) {
	t.Helper()
	base := pull(t, b, env)
	return b.Push(ctx(t), env, PlanFor(base, want))
}

// PlanFor is the plan that turns base into want.
func PlanFor(base *hushsync.Snapshot, want map[string]store.Value) *hushsync.Plan {
	p := &hushsync.Plan{Base: base, Set: map[string]store.Value{}}
	for k, v := range want {
		if cur, ok := base.Values[k]; !ok || cur.Reveal() != v.Reveal() {
			p.Set[k] = v
		}
	}
	for k := range base.Values {
		if _, ok := want[k]; !ok {
			p.Delete = append(p.Delete, k)
		}
	}
	sort.Strings(p.Delete)
	return p
}

func mustPush(t *testing.T, b hushsync.Backend, env string, want map[string]store.Value) *hushsync.Snapshot {
	t.Helper()
	out, err := PushAll(t, b, env, want)
	if err != nil {
		t.Fatalf("push %s: %v", env, err)
	}
	if out == nil || !same(out.Values, want) {
		t.Fatalf("push %s returned %+v, want values %s", env, out, Show(want))
	}
	return out
}

func expect(t *testing.T, b hushsync.Backend, env string, want map[string]store.Value) *hushsync.Snapshot {
	t.Helper()
	got := pull(t, b, env)
	if !same(got.Values, want) {
		t.Fatalf("remote holds %s, want %s", Show(got.Values), Show(want))
	}
	if got.Missing {
		t.Fatalf("a remote holding %s says Missing", Show(want))
	}
	return got
}

func testMissing(t *testing.T, b hushsync.Backend, _ Remote, env string) {
	s := pull(t, b, env)
	if !s.Missing || s.Version != 0 || len(s.Values) != 0 || s.Deleted || len(s.DeletedKeys) != 0 {
		t.Fatalf("fresh remote: %+v, want Missing, version 0, no values", s)
	}
	if b.Location(env) == "" || b.Location(env) == b.Location(env+"x") {
		t.Errorf("Location(%q) = %q: it must name env's place", env, b.Location(env))
	}
	// An empty plan changes nothing and is no error.
	if _, err := b.Push(ctx(t), env, &hushsync.Plan{Base: s}); err != nil {
		t.Fatalf("empty plan: %v", err)
	}
	if s := pull(t, b, env); !s.Missing {
		t.Errorf("an empty plan created something: %+v", s)
	}
}

func testRoundTrip(t *testing.T, b hushsync.Backend, _ Remote, env string) {
	want := Vals("A", "1", "MULTI", "two\nlines\n", "SPACES", "  padded  ", "UNICODE", "héllo ✓ 日本", "QUOTE", `"'\`+"`$x")
	mustPush(t, b, env, want)
	got := expect(t, b, env, want)
	want["A"] = "changed"
	delete(want, "QUOTE")
	want["NEW"] = "n"
	mustPush(t, b, env, want)
	got2 := expect(t, b, env, want)
	if got2.Version == got.Version && got.Version != 0 {
		t.Errorf("a changed snapshot kept version %d", got.Version)
	}
}

func testBinary(t *testing.T, b hushsync.Backend, r Remote, env string) {
	binary := Vals("BIN", "\x00\xff\xfe\x80 raw\x00", "LATIN1", "caf\xe9")
	text := Vals("EMPTY", "", "NUL", "a\x00b", "CRLF", "a\r\nb\r\n", "LONG", strings.Repeat("x", 2000))
	if r.TextOnly {
		mustPush(t, b, env, text)
		all := Vals()
		for k, v := range text {
			all[k] = v
		}
		for k, v := range binary {
			all[k] = v
		}
		_, err := PushAll(t, b, env, all)
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("push of non-UTF-8 to a text-only remote: %v, want ErrInvalid", err)
		}
		expect(t, b, env, text)
		return
	}
	all := Vals()
	for _, m := range []map[string]store.Value{text, binary} {
		for k, v := range m {
			all[k] = v
		}
	}
	out := mustPush(t, b, env, all)
	expect(t, b, env, all)
	// A value that only looks like the backend's own encoding of bytes
	// comes back as it was written.
	for _, v := range []string{"base64:AP/+", "b64:AP8=", "=?binary?=", "\\x00"} {
		all["LOOKALIKE"] = store.Value(v)
		plan := PlanFor(out, all)
		var err error
		if out, err = b.Push(ctx(t), env, plan); err != nil {
			t.Fatalf("push %q: %v", v, err)
		}
		expect(t, b, env, all)
	}
}

func testResultIsBase(t *testing.T, b hushsync.Backend, _ Remote, env string) {
	out := mustPush(t, b, env, Vals("A", "1", "B", "2"))
	// The snapshot a push returns is a valid base for the next push: no
	// pull in between.
	out, err := b.Push(ctx(t), env, PlanFor(out, Vals("A", "1", "B", "3", "C", "4")))
	if err != nil {
		t.Fatalf("push from the returned snapshot: %v", err)
	}
	out, err = b.Push(ctx(t), env, PlanFor(out, Vals("B", "3")))
	if err != nil {
		t.Fatalf("delete from the returned snapshot: %v", err)
	}
	if _, err = b.Push(ctx(t), env, PlanFor(out, Vals("A", "again", "B", "3"))); err != nil {
		t.Fatalf("re-create from the returned snapshot: %v", err)
	}
	expect(t, b, env, Vals("A", "again", "B", "3"))
}

// conflictLeft checks a refused push: ErrConflict, and the remote at want;
// a per-key backend may have written others of the plan if it says so.
func conflictLeft(t *testing.T, b hushsync.Backend, r Remote, env string, err error, want map[string]store.Value, plan *hushsync.Plan) {
	t.Helper()
	if !errors.Is(err, hushsync.ErrConflict) {
		t.Fatalf("push from a stale base: %v, want ErrConflict", err)
	}
	got := pull(t, b, env)
	var partial *hushsync.PartialError
	if r.PerKeyChecks && errors.As(err, &partial) {
		for _, k := range partial.Set {
			want[k] = plan.Set[k]
		}
		for _, k := range partial.Deleted {
			delete(want, k)
		}
	}
	if !same(got.Values, want) {
		t.Fatalf("after a refused push the remote holds %s, want %s (a conflict changes nothing)", Show(got.Values), Show(want))
	}
}

func testStale(t *testing.T, b hushsync.Backend, r Remote, env string) {
	mustPush(t, b, env, Vals("A", "1", "B", "2"))
	stale := pull(t, b, env)
	// Another writer changes A.
	mustPush(t, b, env, Vals("A", "theirs", "B", "2"))
	// Our plan from the stale base: change A and B, add C.
	plan := PlanFor(stale, Vals("A", "mine", "B", "mine", "C", "new"))
	_, err := b.Push(ctx(t), env, plan)
	conflictLeft(t, b, r, env, err, Vals("A", "theirs", "B", "2"), plan)
}

func testStaleDelete(t *testing.T, b hushsync.Backend, r Remote, env string) {
	mustPush(t, b, env, Vals("A", "1", "B", "2"))
	stale := pull(t, b, env)
	mustPush(t, b, env, Vals("A", "theirs", "B", "2"))
	// Deleting the A we read must not delete the A they wrote.
	plan := PlanFor(stale, Vals("B", "2"))
	_, err := b.Push(ctx(t), env, plan)
	conflictLeft(t, b, r, env, err, Vals("A", "theirs", "B", "2"), plan)
}

func testConcurrentCreate(t *testing.T, b hushsync.Backend, r Remote, env string) {
	empty := pull(t, b, env)
	mustPush(t, b, env, Vals("A", "theirs"))
	// We read the remote empty, and create A too.
	plan := PlanFor(empty, Vals("A", "mine", "Z", "z"))
	_, err := b.Push(ctx(t), env, plan)
	conflictLeft(t, b, r, env, err, Vals("A", "theirs"), plan)
}

func testDeletes(t *testing.T, b hushsync.Backend, _ Remote, env string) {
	mustPush(t, b, env, Vals("A", "1", "B", "2", "C", "3"))
	mustPush(t, b, env, Vals("B", "2"))
	s := expect(t, b, env, Vals("B", "2"))
	for _, k := range s.DeletedKeys {
		if k == "B" {
			t.Errorf("DeletedKeys lists B, which is live")
		}
	}
	// A deleted key can be written again.
	mustPush(t, b, env, Vals("A", "back", "B", "2"))
	expect(t, b, env, Vals("A", "back", "B", "2"))
}

func testDeletedOutOfBand(t *testing.T, b hushsync.Backend, r Remote, env string) {
	if r.Delete == nil {
		t.Skip("the remote has no out-of-band deletion hook")
	}
	mustPush(t, b, env, Vals("A", "1", "B", "2"))
	r.Delete(t, env, "A")
	s := pull(t, b, env)
	if _, ok := s.Values["A"]; ok {
		t.Fatalf("a deleted key is still in Values: %s", Show(s.Values))
	}
	listed := s.Deleted
	for _, k := range s.DeletedKeys {
		listed = listed || k == "A"
	}
	if !listed || s.Missing {
		t.Fatalf("deleted key A not reported as deleted: %+v", s)
	}
	// Writing on top of the deletion is a check-and-set like any other.
	plan := PlanFor(s, Vals("A", "again", "B", "2"))
	if s.Deleted {
		plan = PlanFor(s, Vals("A", "again"))
	}
	if _, err := b.Push(ctx(t), env, plan); err != nil {
		t.Fatalf("push over a deletion: %v", err)
	}
}

func testVanished(t *testing.T, b hushsync.Backend, r Remote, env string) {
	if r.Vanish == nil {
		t.Skip("the remote has no vanish hook")
	}
	mustPush(t, b, env, Vals("A", "1"))
	r.Vanish(t, env)
	s := pull(t, b, env)
	if !s.Missing || len(s.Values) != 0 {
		t.Fatalf("a vanished environment reads as %+v, want Missing", s)
	}
}

func testLostAnswer(t *testing.T, b hushsync.Backend, r Remote, env string) {
	if r.LoseAnswer == nil {
		t.Skip("the remote has no lost-answer hook")
	}
	for i, want := range []map[string]store.Value{
		Vals("A", "1", "B", "2"),  // creation
		Vals("A", "2", "B", "2"),  // an update
		Vals("B", "2", "C", "3"),  // a deletion and a creation
		Vals("B", "2", "C", "3x"), // another update
	} {
		base := pull(t, b, env)
		r.LoseAnswer()
		out, err := b.Push(ctx(t), env, PlanFor(base, want))
		if err != nil {
			t.Fatalf("push %d with its answer lost: %v (the write was committed: the backend must recognise it)", i, err)
		}
		if !same(out.Values, want) {
			t.Fatalf("push %d returned %s, want %s", i, Show(out.Values), Show(want))
		}
		expect(t, b, env, want)
	}
}

func testServerErrors(t *testing.T, b hushsync.Backend, r Remote, env string) {
	if r.ServerErrors == nil {
		t.Skip("the remote has no server-error hook")
	}
	budget := r.RetryBudget
	if budget == 0 {
		budget = time.Minute
	}
	mustPush(t, b, env, Vals("A", "1"))
	base := pull(t, b, env)
	r.ServerErrors(true)
	start := time.Now()
	_, perr := b.Pull(ctx(t), env)
	_, err := b.Push(ctx(t), env, PlanFor(base, Vals("A", "2")))
	r.ServerErrors(false)
	if !errors.Is(perr, hushsync.ErrUnavailable) || !errors.Is(err, hushsync.ErrUnavailable) {
		t.Fatalf("against server errors: pull %v, push %v; want ErrUnavailable", perr, err)
	}
	if d := time.Since(start); d > budget {
		t.Errorf("retries took %v, more than %v", d, budget)
	}
	expect(t, b, env, Vals("A", "1"))
}

func testUnreachable(t *testing.T, _ hushsync.Backend, r Remote, env string) {
	if r.Unreachable == nil {
		t.Skip("the remote has no unreachable hook")
	}
	u := r.Unreachable(t)
	_, err := u.Pull(ctx(t), env)
	if !errors.Is(err, hushsync.ErrUnavailable) {
		t.Errorf("pull from an unreachable remote: %v, want ErrUnavailable", err)
	}
	base := hushsync.NewSnapshot()
	base.Missing = true
	_, err = u.Push(ctx(t), env, &hushsync.Plan{Base: base, Set: Vals("A", "1")})
	if !errors.Is(err, hushsync.ErrUnavailable) {
		t.Errorf("push to an unreachable remote: %v, want ErrUnavailable", err)
	}
}

func testNoEngine(t *testing.T, _ hushsync.Backend, r Remote, env string) {
	if r.NoEngine == nil {
		t.Skip("the remote has no store that can be missing")
	}
	_, err := r.NoEngine(t).Pull(ctx(t), env)
	if !errors.Is(err, hushsync.ErrNoEngine) || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pull where the store does not exist: %v, want ErrNoEngine", err)
	}
}

const canary = "canary-7f3a9e-value"

func testErrorsCarryNoValue(t *testing.T, b hushsync.Backend, r Remote, env string) {
	mustPush(t, b, env, Vals("A", canary+"1"))
	stale := pull(t, b, env)
	mustPush(t, b, env, Vals("A", canary+"2"))
	_, err := b.Push(ctx(t), env, PlanFor(stale, Vals("A", canary+"3")))
	if err == nil {
		t.Fatal("stale push accepted")
	}
	if msg := fmt.Sprintf("%v %+v", err, err); strings.Contains(msg, canary) {
		t.Errorf("an error carries a value: %s", msg)
	}
}

// Parallel runs f n times at once (a helper for backend tests that race
// writers).
func Parallel(n int, f func(i int)) {
	var wg gosync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); f(i) }(i)
	}
	wg.Wait()
}
