package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/k8s/k8stest"
)

var (
	sharedOnce    gosync.Once
	sharedCluster *k8stest.Cluster
	sharedErr     error
	sharedDir     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedCluster != nil {
		sharedCluster.Stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// cluster is the API server most tests share, each in its own namespace.
func cluster(t *testing.T) *k8stest.Cluster {
	t.Helper()
	apiserver, etcd := k8stest.Binaries(t)
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "hush-k8s-")
		if sharedErr == nil {
			sharedCluster, sharedErr = k8stest.Launch(apiserver, etcd, sharedDir)
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedCluster
}

var nsSeq struct {
	gosync.Mutex
	n int
}

// namespace makes a fresh namespace for t.
func namespace(t *testing.T, c *k8stest.Cluster) string {
	t.Helper()
	nsSeq.Lock()
	nsSeq.n++
	name := fmt.Sprintf("t%d-%s", nsSeq.n, strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	nsSeq.Unlock()
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	c.Namespace(t, name)
	return name
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// open returns a backend on c as the administrator (through a kubeconfig
// named by KUBECONFIG), for project "app" with id "prj-1".
func open(t *testing.T, c *k8stest.Cluster, ns string) *Backend {
	t.Helper()
	return openAs(t, c.Kubeconfig, Config{Namespace: ns, Project: "app", ProjectID: "prj-1", HushVersion: "v9.9.9-test"})
}

func openAs(t *testing.T, kubeconfig string, cfg Config) *Backend {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	d := Driver{Getenv: func(k string) string {
		if k == "KUBECONFIG" {
			return kubeconfig
		}
		return ""
	}}
	b, err := d.Open(ctx(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Backend)
}

func vals(kv ...string) map[string]store.Value {
	m := map[string]store.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = store.Value(kv[i+1])
	}
	return m
}

// nasty are values a Secret must give back exactly.
var nasty = vals(
	"EMPTY", "",
	"BINARY", "\xff\xfe\x80binary\x01",
	"MULTI", "line1\nline2\r\n\n",
	"SPACES", "  lead and trail  ",
	"YAMLISH", "null",
	"NUMBER", "0777",
	"UNICODE", "ünïcödé ✓ \u2028",
	"DASHES", "-----BEGIN FAKE KEY-----\nAAAA\n-----END FAKE KEY-----\n",
)

// kubectlSecret reads a Secret with kubectl as the administrator.
func kubectlSecret(t *testing.T, c *k8stest.Cluster, ns, name string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(c.Kubectl(t, nil, "-n", ns, "get", "secret", name, "-o", "json", "--show-managed-fields"), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func secretData(t *testing.T, c *k8stest.Cluster, ns, name string) (map[string][]byte, string) {
	t.Helper()
	raw := c.Kubectl(t, nil, "-n", ns, "get", "secret", name, "-o", "json")
	var obj struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	return obj.Data, obj.Metadata.ResourceVersion
}

func sameValues(t *testing.T, what string, got, want map[string]store.Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g.Reveal() != v.Reveal() {
			t.Errorf("%s: %s = %q (present %v), want %q", what, k, g.Reveal(), ok, v.Reveal())
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	if got, want := b.Location("prod"), "k8s:"+c.Server+"/namespaces/"+ns+"/secrets/app-prod"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}

	snap, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Missing || snap.Version != 0 || snap.Values == nil || len(snap.Values) != 0 || snap.Deleted {
		t.Fatalf("empty remote: %+v", snap)
	}

	after, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: snap, Set: nasty})
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "push answer", after.Values, nasty)
	if after.Version == 0 || after.Missing {
		t.Errorf("after push: version %d missing %v", after.Version, after.Missing)
	}
	again, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "pull", again.Values, nasty)
	if again.Version != after.Version {
		t.Errorf("pull version %d, push answered %d", again.Version, after.Version)
	}
	// kubectl reads the same bytes.
	data, _ := secretData(t, c, ns, "app-prod")
	for k, v := range nasty {
		if got, ok := data[k]; !ok || string(got) != v.Reveal() {
			t.Errorf("kubectl: %s = %q (present %v), want %q", k, got, ok, v.Reveal())
		}
	}

	// Where it came from, and nothing of a value.
	obj := kubectlSecret(t, c, ns, "app-prod")
	meta := obj["metadata"].(map[string]any)
	labels, _ := json.Marshal(meta["labels"])
	annotations, _ := json.Marshal(meta["annotations"])
	for _, want := range []string{`"app.kubernetes.io/managed-by":"hush"`, `"hush-secrets.github.io/environment":"prod"`, `"hush-secrets.github.io/project-id":"prj-1"`} {
		if !strings.Contains(string(labels), want) {
			t.Errorf("labels %s lack %s", labels, want)
		}
	}
	for _, want := range []string{`"hush-secrets.github.io/hush-version":"v9.9.9-test"`, `"hush-secrets.github.io/project":"app"`, `"hush-secrets.github.io/project-id":"prj-1"`, `"hush-secrets.github.io/environment":"prod"`} {
		if !strings.Contains(string(annotations), want) {
			t.Errorf("annotations %s lack %s", annotations, want)
		}
	}
	if len(meta["annotations"].(map[string]any)) != 4 || len(meta["labels"].(map[string]any)) != 3 {
		t.Errorf("unexpected labels or annotations: %s %s", labels, annotations)
	}
	// Applied by the field manager hush, through server-side apply.
	managed, _ := json.Marshal(meta["managedFields"])
	if !strings.Contains(string(managed), `"manager":"hush","operation":"Apply"`) {
		t.Errorf("managed fields %s: no apply by hush", managed)
	}

	// Change one, delete one, keep the rest; the empty value stays a key.
	plan := &hushsync.Plan{Base: again, Set: vals("MULTI", "changed"), Delete: []string{"DASHES"}}
	after2, err := b.Push(ctx(t), "prod", plan)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "second push", after2.Values, plan.Result())
	data, _ = secretData(t, c, ns, "app-prod")
	if _, ok := data["DASHES"]; ok {
		t.Error("DASHES was not deleted")
	}
	if v, ok := data["EMPTY"]; !ok || len(v) != 0 {
		t.Errorf("EMPTY = %q present %v", v, ok)
	}
	if after2.Version <= after.Version {
		t.Errorf("version %d after %d", after2.Version, after.Version)
	}
	// Delete every key: the Secret stays, empty, and is not Missing.
	all := &hushsync.Plan{Base: after2}
	for k := range after2.Values {
		all.Delete = append(all.Delete, k)
	}
	empty, err := b.Push(ctx(t), "prod", all)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Values) != 0 || empty.Missing {
		t.Errorf("all deleted: %+v", empty)
	}
	pulled, err := b.Pull(ctx(t), "prod")
	if err != nil || pulled.Missing || len(pulled.Values) != 0 {
		t.Errorf("pull of the emptied Secret: %+v %v", pulled, err)
	}
}

