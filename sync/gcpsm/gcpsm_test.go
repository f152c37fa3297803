package gcpsm

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/gcpsm/gcpsmtest"
)

// fake starts the fake Secret Manager and points application-default
// credentials and the endpoint override at it, as a user's environment
// would.
func fake(t *testing.T) *gcpsmtest.Server {
	t.Helper()
	s := gcpsmtest.Start(t)
	p, err := s.CredentialsFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
	t.Setenv(EndpointEnv, "http://"+s.Addr)
	return s
}

func open(t *testing.T, cfg string) *Backend {
	t.Helper()
	be, err := Driver{}.Open(context.Background(), json.RawMessage(cfg))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	b := be.(*Backend)
	b.backoff = time.Millisecond
	t.Cleanup(func() { _ = b.c.Close() })
	return b
}

const cfg = `{"project":"proj-1","hush_project":"myapp"}`

func vals(kv ...string) map[string]store.Value {
	m := map[string]store.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = store.Value(kv[i+1])
	}
	return m
}

func push(t *testing.T, b *Backend, env string, base *sync.Snapshot, set map[string]store.Value, del ...string) (*sync.Snapshot, error) {
	t.Helper()
	return b.Push(context.Background(), env, &sync.Plan{Base: base, Set: set, Delete: del})
}

func pull(t *testing.T, b *Backend, env string) *sync.Snapshot {
	t.Helper()
	s, err := b.Pull(context.Background(), env)
	if err != nil {
		t.Fatalf("pull %s: %v", env, err)
	}
	return s
}

func TestRoundTripBytesAndLayout(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	empty := pull(t, b, "dev")
	if !empty.Missing || empty.Values == nil || empty.Version != 0 || len(empty.DeletedKeys) != 0 {
		t.Fatalf("never written: %+v", empty)
	}
	binary := "\x00\xff\xfe\r\n\x80 trailing \n"
	want := vals("BIN", binary, "EMPTY", "", "DB_URL", "postgres://u@h/db", "BIG", strings.Repeat("é", MaxValue/2))
	out, err := push(t, b, "dev", empty, want)
	if err != nil {
		t.Fatal(err)
	}
	got := pull(t, b, "dev")
	if got.Missing || !reflect.DeepEqual(got.Values, want) {
		t.Fatalf("pulled %d values, want %d; missing=%v", len(got.Values), len(want), got.Missing)
	}
	for k := range want {
		if got.Versions[k] != 1 || out.Versions[k] != 1 {
			t.Fatalf("%s: versions %d/%d", k, got.Versions[k], out.Versions[k])
		}
	}
	if !reflect.DeepEqual(out.Values, got.Values) || out.Version != got.Version || got.Version != 4 {
		t.Fatalf("push answered %+v, pull %+v", out.Versions, got.Versions)
	}
	// One secret per key, its id PREFIX-ENV-KEY, labels and annotations
	// naming project and environment.
	name := "projects/proj-1/secrets/hush-dev-BIN"
	labels, ann := s.Labels(name)
	if labels["hush_project"] != "myapp" || labels["hush_env"] != "dev" || ann["hush-project"] != "myapp" || ann["hush-env"] != "dev" || ann["hush-key"] != "BIN" {
		t.Fatalf("labels %v annotations %v", labels, ann)
	}
	if _, data := s.Versions(name); len(data) != 1 || string(data[0]) != binary {
		t.Fatalf("stored %q", data)
	}
	if loc := b.Location("dev"); loc != "projects/proj-1/secrets/hush-dev-* at http://"+s.Addr {
		t.Fatalf("location %q", loc)
	}
	// Another environment of the same project is still missing.
	if st := pull(t, b, "prod"); !st.Missing || len(st.Values) != 0 {
		t.Fatalf("prod: %+v", st)
	}
}

