package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/rotate/acme/pebbletest"
)

// hushMain is the hush command of the scripts: main, or, when the script
// sets HUSH_TEST_CLOCK_SKEW (a Go duration), Main with a clock that far
// ahead, so a script can ask "is it due?" hours later without waiting.
// Only the test binary reads the variable; hush itself has no such hook.
func hushMain() {
	skew := os.Getenv("HUSH_TEST_CLOCK_SKEW")
	if skew == "" {
		main()
		return
	}
	d, err := time.ParseDuration(skew)
	if err != nil {
		os.Stderr.WriteString("hush test: bad HUSH_TEST_CLOCK_SKEW\n")
		os.Exit(2)
	}
	env := realEnv()
	env.Now = func() time.Time { return time.Now().Add(d) }
	harden()
	os.Exit(Main(context.Background(), os.Args, env))
}

// tlsServe is a TLS server as the scripts' child of hush run: tlsserve
// ADDR N serves the full chain in $TLS_CERT_FILE with the key in
// $TLS_KEY_FILE (PEM files, as nginx's ssl_certificate and Go's
// tls.LoadX509KeyPair read them) to N connections on ADDR, then exits 0.
func tlsServe() {
	fail := func(err error) {
		os.Stderr.WriteString("tlsserve: " + err.Error() + "\n")
		os.Exit(1)
	}
	if len(os.Args) != 3 {
		fail(errors.New("usage: tlsserve ADDR N"))
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail(err)
	}
	cert, err := tls.LoadX509KeyPair(os.Getenv("TLS_CERT_FILE"), os.Getenv("TLS_KEY_FILE"))
	if err != nil {
		fail(err)
	}
	l, err := tls.Listen("tcp", os.Args[1], &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		fail(err)
	}
	for i := 0; i < n; i++ {
		c, err := l.Accept()
		if err != nil {
			fail(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err == nil {
			_, _ = c.Write([]byte("hello\n"))
		}
		c.Close()
	}
	os.Exit(0)
}

// TestACMEScripts runs testdata/script/acme/*.txtar, each against its own
// pebble (rotate/acme/pebbletest): $PEBBLE_DIRECTORY is the ACME directory,
// $PEBBLE_HTTP_PORT the port of 127.0.0.1 pebble's VA fetches HTTP-01
// responses from, $PEBBLE_SERVER_CA the root of pebble's HTTPS listener,
// $PEBBLE_ROOT the root of the certificates it issues. Issued certificates
// last $PEBBLE_VALIDITY (6h).
func TestACMEScripts(t *testing.T) {
	t.Parallel()
	if _, _, ok := pebbletest.Binaries(); !ok {
		if pebbletest.RequireAll() {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but pebble is not built: run make pebble")
		}
		t.Skip("no pebble (run make pebble)")
	}
	// Scripts run in parallel: occupied is shared.
	var mu gosync.Mutex
	occupied := map[string]net.Listener{}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/acme",
		RequireExplicitExec: true,
		Condition:           scriptCondition,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			dir := e.WorkDir + "/.pebble"
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			p, err := pebbletest.Run(dir, pebbletest.Options{Validity: 6 * time.Hour})
			if err != nil {
				return err
			}
			e.Defer(p.Stop)
			e.Values["pebble"] = p
			e.Setenv("PEBBLE_DIRECTORY", p.Directory)
			e.Setenv("PEBBLE_HTTP_PORT", strconv.Itoa(p.HTTPPort))
			e.Setenv("PEBBLE_SERVER_CA", p.ServerCAFile)
			e.Setenv("PEBBLE_ROOT", p.RootFile)
			e.Setenv("PEBBLE_VALIDITY", "6h")
			return nil
		},
		Cmds: withScriptCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// certstatus FILE prints the status at pebble ("Valid",
			// "Revoked reason N") of the leaf certificate in FILE.
			"certstatus": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: certstatus FILE")
				}
				p := ts.Value("pebble").(*pebbletest.Pebble)
				st, err := p.CertStatus(leafSerial(ts, ts.ReadFile(args[0])))
				ts.Check(err)
				if st.Status == "Revoked" {
					ts.Stdout().Write([]byte("Revoked reason " + strconv.Itoa(st.Reason) + "\n"))
					return
				}
				ts.Stdout().Write([]byte(st.Status + "\n"))
			},
			// occupy ADDR holds a TCP listener on ADDR (that accepts and
			// never answers) until release ADDR or the script's end.
			"occupy": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: occupy ADDR")
				}
				l, err := net.Listen("tcp", args[0])
				ts.Check(err)
				ts.Defer(func() { l.Close() })
				mu.Lock()
				defer mu.Unlock()
				occupied[ts.Getenv("WORK")+args[0]] = l
			},
			"release": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: release ADDR")
				}
				mu.Lock()
				l, ok := occupied[ts.Getenv("WORK")+args[0]]
				delete(occupied, ts.Getenv("WORK")+args[0])
				mu.Unlock()
				if !ok {
					ts.Fatalf("%s is not occupied", args[0])
				}
				ts.Check(l.Close())
			},
			// serial FILE prints the serial (hex) of the leaf in FILE.
			"serial": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: serial FILE")
				}
				ts.Stdout().Write([]byte(leafSerial(ts, ts.ReadFile(args[0])).Text(16) + "\n"))
			},
			// tlsdial ADDR NAME connects to ADDR as NAME, trusting
			// pebble's root only, retrying for 10 s while nothing
			// listens, and prints the serial (hex) of the leaf served and
			// the length of the chain.
			"tlsdial": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: tlsdial ADDR NAME")
				}
				p := ts.Value("pebble").(*pebbletest.Pebble)
				var c *tls.Conn
				var err error
				for i := 0; i < 200; i++ {
					c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", args[0], &tls.Config{ServerName: args[1], RootCAs: p.Roots()})
					if err == nil || !strings.Contains(err.Error(), "connection refused") {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if neg {
					if err == nil {
						c.Close()
						ts.Fatalf("tlsdial %s as %s succeeded", args[0], args[1])
					}
					ts.Stdout().Write([]byte("error: " + err.Error() + "\n"))
					return
				}
				ts.Check(err)
				defer c.Close()
				cs := c.ConnectionState()
				ts.Stdout().Write([]byte("serial " + cs.PeerCertificates[0].SerialNumber.Text(16) + " chain " + strconv.Itoa(len(cs.PeerCertificates)) + "\n"))
			},
		}),
	})
}

// withScriptCmds adds the commands every script has (scriptCmds) to cmds.
func withScriptCmds(cmds map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	for k, v := range scriptCmds {
		if _, ok := cmds[k]; !ok {
			cmds[k] = v
		}
	}
	return cmds
}

func leafSerial(ts *testscript.TestScript, s string) *big.Int {
	for {
		blk, rest := pem.Decode([]byte(s))
		if blk == nil {
			ts.Fatalf("no certificate")
		}
		s = string(rest)
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		ts.Check(err)
		return c.SerialNumber
	}
}
