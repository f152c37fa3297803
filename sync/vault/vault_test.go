package vault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

func TestFieldsRoundTripAndCAS(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	cnt := &counter{}
	v := newVault(t, srv, mount, setup{wrap: func(rt http.RoundTripper) http.RoundTripper { cnt.next = rt; return cnt }})
	ctx := context.Background()

	snap, err := v.Pull(ctx, "dev")
	if err != nil || snap.Version != 0 || len(snap.Values) != 0 || snap.Deleted {
		t.Fatalf("empty pull: %+v %v", snap, err)
	}
	cnt.reset()
	out, err := v.Push(ctx, "dev", &sync.Plan{Base: snap, Set: vals("A", "1", "B", "two\nlines")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != 1 {
		t.Errorf("version after first push = %d", out.Version)
	}
	if n := cnt.reset(); n != 1 {
		t.Errorf("push took %d requests, want 1", n)
	}
	got, err := v.Pull(ctx, "dev")
	if err != nil || reveal(got.Values) != "A=1 B=two\nlines" || got.Version != 1 {
		t.Fatalf("pull: %q v%d %v", reveal(got.Values), got.Version, err)
	}
	// The secret lives where the template says, fields as keys.
	raw, err := srv.Client(t).Logical().Read(mount + "/data/proj/dev")
	if err != nil || raw.Data["data"].(map[string]any)["A"] != "1" {
		t.Fatalf("raw read: %v %v", raw, err)
	}

	// A stale base is refused and changes nothing.
	_, err = v.Push(ctx, "dev", &sync.Plan{Base: snap, Set: vals("A", "stale")})
	if !errors.Is(err, sync.ErrConflict) {
		t.Fatalf("stale push: %v", err)
	}
	got, _ = v.Pull(ctx, "dev")
	if reveal(got.Values) != "A=1 B=two\nlines" || got.Version != 1 {
		t.Errorf("after refused push: %q v%d", reveal(got.Values), got.Version)
	}
	// Deleting keys is a new version without them.
	out, err = v.Push(ctx, "dev", &sync.Plan{Base: got, Delete: []string{"B"}})
	if err != nil || out.Version != 2 {
		t.Fatalf("delete push: v%d %v", out.Version, err)
	}
	got, _ = v.Pull(ctx, "dev")
	if reveal(got.Values) != "A=1" {
		t.Errorf("after delete: %q", reveal(got.Values))
	}
}

func TestSoftDeletedLatestVersion(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	v := newVault(t, srv, mount, setup{})
	if _, err := pushAll(t, v, "dev", vals("A", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client(t).Logical().Delete(mount + "/data/proj/dev"); err != nil {
		t.Fatal(err)
	}
	snap, err := v.Pull(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Deleted || snap.Version != 1 || len(snap.Values) != 0 {
		t.Errorf("deleted latest version read as %+v", snap)
	}
	// Writing on top of it is a check-and-set against the deleted version.
	out, err := v.Push(context.Background(), "dev", &sync.Plan{Base: snap, Set: vals("A", "2")})
	if err != nil || out.Version != 2 {
		t.Fatalf("push over deleted: %+v %v", out, err)
	}
}

func TestKVv1(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 1)
	for _, layout := range []string{LayoutFields, LayoutTree} {
		v := newVault(t, srv, mount, setup{layout: layout})
		env := "e-" + layout
		if kv, err := v.KVVersion(context.Background()); err != nil || kv != 1 {
			t.Fatalf("kv version %d %v", kv, err)
		}
		if _, err := pushAll(t, v, env, vals("A", "1", "B", "2")); err != nil {
			t.Fatal(err)
		}
		base, err := v.Pull(context.Background(), env)
		if err != nil || reveal(base.Values) != "A=1 B=2" {
			t.Fatalf("%s: pull %q %v", layout, reveal(base.Values), err)
		}
		// Someone else writes: a push from the old base is refused.
		if _, err := pushAll(t, v, env, vals("A", "other", "B", "2")); err != nil {
			t.Fatal(err)
		}
		_, err = v.Push(context.Background(), env, &sync.Plan{Base: base, Set: vals("A", "mine")})
		if !errors.Is(err, sync.ErrConflict) {
			t.Errorf("%s: v1 push over a changed secret: %v", layout, err)
		}
	}
}

// A tree push cut off after a few writes leaves a prefix written; pulling
// again and pushing the new plan converges.
func TestTreeCutOffConverges(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	want := map[string]store.Value{}
	for _, k := range strings.Fields("A B C D E F G H I J K L M N O P Q R S T") {
		want[k] = store.Value("v-" + k)
	}
	f := &faulty{failAfter: 5}
	broken := newVault(t, srv, mount, setup{layout: LayoutTree, wrap: func(rt http.RoundTripper) http.RoundTripper { f.next = rt; return f }})
	if _, err := pushAll(t, broken, "dev", want); !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("cut-off push: %v", err)
	}
	v := newVault(t, srv, mount, setup{layout: LayoutTree})
	part, err := v.Pull(context.Background(), "dev")
	if err != nil || len(part.Values) == 0 || len(part.Values) == len(want) {
		t.Fatalf("after cut-off: %d keys written, %v", len(part.Values), err)
	}
	if _, err := pushAll(t, v, "dev", want); err != nil {
		t.Fatal(err)
	}
	got, err := v.Pull(context.Background(), "dev")
	if err != nil || reveal(got.Values) != reveal(want) {
		t.Fatalf("rerun: %q %v", reveal(got.Values), err)
	}
	// Removing a key soft-deletes the version read; the snapshot reports it
	// deleted, not empty.
	if _, err := pushAll(t, v, "dev", vals("A", "v-A")); err != nil {
		t.Fatal(err)
	}
	got, _ = v.Pull(context.Background(), "dev")
	if reveal(got.Values) != "A=v-A" || len(got.DeletedKeys) != len(want)-1 {
		t.Errorf("after removal: %q, %d deleted", reveal(got.Values), len(got.DeletedKeys))
	}
	// And a deleted key can be set again (check-and-set on its version).
	if _, err := pushAll(t, v, "dev", vals("A", "v-A", "B", "again")); err != nil {
		t.Fatal(err)
	}
}

// The answer to a committed write is lost; the client's retry fails the
// check-and-set; the backend reads back and recognises its own write.
func TestLostAnswerAfterCommitReal(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	f := &faulty{lose: true}
	v := newVault(t, srv, mount, setup{wrap: func(rt http.RoundTripper) http.RoundTripper { f.next = rt; return f }})
	out, err := pushAll(t, v, "dev", vals("A", "1"))
	if err != nil {
		t.Fatalf("push with a lost answer: %v", err)
	}
	if !f.lost.Load() || out.Version != 1 {
		t.Errorf("lost=%v version=%d", f.lost.Load(), out.Version)
	}
}

func TestDeniedAndUnreachable(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	const bad = "hvs.not-a-real-token-1234567890"
	v := newVault(t, srv, "secret", setup{token: bad})
	_, err := v.Pull(context.Background(), "dev")
	t.Logf("bad token: %v", err)
	if !errors.Is(err, sync.ErrDenied) || !errors.Is(err, sync.ErrUnavailable) {
		t.Fatalf("bad token: %v", err)
	}
	if strings.Contains(err.Error(), bad) {
		t.Errorf("error shows the token: %v", err)
	}

	v, err = New(Options{Project: "proj", Getenv: func(k string) string {
		return map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": bad, "VAULT_MAX_RETRIES": "0"}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Pull(context.Background(), "dev")
	t.Logf("unreachable: %v", err)
	if !errors.Is(err, sync.ErrUnavailable) || errors.Is(err, sync.ErrDenied) || strings.Contains(err.Error(), bad) {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestPolicyLeastPrivilege(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	root := newVault(t, srv, mount, setup{})
	if _, err := pushAll(t, root, "dev", vals("A", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := pushAll(t, root, "prod", vals("P", "1")); err != nil {
		t.Fatal(err)
	}
	hcl, err := root.Policy("dev", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`path "` + mount + `/data/proj/dev" {`, `capabilities = ["read"]`, `path "` + mount + `/metadata/proj/dev" {`, `capabilities = ["list"]`} {
		if !strings.Contains(hcl, want) {
			t.Errorf("policy lacks %q:\n%s", want, hcl)
		}
	}
	if strings.Count(hcl, "path ") != 2 || strings.Contains(hcl, "update") || strings.Contains(hcl, "create") {
		t.Errorf("policy grants more than read and list:\n%s", hcl)
	}
	name := "hush-" + mount
	if err := root.WritePolicy(context.Background(), name, hcl); err != nil {
		t.Fatal(err)
	}
	tok, err := srv.Client(t).Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	ro := newVault(t, srv, mount, setup{token: tok.Auth.ClientToken})
	snap, err := ro.Pull(context.Background(), "dev")
	if err != nil || reveal(snap.Values) != "A=1" {
		t.Fatalf("read with the policy: %q %v", reveal(snap.Values), err)
	}
	if _, err := ro.Push(context.Background(), "dev", &sync.Plan{Base: snap, Set: vals("A", "2")}); !errors.Is(err, sync.ErrDenied) {
		t.Errorf("write with a read-only policy: %v", err)
	}
	if _, err := ro.Pull(context.Background(), "prod"); !errors.Is(err, sync.ErrDenied) {
		t.Errorf("read of another environment: %v", err)
	}
}

// VAULT_CACERT and VAULT_SKIP_VERIFY are honoured as the vault CLI
// honours them; an unknown CA is "unavailable", not a silent downgrade.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv, ca := vaulttest.StartTLS(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"ca", map[string]string{"VAULT_CACERT": ca}, true},
		{"unknown ca", map[string]string{}, false},
		{"skip verify", map[string]string{"VAULT_SKIP_VERIFY": "true"}, true},
	} {
		tc.env["VAULT_ADDR"], tc.env["VAULT_TOKEN"], tc.env["VAULT_MAX_RETRIES"] = srv.Addr, srv.Token, "0"
		v, err := New(Options{Project: "proj", Getenv: func(k string) string { return tc.env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Pull(context.Background(), "dev")
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, sync.ErrUnavailable) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// VAULT_NAMESPACE (or hush.yaml's namespace) reaches Vault as the
// namespace header; the community server has no namespaces, so a fake
// checks it.
func TestNamespaceHeader(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("X-Vault-Namespace"))
		w.WriteHeader(404)
	}))
	defer srv.Close()
	for _, tc := range []struct{ cfg, env, want string }{{"team-a", "", "team-a"}, {"team-a", "team-b", "team-b"}, {"", "", ""}} {
		got = nil
		v, err := New(Options{Config: Config{Namespace: tc.cfg}, Project: "proj", Getenv: func(k string) string {
			return map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "t", "VAULT_NAMESPACE": tc.env}[k]
		}})
		if err != nil {
			t.Fatal(err)
		}
		v.Pull(context.Background(), "dev")
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("cfg %q env %q: header %q, want %q", tc.cfg, tc.env, got, tc.want)
		}
	}
}
