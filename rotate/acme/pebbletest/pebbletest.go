// Package pebbletest runs pebble, Let's Encrypt's ACME test CA, for tests:
// the binaries `make pebble` (.ci/pebble) builds into .cache/bin, on free
// loopback ports, in a temporary directory, stopped at cleanup.
//
// Challenges are validated for real. pebble-challtestsrv answers the
// validation authority's DNS queries with 127.0.0.1 for every name (and no
// IPv6 address), and pebble's VA fetches HTTP-01 responses from
// 127.0.0.1:HTTPPort, where the client under test must serve them: no
// PEBBLE_VA_ALWAYS_VALID. PEBBLE_VA_NOSLEEP=1 only drops pebble's random
// wait before each validation.
//
// pebble's own HTTPS listener (the ACME directory and the management
// interface) gets a certificate from a throwaway CA the helper makes
// (ServerCAFile); the CA that signs issued certificates is pebble's, its
// root fetched from the management interface at start (RootFile), as it is
// new on every launch.
//
// Without the binaries a test skips, or fails when HUSH_TEST_REQUIRE_ALL=1.
package pebbletest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"
)

// Options shape the CA.
type Options struct {
	// Validity is how long issued certificates last (pebble's default
	// profile's validityPeriod); 0 means pebble's default, 90 days.
	Validity time.Duration
	// EAB, when set, makes external account binding required, with these
	// key IDs and their base64url HMAC keys.
	EAB map[string]string
	// Env is added to pebble's environment (PEBBLE_AUTHZREUSE=100…).
	Env []string
}

// Pebble is a running CA.
type Pebble struct {
	// Directory is the ACME directory URL (https://127.0.0.1:PORT/dir).
	Directory string
	// Management is the management interface's base URL.
	Management string
	// HTTPPort is where pebble's VA fetches HTTP-01 responses, on
	// 127.0.0.1.
	HTTPPort int
	// ServerCAFile holds the PEM certificate that signs pebble's HTTPS
	// listener: trust it to reach Directory and Management.
	ServerCAFile string
	// RootFile holds pebble's root (PEM), the anchor of every chain it
	// issues; Root is the same, parsed.
	RootFile string
	Root     *x509.Certificate
	// Dir is the temporary directory pebble runs in.
	Dir string

	client *http.Client
	procs  []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// Binaries finds pebble and pebble-challtestsrv: .cache/bin in this
// directory or a parent (the repository root), then PATH. ok is false when
// either is missing.
func Binaries() (pebble, challtestsrv string, ok bool) {
	find := func(name string) string {
		if p, ok := daemon.Cached("bin/" + name); ok {
			return p
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		return ""
	}
	pebble, challtestsrv = find("pebble"), find("pebble-challtestsrv")
	return pebble, challtestsrv, pebble != "" && challtestsrv != ""
}

// RequireAll reports whether a missing pebble must fail the test
// (HUSH_TEST_REQUIRE_ALL=1, as CI sets).
func RequireAll() bool { return os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" }

// Start runs a CA for the rest of t, or skips t (fails it under
// HUSH_TEST_REQUIRE_ALL=1) when the binaries are missing.
func Start(t testing.TB, o Options) *Pebble {
	t.Helper()
	if _, _, ok := Binaries(); !ok {
		if RequireAll() {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but pebble or pebble-challtestsrv is not built: run make pebble")
		}
		t.Skip("no pebble (run make pebble)")
	}
	p, err := Run(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// Run starts a CA in dir; the caller must Stop it.
func Run(dir string, o Options) (*Pebble, error) {
	pebbleBin, challBin, ok := Binaries()
	if !ok {
		return nil, errors.New("pebbletest: pebble or pebble-challtestsrv is not built: run make pebble")
	}
	p := &Pebble{Dir: dir}
	ok = false
	defer func() {
		if !ok {
			p.Stop()
		}
	}()
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	acmePort, mgmtPort, httpPort, tlsPort, dnsPort, challMgmt := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	p.HTTPPort = httpPort
	p.Directory = fmt.Sprintf("https://127.0.0.1:%d/dir", acmePort)
	p.Management = fmt.Sprintf("https://127.0.0.1:%d", mgmtPort)

	caPEM, certPEM, keyPEM, err := serverCert()
	if err != nil {
		return nil, err
	}
	p.ServerCAFile = filepath.Join(dir, "server-ca.pem")
	files := map[string][]byte{p.ServerCAFile: caPEM, filepath.Join(dir, "server.pem"): certPEM, filepath.Join(dir, "server.key"): keyPEM}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			return nil, err
		}
	}
	cfg := map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", acmePort),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":                    filepath.Join(dir, "server.pem"),
		"privateKey":                     filepath.Join(dir, "server.key"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": len(o.EAB) > 0,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
	}
	if len(o.EAB) > 0 {
		cfg["externalAccountMACKeys"] = o.EAB
	}
	if o.Validity > 0 {
		cfg["profiles"] = map[string]any{"default": map[string]any{"description": "hush tests", "validityPeriod": int64(o.Validity / time.Second)}}
	}
	b, err := json.MarshalIndent(map[string]any{"pebble": cfg}, "", "  ")
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		return nil, err
	}

	// The DNS server first: pebble's VA asks it for every name.
	if err := p.start("pebble-challtestsrv", dir, nil, challBin,
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort), "-management", fmt.Sprintf("127.0.0.1:%d", challMgmt),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", ""); err != nil {
		return nil, err
	}
	if err := waitTCP(fmt.Sprintf("127.0.0.1:%d", dnsPort), p.procs[0]); err != nil {
		return nil, err
	}
	env := append([]string{"PEBBLE_VA_NOSLEEP=1"}, o.Env...)
	if err := p.start("pebble", dir, env, pebbleBin, "-config", cfgFile, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort)); err != nil {
		return nil, err
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var root []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		root, err = p.get("/roots/0")
		if err == nil {
			break
		}
		if time.Now().After(deadline) || p.exited() != "" {
			return nil, fmt.Errorf("pebbletest: pebble did not serve its root: %v%s", err, p.exited())
		}
		time.Sleep(50 * time.Millisecond)
	}
	blk, _ := pem.Decode(root)
	if blk == nil {
		return nil, fmt.Errorf("pebbletest: /roots/0 is not PEM: %q", root)
	}
	if p.Root, err = x509.ParseCertificate(blk.Bytes); err != nil {
		return nil, fmt.Errorf("pebbletest: /roots/0: %w", err)
	}
	p.RootFile = filepath.Join(dir, "root.pem")
	if err := os.WriteFile(p.RootFile, root, 0o600); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// Roots is a pool holding pebble's root.
func (p *Pebble) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root)
	return pool
}

