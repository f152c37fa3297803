package k8s

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ServiceAccountDir is where a pod's service account is mounted.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// env is where the driver reads its environment: the process's, or a
// test's.
type env struct {
	getenv func(string) string
	// root stands for / when reading the service account's files (tests
	// point it at a directory they fill).
	root string
}

func (e env) get(k string) string {
	if e.getenv != nil {
		return e.getenv(k)
	}
	return os.Getenv(k)
}

func (e env) saFile(name string) string {
	return filepath.Join(e.root, ServiceAccountDir, name)
}

// inCluster reports whether this looks like a pod: the service host is
// set and the token is mounted.
func (e env) inCluster() bool {
	if e.get("KUBERNETES_SERVICE_HOST") == "" || e.get("KUBERNETES_SERVICE_PORT") == "" {
		return false
	}
	_, err := os.Stat(e.saFile("token"))
	return err == nil
}

// restConfig returns the client configuration for c, the namespace the
// credentials' source names (for an empty Config.Namespace), and a
// description of the source for messages.
func (e env) restConfig(c Config) (*rest.Config, string, string, error) {
	mode := c.Auth
	if mode == AuthAuto {
		mode = AuthKubeconfig
		if c.Kubeconfig == "" && c.Context == "" && e.get("KUBECONFIG") == "" && e.inCluster() {
			mode = AuthInCluster
		}
	}
	var (
		cfg      *rest.Config
		ns, from string
		err      error
	)
	if mode == AuthInCluster {
		cfg, ns, err = e.inClusterConfig()
		from = "the in-cluster service account"
	} else {
		cfg, ns, from, err = e.kubeconfig(c)
	}
	if err != nil {
		return nil, "", "", err
	}
	cfg.UserAgent = "hush"
	// One request never hangs a command: the retries are ours (see
	// retry.go), each bounded.
	cfg.Timeout = 30 * time.Second
	cfg.QPS, cfg.Burst = 20, 40
	return cfg, ns, from, nil
}

// inClusterConfig is client-go's rest.InClusterConfig, reading the token
// and CA under e.root: the token by file, so a rotated projected token is
// read afresh.
func (e env) inClusterConfig() (*rest.Config, string, error) {
	host, port := e.get("KUBERNETES_SERVICE_HOST"), e.get("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, "", errors.New("k8s: in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)")
	}
	token := e.saFile("token")
	if b, err := os.ReadFile(token); err != nil {
		return nil, "", fmt.Errorf("k8s: in-cluster: the service account token: %w", err)
	} else if len(strings.TrimSpace(string(b))) == 0 {
		return nil, "", fmt.Errorf("k8s: in-cluster: the service account token %s is empty", token)
	}
	ca := e.saFile("ca.crt")
	if _, err := os.Stat(ca); err != nil {
		return nil, "", fmt.Errorf("k8s: in-cluster: the cluster's CA: %w", err)
	}
	ns := ""
	if b, err := os.ReadFile(e.saFile("namespace")); err == nil {
		ns = strings.TrimSpace(string(b))
	}
	return &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		BearerTokenFile: token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: ca},
	}, ns, nil
}

// kubeconfig loads Config.Kubeconfig, else KUBECONFIG's files (merged, as
// kubectl does), else ~/.kube/config, at Config.Context or the current
// context.
func (e env) kubeconfig(c Config) (*rest.Config, string, string, error) {
	rules := &clientcmd.ClientConfigLoadingRules{}
	from := ""
	switch {
	case c.Kubeconfig != "":
		rules.ExplicitPath = c.Kubeconfig
		from = c.Kubeconfig
	case e.get("KUBECONFIG") != "":
		rules.Precedence = filepath.SplitList(e.get("KUBECONFIG"))
		from = "KUBECONFIG"
	default:
		home := e.get("HOME")
		if home == "" {
			return nil, "", "", errors.New("k8s: no kubeconfig: KUBECONFIG and HOME are not set")
		}
		rules.Precedence = []string{filepath.Join(home, ".kube", "config")}
		from = "~/.kube/config"
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("k8s: kubeconfig (%s): %w", from, err)
	}
	if c.Context != "" {
		if _, ok := raw.Contexts[c.Context]; !ok {
			return nil, "", "", fmt.Errorf("k8s: kubeconfig (%s) has no context %q", from, c.Context)
		}
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", "", fmt.Errorf("k8s: no kubeconfig (%s is missing or empty) and not in a cluster; set KUBECONFIG or --context", from)
		}
		return nil, "", "", fmt.Errorf("k8s: kubeconfig (%s): %w", from, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", "", fmt.Errorf("k8s: kubeconfig (%s): %w", from, err)
	}
	name := c.Context
	if name == "" {
		name = raw.CurrentContext
	}
	return cfg, ns, fmt.Sprintf("context %s of %s", name, from), nil
}