func TestUpdateDeleteAndDeletedKeys(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	base, err := push(t, b, "dev", pull(t, b, "dev"), vals("A", "1", "B", "2", "C", "3"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := push(t, b, "dev", base, vals("A", "1b"), "B")
	if err != nil {
		t.Fatal(err)
	}
	got := pull(t, b, "dev")
	if !reflect.DeepEqual(got.Values, vals("A", "1b", "C", "3")) || !reflect.DeepEqual(got.DeletedKeys, []string{"B"}) || got.Missing {
		t.Fatalf("after update: %v deleted %v", got.Values, got.DeletedKeys)
	}
	if got.Versions["A"] != 2 || got.Versions["B"] != 1 || !reflect.DeepEqual(out.Versions, got.Versions) || !reflect.DeepEqual(out.DeletedKeys, got.DeletedKeys) {
		t.Fatalf("versions pushed %v pulled %v", out.Versions, got.Versions)
	}
	// Delete is a disable: the value stays in the secret's history.
	states, data := s.Versions("projects/proj-1/secrets/hush-dev-B")
	if len(states) != 1 || states[0] != secretmanagerpb.SecretVersion_DISABLED || string(data[0]) != "2" {
		t.Fatalf("B: %v", states)
	}
	// Every key deleted: that is still not Missing.
	if _, err := push(t, b, "dev", got, nil, "A", "C"); err != nil {
		t.Fatal(err)
	}
	all := pull(t, b, "dev")
	if all.Missing || len(all.Values) != 0 || !reflect.DeepEqual(all.DeletedKeys, []string{"A", "B", "C"}) {
		t.Fatalf("all deleted: %+v", all)
	}
	// A deleted key set again gets a new version.
	again, err := push(t, b, "dev", all, vals("B", "back"))
	if err != nil || again.Versions["B"] != 2 {
		t.Fatalf("set again: %v %v", again, err)
	}
	if st := pull(t, b, "dev"); st.Values["B"] != "back" || !reflect.DeepEqual(st.DeletedKeys, []string{"A", "C"}) {
		t.Fatalf("after set again: %+v", st)
	}
	// A destroyed newest version, made by someone else, is a deleted key too.
	if err := s.SetState("projects/proj-1/secrets/hush-dev-B/versions/2", secretmanagerpb.SecretVersion_DESTROYED); err != nil {
		t.Fatal(err)
	}
	if st := pull(t, b, "dev"); len(st.Values) != 0 || !reflect.DeepEqual(st.DeletedKeys, []string{"A", "B", "C"}) {
		t.Fatalf("destroyed: %+v", st)
	}
	// A secret deleted whole, with its history, is gone from the snapshot.
	s.Remove("projects/proj-1/secrets/hush-dev-A")
	if st := pull(t, b, "dev"); st.Versions["A"] != 0 || !reflect.DeepEqual(st.DeletedKeys, []string{"B", "C"}) {
		t.Fatalf("removed: %+v", st)
	}
}

func TestConflictWritesNothing(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	base, err := push(t, b, "dev", pull(t, b, "dev"), vals("A", "1", "B", "2"))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else changes B after our pull.
	if err := s.Put("projects/proj-1/secrets/hush-dev-B", nil, []byte("theirs")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		set  map[string]store.Value
		del  []string
	}{
		{"set", vals("A", "mine", "B", "mine"), nil},
		{"delete", vals("A", "mine"), []string{"B"}},
		{"new key created meanwhile", vals("A", "mine", "NEW", "mine"), nil},
	}
	if err := s.Put("projects/proj-1/secrets/hush-dev-NEW", map[string]string{"hush_project": "myapp", "hush_env": "dev"}, []byte("theirs")); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		set := c.set
		if c.name == "new key created meanwhile" {
			// B untouched, NEW collides.
			set = vals("A", "mine", "NEW", "mine")
		}
		_, err := push(t, b, "dev", base, set, c.del...)
		if !errors.Is(err, sync.ErrConflict) {
			t.Fatalf("%s: got %v, want a conflict", c.name, err)
		}
		var pe *sync.PartialError
		if errors.As(err, &pe) {
			t.Fatalf("%s: partial write %v", c.name, pe.Set)
		}
		if states, _ := s.Versions("projects/proj-1/secrets/hush-dev-A"); len(states) != 1 {
			t.Fatalf("%s: A was written (%d versions)", c.name, len(states))
		}
		if states, _ := s.Versions("projects/proj-1/secrets/hush-dev-B"); len(states) != 2 || states[1] != secretmanagerpb.SecretVersion_ENABLED {
			t.Fatalf("%s: B changed: %v", c.name, states)
		}
	}
	// Their identical write is not a conflict: the value is already there.
	if err := s.Put("projects/proj-1/secrets/hush-dev-A", nil, []byte("same")); err != nil {
		t.Fatal(err)
	}
	base.Versions["B"] = 2
	out, err := push(t, b, "dev", base, vals("A", "same"))
	if err != nil || out.Versions["A"] != 2 {
		t.Fatalf("identical: %v %v", out, err)
	}
	if states, _ := s.Versions("projects/proj-1/secrets/hush-dev-A"); len(states) != 2 {
		t.Fatalf("identical value written again: %d versions", len(states))
	}
}

func TestForeignSecretsLeftAlone(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	// Same id, labelled for another project (a second project with the
	// default prefix): not pulled, not written into.
	if err := s.Put("projects/proj-1/secrets/hush-dev-A", map[string]string{"hush_project": "other", "hush_env": "dev"}, []byte("theirs")); err != nil {
		t.Fatal(err)
	}
	// Labelled for us but not an id of our layout.
	if err := s.Put("projects/proj-1/secrets/hand-made", map[string]string{"hush_project": "myapp", "hush_env": "dev"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	// Another environment whose name is a prefix of ours.
	if err := s.Put("projects/proj-1/secrets/hush-dev-x-B", map[string]string{"hush_project": "myapp", "hush_env": "dev-x"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	st := pull(t, b, "dev")
	if !st.Missing || len(st.Versions) != 0 {
		t.Fatalf("foreign secrets pulled: %+v", st)
	}
	_, err := push(t, b, "dev", st, vals("A", "mine"))
	if !errors.Is(err, sync.ErrConflict) || !strings.Contains(err.Error(), "not labelled for project") {
		t.Fatalf("write into a foreign secret: %v", err)
	}
	if _, data := s.Versions("projects/proj-1/secrets/hush-dev-A"); len(data) != 1 {
		t.Fatal("foreign secret written")
	}
	// With a prefix of its own the project is apart.
	b2 := open(t, `{"project":"proj-1","hush_project":"myapp","prefix":"app2"}`)
	if _, err := push(t, b2, "dev", pull(t, b2, "dev"), vals("A", "mine")); err != nil {
		t.Fatal(err)
	}
	if _, data := s.Versions("projects/proj-1/secrets/app2-dev-A"); len(data) != 1 || string(data[0]) != "mine" {
		t.Fatalf("prefixed: %q", data)
	}
}

func TestPagination(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	want := vals()
	for _, k := range []string{"K1", "K2", "K3", "K4", "K5", "K6", "K7"} {
		want[k] = store.Value("v" + k)
	}
	if _, err := push(t, b, "dev", pull(t, b, "dev"), want); err != nil {
		t.Fatal(err)
	}
	before := s.Calls("ListSecrets")
	if got := pull(t, b, "dev"); !reflect.DeepEqual(got.Values, want) {
		t.Fatalf("paged pull: %d keys", len(got.Values))
	}
	if n := s.Calls("ListSecrets") - before; n != 4 {
		t.Fatalf("7 secrets at 2 a page: %d list calls", n)
	}
}

func TestLostAnswers(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	base, err := push(t, b, "dev", pull(t, b, "dev"), vals("A", "1", "B", "2"))
	if err != nil {
		t.Fatal(err)
	}
	s.LoseAnswer("AddSecretVersion", 1)
	s.LoseAnswer("DisableSecretVersion", 1)
	out, err := push(t, b, "dev", base, vals("A", "new"), "B")
	if err != nil {
		t.Fatalf("lost answers: %v", err)
	}
	if out.Values["A"] != "new" || out.Versions["A"] != 2 || !reflect.DeepEqual(out.DeletedKeys, []string{"B"}) {
		t.Fatalf("answered %+v", out)
	}
	if states, _ := s.Versions("projects/proj-1/secrets/hush-dev-A"); len(states) != 2 {
		t.Fatalf("A written %d times", len(states)-1)
	}
	// Two adds for the first push, one for A: recognised by reading back,
	// not written twice; the disable likewise.
	if s.Calls("AddSecretVersion") != 3 || s.Calls("DisableSecretVersion") != 1 {
		t.Fatalf("calls: add %d disable %d", s.Calls("AddSecretVersion"), s.Calls("DisableSecretVersion"))
	}
	// The read-back after a lost disable fails too: the disable is made
	// again with the etag read, refused by it (the first one committed),
	// and then recognised.
	out2, err := push(t, b, "dev", out, vals("B", "3"))
	if err != nil {
		t.Fatal(err)
	}
	s.LoseAnswer("DisableSecretVersion", 1)
	s.FailAfter("GetSecretVersion", 1, b.attempts, codes.Unavailable)
	disables := s.Calls("DisableSecretVersion")
	out3, err := push(t, b, "dev", out2, nil, "B")
	if err != nil || !reflect.DeepEqual(out3.DeletedKeys, []string{"B"}) {
		t.Fatalf("disable refused by its own etag: %v %v", out3, err)
	}
	if n := s.Calls("DisableSecretVersion") - disables; n != 2 {
		t.Fatalf("%d disables", n)
	}
	// The read-back after a lost add fails: no second add without a check
	// (AddSecretVersion has none); the push fails unavailable and the next
	// pull sees the write.
	s.LoseAnswer("AddSecretVersion", 1)
	s.FailAfter("GetSecretVersion", 1, b.attempts, codes.Unavailable)
	adds := s.Calls("AddSecretVersion")
	if _, err := push(t, b, "dev", out3, vals("A", "newer")); !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("unseen add: %v", err)
	}
	if n := s.Calls("AddSecretVersion") - adds; n != 1 {
		t.Fatalf("%d adds", n)
	}
	if got := pull(t, b, "dev"); got.Values["A"] != "newer" || got.Versions["A"] != 3 {
		t.Fatalf("after unseen add: %+v", got)
	}
	out = pull(t, b, "dev")
	// A lost answer to creating a secret: the retry finds it, labelled ours.
	s.LoseAnswer("CreateSecret", 1)
	if _, err := push(t, b, "dev", out, vals("C", "3")); err != nil {
		t.Fatalf("lost create: %v", err)
	}
	if got := pull(t, b, "dev"); got.Values["C"] != "3" || got.Versions["C"] != 1 {
		t.Fatalf("after lost create: %+v", got)
	}
}

func TestRetriesBoundedThenUnavailable(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	base, err := push(t, b, "dev", pull(t, b, "dev"), vals("A", "1"))
	if err != nil {
		t.Fatal(err)
	}
	// Throttled twice: retried, then fine.
	s.Fail("GetSecretVersion", 2, codes.ResourceExhausted)
	if st := pull(t, b, "dev"); st.Values["A"] != "1" {
		t.Fatalf("after throttling: %+v", st)
	}
	// Throttled for good: a bounded number of calls, then ErrUnavailable.
	s.Fail("ListSecrets", 1000, codes.ResourceExhausted)
	before := s.Calls("ListSecrets")
	_, err = b.Pull(context.Background(), "dev")
	if !errors.Is(err, sync.ErrUnavailable) || errors.Is(err, sync.ErrDenied) {
		t.Fatalf("throttled pull: %v", err)
	}
	if n := s.Calls("ListSecrets") - before; n != b.attempts {
		t.Fatalf("%d calls, want %d", n, b.attempts)
	}
	s.Fail("ListSecrets", 0, codes.OK)
	// A write that keeps failing: nothing written, ErrUnavailable.
	s.Fail("AddSecretVersion", 1000, codes.Unavailable)
	_, err = push(t, b, "dev", base, vals("A", "2"))
	if !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("failing write: %v", err)
	}
	if states, _ := s.Versions("projects/proj-1/secrets/hush-dev-A"); len(states) != 1 {
		t.Fatal("written")
	}
	s.Fail("AddSecretVersion", 0, codes.OK)
	// Denied: ErrDenied, which is ErrUnavailable for the exit code.
	s.Fail("ListSecrets", 1, codes.PermissionDenied)
	_, err = b.Pull(context.Background(), "dev")
	if !errors.Is(err, sync.ErrDenied) || !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("denied: %v", err)
	}
	// The server stopped.
	s.Stop()
	if _, err := b.Pull(context.Background(), "dev"); !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("stopped, pull: %v", err)
	}
	if _, err := push(t, b, "dev", base, vals("A", "3")); !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("stopped, push: %v", err)
	}
}

