package k8s

import (
	"encoding/json"
	"net"
	"strconv"
	"testing"

	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/k8s/k8stest"
	"github.com/hush-secrets/hush/sync/synctest"
)

// TestConformance runs the shared sync.Backend suite on the real API
// server. Out-of-band deletion of one key has no hook: a Secret has no
// soft-deleted key (a key removed by kubectl is an edit the three-way plan
// sees), and a Secret being deleted is tested in TestDeletedSecret.
func TestConformance(t *testing.T) {
	c := cluster(t)
	ns := namespace(t, c)
	cfg := Config{Namespace: ns, Project: "app", ProjectID: "prj-conf", HushVersion: "test"}
	raw, _ := json.Marshal(cfg)
	synctest.Run(t, func(t *testing.T) (hushsync.Backend, synctest.Remote) {
		f := &synctest.Faults{}
		d := Driver{Getenv: kubeconfigEnv(c.Kubeconfig), wrap: f.Wrap}
		b, err := d.Open(ctx(t), raw)
		if err != nil {
			t.Fatal(err)
		}
		return b, synctest.Remote{
			LoseAnswer:   f.LoseNextWrite,
			ServerErrors: f.ServerErrors,
			Unreachable: func(t *testing.T) hushsync.Backend {
				port := closedPort(t)
				kc := writeFile(t, "closed.kubeconfig", k8stest.Kubeconfig("https://127.0.0.1:"+strconv.Itoa(port), c.CAData, "closed", c.Token))
				return openAs(t, kc, cfg)
			},
			NoEngine: func(t *testing.T) hushsync.Backend {
				other := cfg
				other.Namespace = "no-such-namespace"
				return openAs(t, c.Kubeconfig, other)
			},
			Vanish: func(t *testing.T, env string) {
				name, err := cfg.secretName(env)
				if err != nil {
					t.Fatal(err)
				}
				c.Kubectl(t, nil, "-n", ns, "delete", "secret", name)
			},
		}
	})
}

func kubeconfigEnv(path string) func(string) string {
	return func(k string) string {
		if k == "KUBECONFIG" {
			return path
		}
		return ""
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