func TestNoNamespace(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	b := open(t, c, "no-such-namespace")
	_, err := b.Pull(ctx(t), "prod")
	if !errors.Is(err, hushsync.ErrNoEngine) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pull from a missing namespace: %v", err)
	}
	if !strings.Contains(err.Error(), "namespace no-such-namespace does not exist") {
		t.Errorf("message: %v", err)
	}
	snap := hushsync.NewSnapshot()
	snap.Missing = true
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: snap, Set: vals("A", "1")}); !errors.Is(err, hushsync.ErrNoEngine) {
		t.Errorf("push to a missing namespace: %v", err)
	}
}

// TestCheckAndSet: a push whose base is not the Secret's version changes
// nothing and is a conflict; so is creating a Secret someone else created
// since the pull.
func TestCheckAndSet(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	empty, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	first, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1", "B", "2")})
	if err != nil {
		t.Fatal(err)
	}
	// Someone changes it.
	c.Kubectl(t, nil, "-n", ns, "patch", "secret", "app-prod", "--type=merge", "-p", `{"data":{"B":"MjI="}}`)
	_, rvBefore := secretData(t, c, ns, "app-prod")

	for _, plan := range []*hushsync.Plan{
		{Base: first, Set: vals("A", "stale")},
		{Base: first, Delete: []string{"A"}},
		{Base: first, Set: vals("C", "new")},
	} {
		_, err = b.Push(ctx(t), "prod", plan)
		if !errors.Is(err, hushsync.ErrConflict) {
			t.Fatalf("stale push: %v", err)
		}
		if !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("message: %v", err)
		}
	}
	data, rvAfter := secretData(t, c, ns, "app-prod")
	if rvAfter != rvBefore || string(data["A"]) != "1" || string(data["B"]) != "22" || len(data) != 2 {
		t.Errorf("a refused push wrote: rv %s→%s, data %q", rvBefore, rvAfter, data)
	}

	// A Secret created by someone else between the pull and the push.
	gone, err := b.Pull(ctx(t), "staging")
	if err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, nil, "-n", ns, "create", "secret", "generic", "app-staging", "--from-literal=X=theirs")
	_, err = b.Push(ctx(t), "staging", &hushsync.Plan{Base: gone, Set: vals("X", "ours")})
	if !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("create over an existing Secret: %v", err)
	}
	data, _ = secretData(t, c, ns, "app-staging")
	if string(data["X"]) != "theirs" || len(data) != 1 {
		t.Errorf("create over an existing Secret wrote: %q", data)
	}
}