func TestIntegrityAndLimits(t *testing.T) {
	s := fake(t)
	b := open(t, cfg)
	base, err := push(t, b, "dev", pull(t, b, "dev"), vals("A", "secret-value"))
	if err != nil {
		t.Fatal(err)
	}
	s.Corrupt(1)
	_, err = b.Pull(context.Background(), "dev")
	if !errors.Is(err, store.ErrIntegrity) || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("corrupt: %v", err)
	}
	// Over 64 KiB: refused before anything is written, naming the key.
	_, err = push(t, b, "dev", base, vals("A", "small", "HUGE", strings.Repeat("x", MaxValue+1)))
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "HUGE") {
		t.Fatalf("huge: %v", err)
	}
	if names := s.Names(); len(names) != 1 {
		t.Fatalf("written: %v", names)
	}
	if states, _ := s.Versions("projects/proj-1/secrets/hush-dev-A"); len(states) != 1 {
		t.Fatal("A written")
	}
}

func TestResolve(t *testing.T) {
	s := fake(t)
	if err := s.Put("projects/proj-1/secrets/db", nil, []byte("v1\x00")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("projects/proj-1/secrets/db", nil, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for ref, want := range map[string]string{
		"gcpsm://projects/proj-1/secrets/db":                 "v2",
		"gcpsm://projects/proj-1/secrets/db/versions/latest": "v2",
		"gcpsm://projects/proj-1/secrets/db/versions/1":      "v1\x00",
	} {
		got, err := Driver{}.Resolve(ctx, ref)
		if err != nil || string(got) != want {
			t.Fatalf("%s: %q %v", ref, got, err)
		}
	}
	if err := s.SetState("projects/proj-1/secrets/db/versions/2", secretmanagerpb.SecretVersion_DISABLED); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{
		"gcpsm://projects/proj-1/secrets/nope",
		"gcpsm://projects/proj-1/secrets/db/versions/7",
		"gcpsm://projects/proj-1/secrets/db/versions/2",
		"gcpsm://projects/proj-1/secrets/db", // latest is disabled
	} {
		if _, err := (Driver{}).Resolve(ctx, ref); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	for _, ref := range []string{
		"gcpsm://proj-1/db", "gcpsm://projects/proj-1/secrets/db/versions/0", "gcpsm://projects/proj-1/secrets/db/versions/01",
		"gcpsm://projects/proj-1/secrets/d.b", "gcpsm://projects/proj-1/secrets/db#KEY", "gcpsm://projects/P/secrets/db",
		"gcpsm://projects/proj-1/locations/us/secrets/db", "awssm://projects/proj-1/secrets/db", "gcpsm://projects/proj-1/secrets/db/versions",
	} {
		if _, err := (Driver{}).Resolve(ctx, ref); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("%s: %v", ref, err)
		}
	}
}

func TestCredentialsAndEndpoint(t *testing.T) {
	s := fake(t)
	// No application-default credentials at all: denied, with the hint.
	creds := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", t.TempDir()+"/none.json")
	for _, ep := range []string{"http://" + s.Addr, s.Addr} {
		_, err := Driver{Getenv: func(string) string { return ep }}.Open(context.Background(), json.RawMessage(cfg))
		if !errors.Is(err, sync.ErrDenied) || !strings.Contains(err.Error(), "application-default") {
			t.Fatalf("no credentials, %s: %v", ep, err)
		}
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", creds)
	for _, ep := range []string{"http://localhost:1", "http://10.1.2.3:80", "http://127.0.0.1", "http://127.0.0.1:1/path", "http://u:p@127.0.0.1:1", "ftp://x"} {
		_, err := Driver{Getenv: func(string) string { return ep }}.Open(context.Background(), json.RawMessage(cfg))
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("endpoint %q: %v", ep, err)
		}
	}
	// host:port is TLS, never plaintext: against the plaintext fake the
	// handshake fails and nothing is sent in the clear.
	for _, ep := range []string{s.Addr, "https://" + s.Addr} {
		be, err := Driver{Getenv: func(string) string { return ep }}.Open(context.Background(), json.RawMessage(cfg))
		if err != nil {
			t.Fatalf("open %s: %v", ep, err)
		}
		be.(*Backend).backoff = time.Millisecond
		calls := s.Calls("ListSecrets")
		if _, err := be.Pull(context.Background(), "dev"); !errors.Is(err, sync.ErrUnavailable) {
			t.Fatalf("TLS to a plaintext server %s: %v", ep, err)
		}
		if s.Calls("ListSecrets") != calls {
			t.Fatal("a call reached the server without TLS")
		}
		if loc := be.Location("dev"); !strings.HasSuffix(loc, " at "+s.Addr) {
			t.Fatalf("location %q", loc)
		}
	}
	for _, ep := range []string{"http://127.0.0.1:1", "http://[::1]:1", "http://127.5.0.1:9"} {
		if _, err := loopback(ep); err != nil {
			t.Fatalf("%q: %v", ep, err)
		}
	}
	for _, c := range []string{`{"project":"","hush_project":"a"}`, `{"project":"P","hush_project":"a"}`, `{"project":"p","hush_project":""}`,
		`{"project":"p","hush_project":"a","prefix":"a-b"}`, `{"project":"p","hush_project":"a","prefix":"a_b"}`, `{"project":"p","hush_project":"a","extra":1}`} {
		if _, err := (Driver{}).Open(context.Background(), json.RawMessage(c)); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("config %s: %v", c, err)
		}
	}
}

func TestIDsAreCollisionFree(t *testing.T) {
	b := &Backend{prefix: "hush", project: "p"}
	type pair struct{ env, key string }
	pairs := []pair{{"a", "B_C"}, {"a-b", "C"}, {"a", "b_C"}, {"a_b", "C"}, {"a-b-c", "D"}, {"a-b", "c_D"}, {"dev", "X"}, {"dev-", "X"}, {"dev--x", "Y"}}
	seen := map[string]pair{}
	for _, p := range pairs {
		id := b.secretID(p.env, p.key)
		if q, dup := seen[id]; dup {
			t.Fatalf("%v and %v share id %s", p, q, id)
		}
		seen[id] = p
		if !validSecretID(id) {
			t.Fatalf("%s outside the charset", id)
		}
		if k, ok := b.keyOf(p.env, id); !ok || k != p.key {
			t.Fatalf("%s in %s: %q %v", id, p.env, k, ok)
		}
		// Another environment never claims it.
		for _, o := range pairs {
			if o.env != p.env {
				if k, ok := b.keyOf(o.env, id); ok {
					t.Fatalf("%s (of %v) read as %s/%s", id, p, o.env, k)
				}
			}
		}
	}
	b.prefix = strings.Repeat("P", maxPrefix)
	if long := b.secretID(strings.Repeat("e", 64), strings.Repeat("K", 128)); len(long) > 255 || !validSecretID(long) {
		t.Fatalf("longest id %d", len(long))
	}
	for _, name := range []string{"myapp", "My.App", strings.Repeat("x", 64), "UPPER", "a b"} {
		v := labelValue(name)
		if len(v) > 63 || strings.ToLower(v) != v || strings.ContainsAny(v, ". ") {
			t.Fatalf("label %q → %q", name, v)
		}
	}
	if labelValue("My.App") == labelValue("my_app") || labelValue("MyApp") == labelValue("myapp") {
		t.Fatal("label values collide")
	}
}

func TestLocationsPolicy(t *testing.T) {
	s := fake(t)
	s.RequireLocations()
	b := open(t, cfg)
	_, err := push(t, b, "dev", pull(t, b, "dev"), vals("A", "1"))
	if err == nil || errors.Is(err, sync.ErrConflict) || errors.Is(err, sync.ErrUnavailable) || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "refused: Constraint") {
		t.Fatalf("automatic replication refused by policy: %v", err)
	}
	b2 := open(t, `{"project":"proj-1","hush_project":"myapp","locations":["europe-west1","europe-west4"]}`)
	if _, err := push(t, b2, "dev", pull(t, b2, "dev"), vals("A", "1")); err != nil {
		t.Fatalf("user-managed replicas: %v", err)
	}
	if st := pull(t, b2, "dev"); st.Values["A"] != "1" {
		t.Fatalf("%+v", st)
	}
	if _, err := (Driver{}).Open(context.Background(), json.RawMessage(`{"project":"p","hush_project":"a","locations":["Europe"]}`)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad location: %v", err)
	}
}