// Status is a certificate's status at the CA, from the management
// interface's /cert-status-by-serial.
type Status struct {
	Status    string // "Valid" or "Revoked"
	Reason    int
	RevokedAt string // as pebble prints it (Go's time.Time.String)
}

// CertStatus asks pebble about the certificate with this serial number.
func (p *Pebble) CertStatus(serial *big.Int) (Status, error) {
	b, err := p.get("/cert-status-by-serial/" + serial.Text(16))
	if err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return Status{}, fmt.Errorf("pebbletest: cert status: %w", err)
	}
	return st, nil
}

func (p *Pebble) get(path string) ([]byte, error) {
	resp, err := p.client.Get(p.Management + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pebbletest: GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// Log is what pebble and the DNS server printed, for a failing test.
func (p *Pebble) Log() string {
	var b bytes.Buffer
	for _, pr := range p.procs {
		fmt.Fprintf(&b, "--- %s\n%s", pr.name, pr.log.String())
	}
	return b.String()
}

// Stop ends both processes and waits for them. Safe to call twice.
func (p *Pebble) Stop() {
	for i := len(p.procs) - 1; i >= 0; i-- {
		pr := p.procs[i]
		if pr.cmd.Process != nil {
			_ = pr.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-pr.done:
			case <-time.After(5 * time.Second):
				_ = pr.cmd.Process.Kill()
				<-pr.done
			}
		}
	}
	p.procs = nil
}

// exited is "" while every process runs, else which one stopped and its log.
func (p *Pebble) exited() string {
	for _, pr := range p.procs {
		select {
		case <-pr.done:
			return fmt.Sprintf(" (%s exited: %v)\n%s", pr.name, pr.cmd.ProcessState, p.Log())
		default:
		}
	}
	return ""
}

func (p *Pebble) start(name, dir string, env []string, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, and killed with the test binary on Linux.
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pebbletest: start %s: %w", name, err)
	}
	pr := &proc{name: name, cmd: cmd, log: &log.buf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(pr.done) }()
	p.procs = append(p.procs, pr)
	return nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func waitTCP(addr string, pr *proc) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-pr.done:
			return fmt.Errorf("pebbletest: %s exited: %s", pr.name, pr.log.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pebbletest: %s did not listen on %s: %s", pr.name, addr, pr.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago
// (for TCP and, for the DNS server, UDP).
func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		u.Close()
		out = append(out, port)
	}
	return out, nil
}

// serverCert makes a throwaway CA and a certificate it signs for
// 127.0.0.1 and localhost, for pebble's HTTPS listener.
func serverCert() (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hush pebbletest server CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}