// TestOtherFieldManager: fields another manager owns (kubectl apply,
// server-side or client-side) are never taken: a push that would change
// or remove one is a conflict, with nothing written.
func TestOtherFieldManager(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	empty, _ := b.Pull(ctx(t), "prod")
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1", "B", "2")}); err != nil {
		t.Fatal(err)
	}
	// ops applies the same A (shared ownership) and a key of its own.
	manifest := `apiVersion: v1
kind: Secret
metadata: {name: app-prod, namespace: ` + ns + `}
data: {A: "MQ==", OPS: "b3Bz"}
`
	c.Kubectl(t, []byte(manifest), "apply", "--server-side", "--field-manager=ops", "-f", "-")
	// A client-side kubectl apply owns another key (manager
	// kubectl-client-side-apply, an update).
	manifest2 := `apiVersion: v1
kind: Secret
metadata: {name: app-prod, namespace: ` + ns + `}
data: {CSA: "Y3Nh"}
`
	c.Kubectl(t, []byte(manifest2), "apply", "-f", "-")

	base, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "pull", base.Values, vals("A", "1", "B", "2", "OPS", "ops", "CSA", "csa"))
	_, rv := secretData(t, c, ns, "app-prod")
	for _, tt := range []struct {
		name string
		plan *hushsync.Plan
		msg  string
	}{
		{"change ops's key", &hushsync.Plan{Base: base, Set: vals("OPS", "mine")}, `conflict with "ops"`},
		{"change a shared key", &hushsync.Plan{Base: base, Set: vals("A", "other")}, `conflict with "ops"`},
		{"change the client-side key", &hushsync.Plan{Base: base, Set: vals("CSA", "mine")}, `conflict with "kubectl-client-side-apply"`},
		{"delete a shared key", &hushsync.Plan{Base: base, Delete: []string{"A"}}, "key A is managed by ops/Apply"},
		{"delete ops's key", &hushsync.Plan{Base: base, Delete: []string{"OPS"}}, "key OPS is managed by ops/Apply"},
		{"delete the client-side key", &hushsync.Plan{Base: base, Delete: []string{"CSA"}}, "key CSA is managed by kubectl-client-side-apply/Update"},
	} {
		_, err := b.Push(ctx(t), "prod", tt.plan)
		if !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("%s: %v", tt.name, err)
		}
		data, rvAfter := secretData(t, c, ns, "app-prod")
		if rvAfter != rv || len(data) != 4 || string(data["A"]) != "1" || string(data["OPS"]) != "ops" || string(data["CSA"]) != "csa" {
			t.Fatalf("%s wrote: rv %s→%s %q", tt.name, rv, rvAfter, data)
		}
	}
	// hush's own key it may change and delete; the others' keys stay.
	after, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: base, Set: vals("NEW", "n"), Delete: []string{"B"}})
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "after", after.Values, vals("A", "1", "OPS", "ops", "CSA", "csa", "NEW", "n"))
}

