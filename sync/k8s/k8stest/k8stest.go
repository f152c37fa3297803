// Package k8stest starts a real Kubernetes API server for tests: Debian's
// etcd (etcd-server) on a throwaway data directory, and the kube-apiserver
// `make deps` builds into .cache/bin from k8s.io/kubernetes (.ci/kube), both
// on free ports of 127.0.0.1 and stopped at cleanup. The server runs as a
// cluster's would where it matters to hush:
//
//   - Secrets are encrypted at rest (an EncryptionConfiguration with a
//     secretbox key made at start), which EtcdValue lets a test check by
//     reading etcd directly;
//   - authorization is RBAC, authentication a static token file with an
//     administrator (system:masters) and further identities a test gives
//     roles to (AddUser), for denials;
//   - service-account tokens are signed with a key made at start, and the
//     serving certificate comes from a CA made at start, so clients verify
//     TLS as against a real cluster;
//   - --endpoint-reconciler-type=none: there is no node, and on 127.0.0.1
//     the reconciler would fight over the kubernetes service's endpoints.
//
// Without the binaries a test skips, or fails under HUSH_TEST_REQUIRE_ALL=1.
package k8stest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"
)

// Cluster is a running API server over its own etcd.
type Cluster struct {
	// Server is the API server's URL (https://127.0.0.1:PORT).
	Server string
	// CAData is the PEM of the CA that signed the serving certificate.
	CAData []byte
	// Token is the administrator's bearer token (user hush-admin, group
	// system:masters).
	Token string
	// Kubeconfig is a kubeconfig file for the administrator, with one
	// context, "admin".
	Kubeconfig string
	// EtcdURL is etcd's client URL (http://127.0.0.1:PORT).
	EtcdURL string
	// Dir holds the configuration, certificates and logs.
	Dir string

	users     map[string]string // user -> token
	tokenFile string
	apiserver *proc
	etcd      *proc
	mu        sync.Mutex
}

// Binaries finds kube-apiserver (.cache/bin in this directory or a parent,
// then PATH) and etcd (PATH, then /usr/bin). It skips t when either is
// missing, or fails it under HUSH_TEST_REQUIRE_ALL=1.
func Binaries(t testing.TB) (apiserver, etcd string) {
	t.Helper()
	apiserver, _ = daemon.Cached("bin/kube-apiserver")
	if apiserver == "" {
		apiserver, _ = exec.LookPath("kube-apiserver")
	}
	etcd, _ = exec.LookPath("etcd")
	if etcd == "" {
		if st, err := os.Stat("/usr/bin/etcd"); err == nil && st.Mode()&0o111 != 0 {
			etcd = "/usr/bin/etcd"
		}
	}
	var missing []string
	if apiserver == "" {
		missing = append(missing, "kube-apiserver (run make deps: .ci/kube builds it into .cache/bin)")
	}
	if etcd == "" {
		missing = append(missing, "etcd (Debian's etcd-server; run .ci/deps)")
	}
	if len(missing) > 0 {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf("HUSH_TEST_REQUIRE_ALL=1 but there is no %s", strings.Join(missing, " and no "))
		}
		t.Skipf("no %s", strings.Join(missing, " and no "))
	}
	return apiserver, etcd
}

// Kubectl finds kubectl on PATH, skipping t (failing it under
// HUSH_TEST_REQUIRE_ALL=1) without it.
func Kubectl(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but there is no kubectl on PATH")
		}
		t.Skip("no kubectl on PATH")
	}
	return p
}

