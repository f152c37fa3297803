package k8s

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hushsync "github.com/hush-secrets/hush/sync"
)

// TestInCluster stands a directory in for a pod's filesystem: the service
// account's token, CA and namespace under
// var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST
// and _PORT naming the API server. The token is a real service-account
// token the API server issued (kubectl create token), bound by RBAC to
// Secrets in its namespace. What this proves: the in-cluster loader finds
// and uses those files and variables, verifies the server with that CA,
// takes the namespace from the mounted file, and a service account's
// token works for pull and push. What it does not: that a kubelet mounts
// them there (the path is the documented one, as client-go's
// rest.InClusterConfig reads it).
func TestInCluster(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	c.Kubectl(t, nil, "-n", ns, "create", "serviceaccount", "hush")
	c.Kubectl(t, nil, "-n", ns, "create", "role", "hush", "--verb=get,create,patch", "--resource=secrets")
	c.Kubectl(t, nil, "-n", ns, "create", "rolebinding", "hush", "--role=hush", "--serviceaccount="+ns+":hush")
	token := strings.TrimSpace(string(c.Kubectl(t, nil, "-n", ns, "create", "token", "hush")))

	root := t.TempDir()
	sa := filepath.Join(root, ServiceAccountDir)
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"token": token, "ca.crt": string(c.CAData), "namespace": ns} {
		if err := os.WriteFile(filepath.Join(sa, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(c.Server)
	podEnv := map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port(), "HOME": root}
	d := Driver{Root: root, Getenv: func(k string) string { return podEnv[k] }}

	// Auto: no kubeconfig named, in a pod.
	raw, _ := json.Marshal(Config{Project: "app", ProjectID: "prj-1"})
	bk, err := d.Open(ctx(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	b := bk.(*Backend)
	if b.Namespace() != ns || !strings.Contains(b.from, "in-cluster") {
		t.Fatalf("namespace %q from %q", b.Namespace(), b.from)
	}
	empty, err := b.Pull(ctx(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Push(ctx(t), "prod", &hushsync.Plan{Base: empty, Set: vals("A", "1")}); err != nil {
		t.Fatal(err)
	}
	data, _ := secretData(t, c, ns, "app-prod")
	if string(data["A"]) != "1" {
		t.Errorf("in-cluster push: %q", data)
	}
	// The service account may not touch another namespace.
	raw, _ = json.Marshal(Config{Namespace: "default", Project: "app", Auth: AuthInCluster})
	other, err := d.Open(ctx(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Pull(ctx(t), "prod"); !errors.Is(err, hushsync.ErrDenied) || !strings.Contains(err.Error(), "system:serviceaccount:"+ns+":hush") {
		t.Errorf("another namespace: %v", err)
	}
	// A CA that is not the cluster's: TLS fails, nothing is sent.
	wrongCA := t.TempDir()
	if err := os.MkdirAll(filepath.Join(wrongCA, ServiceAccountDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"token": token, "ca.crt": string(otherCA(t)), "namespace": ns} {
		os.WriteFile(filepath.Join(wrongCA, ServiceAccountDir, name), []byte(data), 0o600)
	}
	bad, err := Driver{Root: wrongCA, Getenv: d.Getenv}.Open(ctx(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Pull(ctx(t), "prod"); !errors.Is(err, hushsync.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("wrong CA: %v", err)
	}
	// Asked for in-cluster outside a pod: a clear error.
	raw, _ = json.Marshal(Config{Auth: AuthInCluster})
	if _, err := (Driver{Root: t.TempDir(), Getenv: func(string) string { return "" }}).Open(ctx(t), raw); err == nil || !strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST") {
		t.Errorf("in-cluster outside a pod: %v", err)
	}
	if _, err := (Driver{Root: t.TempDir(), Getenv: d.Getenv}).Open(ctx(t), raw); err == nil || !strings.Contains(err.Error(), "service account token") {
		t.Errorf("in-cluster without a token: %v", err)
	}
}

// TestKubeconfig: KUBECONFIG's files merged, the context chosen by
// Config.Context, its namespace the default; a missing context or file
// is a clear error.
func TestKubeconfig(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c)
	c.Grant(t, ns, "hush-reader", "get")
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin")
	reader := filepath.Join(dir, "reader")
	// The reader's context names the namespace.
	rk := strings.Replace(string(c.KubeconfigFor("reader", c.UserToken(t, "hush-reader"))), "      cluster: hush-test\n", "      cluster: hush-test\n      namespace: "+ns+"\n", 1)
	os.WriteFile(admin, c.KubeconfigFor("admin", c.Token), 0o600)
	os.WriteFile(reader, []byte(rk), 0o600)
	env := map[string]string{"KUBECONFIG": admin + string(os.PathListSeparator) + reader, "HOME": dir}
	d := Driver{Root: dir, Getenv: func(k string) string { return env[k] }}

	raw, _ := json.Marshal(Config{Context: "reader", Project: "app"})
	b, err := d.Open(ctx(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.(*Backend).Namespace() != ns || !strings.Contains(b.(*Backend).from, "context reader") {
		t.Errorf("namespace %q from %q", b.(*Backend).Namespace(), b.(*Backend).from)
	}
	snap, err := b.Pull(ctx(t), "prod")
	if err != nil || !snap.Missing {
		t.Fatalf("reader's pull: %+v %v", snap, err)
	}
	// The first file's current context (admin), namespace default.
	raw, _ = json.Marshal(Config{Project: "app"})
	b, err = d.Open(ctx(t), raw)
	if err != nil || b.(*Backend).Namespace() != "default" {
		t.Fatalf("current context: %v", err)
	}
	// An explicit file wins over KUBECONFIG.
	raw, _ = json.Marshal(Config{Kubeconfig: reader, Project: "app"})
	if b, err = d.Open(ctx(t), raw); err != nil || b.(*Backend).Namespace() != ns {
		t.Fatalf("explicit kubeconfig: %v", err)
	}

	raw, _ = json.Marshal(Config{Context: "nope"})
	if _, err := d.Open(ctx(t), raw); err == nil || !strings.Contains(err.Error(), `no context "nope"`) {
		t.Errorf("missing context: %v", err)
	}
	empty := Driver{Root: dir, Getenv: func(k string) string { return map[string]string{"HOME": t.TempDir()}[k] }}
	if _, err := empty.Open(ctx(t), nil); err == nil || !strings.Contains(err.Error(), "no kubeconfig") {
		t.Errorf("no kubeconfig: %v", err)
	}
	if _, err := d.Open(ctx(t), json.RawMessage(`{"namespace":"x","server":"https://evil"}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := d.Open(ctx(t), json.RawMessage(`{"auth":"token"}`)); err == nil {
		t.Error("unknown auth accepted")
	}
}

func TestSecretNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  Config
		env  string
		want string
		err  string
	}{
		{Config{Project: "app"}, "prod", "app-prod", ""},
		{Config{Project: "My_App"}, "dev_1", "my-app-dev-1", ""},
		{Config{Project: "app", Name: "hush.{env}"}, "prod", "hush.prod", ""},
		{Config{Project: "app", Name: "{env}"}, "prod", "prod", ""},
		{Config{Name: "{project}-{env}"}, "prod", "", "needs the project's name"},
		{Config{Project: "app.", Name: "{project}"}, "prod", "", "not a DNS subdomain"},
		{Config{Project: "app", Names: map[string]string{"prod": "exact"}}, "prod", "exact", ""},
	} {
		got, err := tt.cfg.secretName(tt.env)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v %s: %q %v", tt.cfg, tt.env, got, err)
		}
	}
	if _, err := ParseConfig(json.RawMessage(`{"names":{"prod":"Bad_Name"}}`)); err == nil {
		t.Error("a bad name in names accepted")
	}
	if _, err := ParseConfig(json.RawMessage(`{"namespace":"Bad"}`)); err == nil {
		t.Error("a bad namespace accepted")
	}
}