// TestKeyRules: a key a Secret cannot hold, or data over a Secret's size,
// is refused before anything is written, naming the key and not the value.
func TestKeyRules(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	empty, _ := b.Pull(ctx(t), "prod")
	for _, key := range []string{"has space", "slash/key", "colon:key", "..", ".", "ünï", strings.Repeat("k", 254), ""} {
		_, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals(key, "fake-value-k")})
		if err == nil || !strings.Contains(err.Error(), "cannot be a Secret key") || strings.Contains(err.Error(), "fake-value-k") ||
			!strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("key %q: %v", key, err)
		}
	}
	big := strings.Repeat("x", 600<<10)
	_, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", big, "B", big)})
	if err == nil || !strings.Contains(err.Error(), "over a Secret's 1 MiB") {
		t.Errorf("too big: %v", err)
	}
	if out, err := c.KubectlErr(nil, "-n", ns, "get", "secret", "app-prod"); err == nil {
		t.Errorf("a refused push created the Secret: %s", out)
	}
	// Keys with '.', '-' are fine for a Secret (another tool's); hush pulls
	// only keys it can hold, and says which it cannot.
	c.Kubectl(t, nil, "-n", ns, "create", "secret", "generic", "app-other", "--from-literal=tls.crt=x")
	if _, err := b.Pull(ctx(t), "other"); err == nil || !strings.Contains(err.Error(), `"tls.crt"`) {
		t.Errorf("pull of a key hush cannot hold: %v", err)
	}
}

// TestDeletedSecret: a Secret removed is Missing (the sync's vanished rule
// then refuses to read that as every key deleted); one being deleted,
// held by a finalizer, is Deleted.
func TestDeletedSecret(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	empty, _ := b.Pull(ctx(t), "prod")
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1")}); err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, nil, "-n", ns, "delete", "secret", "app-prod")
	snap, err := b.Pull(ctx(t), "prod")
	if err != nil || !snap.Missing || len(snap.Values) != 0 {
		t.Fatalf("deleted Secret: %+v %v", snap, err)
	}

	empty, _ = b.Pull(ctx(t), "held")
	if _, err := b.Push(ctx(t), "held", &hushsync.Plan{Base: empty, Set: vals("A", "1")}); err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, nil, "-n", ns, "patch", "secret", "app-held", "--type=merge", "-p", `{"metadata":{"finalizers":["hush-secrets.github.io/test"]}}`)
	c.Kubectl(t, nil, "-n", ns, "delete", "secret", "app-held", "--wait=false")
	t.Cleanup(func() {
		c.KubectlErr(nil, "-n", ns, "patch", "secret", "app-held", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	})
	snap, err = b.Pull(ctx(t), "held")
	if err != nil || !snap.Deleted || snap.Missing || len(snap.Values) != 0 {
		t.Fatalf("Secret being deleted: %+v %v", snap, err)
	}
	if _, err := b.Push(ctx(t), "held", &hushsync.Plan{Base: snap, Set: vals("A", "2")}); !errors.Is(err, hushsync.ErrConflict) {
		t.Errorf("push onto a Secret being deleted: %v", err)
	}
}