// Start runs etcd and an API server for the rest of t.
func Start(t testing.TB) *Cluster {
	t.Helper()
	apiserver, etcd := Binaries(t)
	c, err := start(apiserver, etcd, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Launch runs etcd and an API server with their files in dir until Stop,
// for a cluster shared by a package's tests (see Binaries for the
// binaries).
func Launch(apiserver, etcd, dir string) (*Cluster, error) {
	return start(apiserver, etcd, dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func start(apiserverBin, etcdBin, dir string) (c *Cluster, err error) {
	c = &Cluster{Dir: dir, users: map[string]string{}}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := c.startEtcd(etcdBin); err != nil {
		return nil, err
	}
	if err := c.writeConfig(); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(apiserverBin); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startEtcd(bin string) error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	c.EtcdURL = "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	data := filepath.Join(c.Dir, "etcd")
	p, err := startProc(filepath.Join(c.Dir, "etcd.log"), bin,
		"--name", "hush-test", "--data-dir", data,
		"--listen-client-urls", c.EtcdURL, "--advertise-client-urls", c.EtcdURL,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "hush-test="+peer, "--initial-cluster-state", "new",
		"--log-level", "warn")
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	c.etcd = p
	return waitFor(p, "etcd", 30*time.Second, func() bool {
		resp, err := http.Get(c.EtcdURL + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// writeConfig makes the CA and serving certificate, the service-account
// signing key, the encryption configuration and the token file.
func (c *Cluster) writeConfig() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hush-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	c.CAData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt":     c.CAData,
		"server.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		"server.key": pemKey(srvKey),
		"sa.key":     pemKey(saKey),
		"sa.pub":     pemPub(&saKey.PublicKey),
	}
	// Secrets (and nothing else: hush stores only Secrets) encrypted at
	// rest with a key made now; identity after it only so that data
	// written before encryption was configured could still be read.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	files["encryption.yaml"] = []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: ["secrets"]
    providers:
      - secretbox:
          keys:
            - name: hushtest
              secret: ` + base64.StdEncoding.EncodeToString(key) + `
      - identity: {}
`)
	c.Token = "admin-" + randHex(16)
	c.users["hush-admin"] = c.Token
	for _, u := range Users {
		c.users[u] = "user-" + randHex(16)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), data, 0o600); err != nil {
			return err
		}
	}
	c.tokenFile = filepath.Join(c.Dir, "tokens.csv")
	if err := c.writeTokens(); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Server = "https://127.0.0.1:" + strconv.Itoa(port)
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	return os.WriteFile(c.Kubeconfig, c.KubeconfigFor("admin", c.Token), 0o600)
}

// writeTokens writes the static token file: the administrator in
// system:masters, every other user in no group (what they may do is what
// a test grants them).
func (c *Cluster) writeTokens() error {
	var b strings.Builder
	for user, token := range c.users {
		groups := ""
		if user == "hush-admin" {
			groups = ",system:masters"
		}
		fmt.Fprintf(&b, "%s,%s,%s%s\n", token, user, user, groups)
	}
	return os.WriteFile(c.tokenFile, []byte(b.String()), 0o600)
}

func pemKey(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func pemPub(k *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (c *Cluster) startAPIServer(bin string) error {
	f := func(name string) string { return filepath.Join(c.Dir, name) }
	port := strings.TrimPrefix(c.Server, "https://127.0.0.1:")
	p, err := startProc(f("kube-apiserver.log"), bin,
		"--etcd-servers="+c.EtcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--tls-cert-file="+f("server.crt"), "--tls-private-key-file="+f("server.key"),
		"--cert-dir="+f("certs"),
		"--encryption-provider-config="+f("encryption.yaml"),
		"--token-auth-file="+c.tokenFile,
		"--anonymous-auth=false",
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+f("sa.pub"),
		"--service-account-signing-key-file="+f("sa.key"),
		"--api-audiences=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--watch-cache=false",
		"--v=1",
	)
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	c.apiserver = p
	client := c.httpClient()
	return waitFor(p, "kube-apiserver", 120*time.Second, func() bool {
		req, _ := http.NewRequest("GET", c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (c *Cluster) httpClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAData)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// KubeconfigFor returns a kubeconfig whose one context, named context,
// talks to the server as the holder of token.
func (c *Cluster) KubeconfigFor(context, token string) []byte {
	return Kubeconfig(c.Server, c.CAData, context, token)
}

// Kubeconfig returns a kubeconfig whose one context, named context, talks
// to server (verified with the CA caPEM) as the holder of token.
func Kubeconfig(server string, caPEM []byte, context, token string) []byte {
	return []byte(`apiVersion: v1
kind: Config
clusters:
  - name: hush-test
    cluster:
      server: ` + server + `
      certificate-authority-data: ` + base64.StdEncoding.EncodeToString(caPEM) + `
users:
  - name: ` + context + `
    user:
      token: ` + token + `
contexts:
  - name: ` + context + `
    context:
      cluster: hush-test
      user: ` + context + `
current-context: ` + context + `
`)
}

// Users are the identities besides the administrator the token file
// holds, each in no group: they may do only what a test grants them
// (Grant). The API server reads the token file only at start, so they are
// all made then.
var Users = []string{"hush-limited", "hush-reader", "hush-other"}

// UserToken returns the bearer token of one of Users.
func (c *Cluster) UserToken(t testing.TB, user string) string {
	t.Helper()
	token, ok := c.users[user]
	if !ok {
		t.Fatalf("k8stest: no user %q (see Users)", user)
	}
	return token
}

// UserKubeconfig writes a kubeconfig for one of Users and returns its path.
func (c *Cluster) UserKubeconfig(t testing.TB, user string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := os.WriteFile(path, c.KubeconfigFor(user, c.UserToken(t, user)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Grant gives user the verbs on Secrets in namespace (a Role and a
// RoleBinding named after the user).
func (c *Cluster) Grant(t testing.TB, namespace, user string, verbs ...string) {
	t.Helper()
	q := make([]string, len(verbs))
	for i, v := range verbs {
		q[i] = strconv.Quote(v)
	}
	manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: "` + user + `", namespace: "` + namespace + `"}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: [` + strings.Join(q, ", ") + `]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "` + user + `", namespace: "` + namespace + `"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "` + user + `"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: "` + user + `"}
`
	c.Kubectl(t, []byte(manifest), "apply", "-f", "-")
}

// Namespace creates a namespace for t.
func (c *Cluster) Namespace(t testing.TB, name string) {
	t.Helper()
	c.Kubectl(t, nil, "create", "namespace", name)
}

// Kubectl runs kubectl as the administrator with args and returns its
// standard output, failing t on an error.
func (c *Cluster) Kubectl(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := c.KubectlErr(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// KubectlErr runs kubectl as the administrator; the error holds its
// standard error.
func (c *Cluster) KubectlErr(stdin []byte, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+c.Dir, "KUBECONFIG=")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// EtcdValue reads key from etcd directly (its v3 JSON gateway), as
// someone with the disk or etcd's port would: nil when there is no such
// key. A Secret is at /registry/secrets/NAMESPACE/NAME.
func (c *Cluster) EtcdValue(ctx context.Context, key string) ([]byte, error) {
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	req, err := http.NewRequestWithContext(ctx, "POST", c.EtcdURL+"/v3/kv/range", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("etcd range: %s: %s", resp.Status, raw)
	}
	var out struct {
		KVs []struct {
			Value []byte `json:"value"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	if len(out.KVs) == 0 {
		return nil, nil
	}
	return out.KVs[0].Value, nil
}

// StopAPIServer stops the API server (etcd goes on): the remote is then
// unreachable. StartAPIServer starts it again on the same port.
func (c *Cluster) StopAPIServer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserver != nil {
		c.apiserver.stop()
	}
}

// StartAPIServer starts the API server again after StopAPIServer.
func (c *Cluster) StartAPIServer(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startAPIServer(c.apiserver.cmd.Path); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the API server and etcd. Their files go with the test's
// temporary directory.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserver != nil {
		c.apiserver.stop()
	}
	if c.etcd != nil {
		c.etcd.stop()
	}
}

// Log returns the tail of the API server's log, for a failing test.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "kube-apiserver.log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startProc(logPath, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(logPath)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/bin", "HOME=" + filepath.Dir(logPath), "LANG=C", "TZ=UTC"}
	// Should the test binary die without stopping it, the server goes
	// with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) stop() { daemon.Stop(p.cmd, p.done, syscall.SIGTERM, 10*time.Second) }

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func waitFor(p *proc, name string, limit time.Duration, ready func() bool) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s", name, p.tail())
		default:
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %s", name, limit, p.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