// TestDenied: an identity RBAC does not allow is ErrDenied, which is
// ErrUnavailable (exit 8); one allowed to read but not write pulls and
// is denied the push, with nothing written.
func TestDenied(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	admin := open(t, c, ns)
	empty, _ := admin.Pull(ctx(t), "prod")
	if _, err := admin.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1")}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Namespace: ns, Project: "app", ProjectID: "prj-1"}

	nobody := openAs(t, c.UserKubeconfig(t, "hush-limited"), cfg)
	_, err := nobody.Pull(ctx(t), "prod")
	if !errors.Is(err, hushsync.ErrDenied) || !errors.Is(err, hushsync.ErrUnavailable) || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("pull without rights: %v", err)
	}

	c.Grant(t, ns, "hush-reader", "get")
	reader := openAs(t, c.UserKubeconfig(t, "hush-reader"), cfg)
	snap, err := reader.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "reader", snap.Values, vals("A", "1"))
	_, err = reader.Push(ctx(t), "prod", &hushsync.Plan{Base: snap, Set: vals("A", "2")})
	if !errors.Is(err, hushsync.ErrDenied) || !errors.Is(err, hushsync.ErrUnavailable) || errors.Is(err, hushsync.ErrConflict) {
		t.Fatalf("push without patch: %v", err)
	}
	if !strings.Contains(err.Error(), `User "hush-reader" cannot patch resource "secrets"`) {
		t.Errorf("message: %v", err)
	}
	// The reader may not look at namespaces: a missing Secret is Missing.
	snap, err = reader.Pull(ctx(t), "nothing")
	if err != nil || !snap.Missing {
		t.Errorf("reader's pull of a missing Secret: %+v %v", snap, err)
	}
	// A wrong token: 401.
	bad := openAs(t, writeFile(t, "bad.kubeconfig", c.KubeconfigFor("bad", "not-a-token")), cfg)
	if _, err := bad.Pull(ctx(t), "prod"); !errors.Is(err, hushsync.ErrDenied) || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad token: %v", err)
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnreachable: the API server stopped is ErrUnavailable (exit 8) for
// pull and push, after bounded retries, and back once it is started.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	c := k8stest.Start(t)
	c.Namespace(t, "app")
	b := open(t, c, "app")
	empty, _ := b.Pull(ctx(t), "prod")
	first, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1")})
	if err != nil {
		t.Fatal(err)
	}
	c.StopAPIServer()
	start := time.Now()
	_, err = b.Pull(ctx(t), "prod")
	if !errors.Is(err, hushsync.ErrUnavailable) || errors.Is(err, hushsync.ErrDenied) {
		t.Fatalf("pull from a stopped server: %v", err)
	}
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: first, Set: vals("A", "2")}); !errors.Is(err, hushsync.ErrUnavailable) {
		t.Fatalf("push to a stopped server: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("giving up took %s", d)
	}
	c.StartAPIServer(t)
	snap, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "after restart", snap.Values, vals("A", "1"))
}

// TestEncryptedAtRest reads etcd directly: the Secret is there, encrypted
// by the API server's secretbox provider, and no value (nor a key name)
// is in it in plaintext.
func TestEncryptedAtRest(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	empty, _ := b.Pull(ctx(t), "prod")
	value := "fake-value-at-rest-7f3c9e"
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("AT_REST_KEY", value)}); err != nil {
		t.Fatal(err)
	}
	raw, err := c.EtcdValue(ctx(t), "/registry/secrets/"+ns+"/app-prod")
	if err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		t.Fatal("no such key in etcd: is the prefix /registry?")
	}
	if !bytes.HasPrefix(raw, []byte("k8s:enc:secretbox:v1:hushtest:")) {
		t.Errorf("etcd holds %q…, not the secretbox envelope", raw[:min(len(raw), 40)])
	}
	for _, s := range []string{value, "AT_REST_KEY", "ZmFrZS12YWx1ZS1hdC1yZXN0"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("etcd holds %q in plaintext", s)
		}
	}
	// The check can fail: an unencrypted object (a ConfigMap) is readable.
	c.Kubectl(t, nil, "-n", ns, "create", "configmap", "plain", "--from-literal=K="+value)
	raw, err = c.EtcdValue(ctx(t), "/registry/configmaps/"+ns+"/plain")
	if err != nil || !bytes.Contains(raw, []byte(value)) {
		t.Errorf("a ConfigMap is not plaintext in etcd (%v): the check above proves nothing", err)
	}
}

// TestProjectAndEnvironmentGuard: a Secret another hush project or
// environment wrote is not read or written.
func TestProjectAndEnvironmentGuard(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	other := openAs(t, c.Kubeconfig, Config{Namespace: ns, Project: "app", ProjectID: "prj-other"})
	empty, _ := other.Pull(ctx(t), "prod")
	if _, err := other.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1")}); err != nil {
		t.Fatal(err)
	}
	b := open(t, c, ns)
	if _, err := b.Pull(ctx(t), "prod"); !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), "another hush project") {
		t.Errorf("another project's Secret: %v", err)
	}
	shared := openAs(t, c.Kubeconfig, Config{Namespace: ns, Project: "app", ProjectID: "prj-other", Names: map[string]string{"staging": "app-prod"}})
	if _, err := shared.Pull(ctx(t), "staging"); !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), "holds environment prod") {
		t.Errorf("another environment's Secret: %v", err)
	}
}

// TestExportApplied: what hush export --format k8s writes, applied with
// kubectl to the real API server, comes back byte for byte, the empty
// value included (which YAML would read as null, and kubectl drop).
func TestExportApplied(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	manifest := exportManifest(t, "exported", ns, nasty)
	c.Kubectl(t, manifest, "apply", "-f", "-")
	data, _ := secretData(t, c, ns, "exported")
	for k, v := range nasty {
		if got, ok := data[k]; !ok || string(got) != v.Reveal() {
			t.Errorf("%s = %q (present %v), want %q", k, got, ok, v.Reveal())
		}
	}
	if len(data) != len(nasty) {
		t.Errorf("%d keys, want %d", len(data), len(nasty))
	}
	// kubectl's client-side dry run (which needs the server's discovery)
	// decodes the same bytes.
	var dry struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(c.Kubectl(t, manifest, "create", "--dry-run=client", "-o", "json", "-f", "-"), &dry); err != nil {
		t.Fatal(err)
	}
	for k, v := range nasty {
		if got, ok := dry.Data[k]; !ok || string(got) != v.Reveal() {
			t.Errorf("dry run: %s = %q (present %v), want %q", k, got, ok, v.Reveal())
		}
	}
	// And server-side apply of it too.
	c.Kubectl(t, exportManifest(t, "exported-ssa", ns, nasty), "apply", "--server-side", "-f", "-")
	data, _ = secretData(t, c, ns, "exported-ssa")
	if v, ok := data["EMPTY"]; !ok || len(v) != 0 || len(data) != len(nasty) {
		t.Errorf("server-side: %d keys, EMPTY present %v", len(data), ok)
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	ns, name, key, err := ParseRef("k8s://prod/app-secrets#DB_URL")
	if err != nil || ns != "prod" || name != "app-secrets" || key != "DB_URL" {
		t.Errorf("ParseRef = %q %q %q %v", ns, name, key, err)
	}
	for _, bad := range []string{"k8s://prod/app", "k8s://app#K", "k8s:///app#K", "k8s://Prod/app#K", "k8s://prod/App#K",
		"k8s://prod/app#", "k8s://prod/app#bad key", "vault://prod/app#K", "k8s://prod/a/b#K"} {
		if _, _, _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	b := open(t, c, ns)
	empty, _ := b.Pull(ctx(t), "prod")
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: nasty}); err != nil {
		t.Fatal(err)
	}
	d := Driver{Getenv: func(k string) string {
		if k == "KUBECONFIG" {
			return c.Kubeconfig
		}
		return ""
	}}
	for k, v := range nasty {
		got, err := d.Resolve(ctx(t), "k8s://"+ns+"/app-prod#"+k)
		if err != nil || string(got) != v.Reveal() {
			t.Errorf("%s: %q %v", k, got, err)
		}
	}
	for _, ref := range []string{"k8s://" + ns + "/app-prod#NOPE", "k8s://" + ns + "/nope#A", "k8s://no-such-ns/app-prod#A"} {
		if _, err := d.Resolve(ctx(t), ref); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v", ref, err)
		}
	}
	if _, err := d.Resolve(ctx(t), "k8s://"+ns+"/app-prod"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("a malformed reference: %v", err)
	}
}
