package forward

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// sealed appends entries to a real log in dir and returns the lines the
// log wrote, as the Appended hook hands them over.
func sealed(t *testing.T, dir string, entries ...audit.Entry) []byte {
	t.Helper()
	var got []byte
	l := &audit.Log{Path: filepath.Join(dir, "audit.jsonl"), Appended: func(b []byte) { got = append([]byte(nil), b...) }}
	if err := l.Append(entries...); err != nil {
		t.Fatal(err)
	}
	return got
}

func entry(action, path string, ok bool) audit.Entry {
	e := audit.Entry{Time: time.Date(2026, 12, 1, 13, 0, 0, 123456789, time.UTC), Action: action, Path: path, Identity: "age1test",
		User: "ann", PID: 4242, Command: "get", Success: ok, Host: "ann-laptop", Version: "1.2.3"}
	if !ok {
		e.Error = `denied "quoted" ] \ back`
	}
	return e
}

func newForwarder(t *testing.T, sinks ...store.AuditSink) *Forwarder {
	t.Helper()
	f, err := New(store.AuditConfig{Forward: sinks}, filepath.Join(t.TempDir(), "forward"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewRefusesBadSinks(t *testing.T) {
	for _, c := range []struct {
		sink store.AuditSink
		want string
	}{
		{store.AuditSink{Syslog: "udp://h:1", HTTP: "https://x"}, "not both"},
		{store.AuditSink{Syslog: "udp://h"}, "udp://HOST:PORT"},
		{store.AuditSink{Syslog: "file:///tmp/x"}, "use udp://"},
		{store.AuditSink{Syslog: "unix://relative"}, "unix:///ABSOLUTE"},
		{store.AuditSink{Syslog: "udp://h:1", Facility: "bogus"}, "facility"},
		{store.AuditSink{Syslog: "udp://h:1", TokenFile: "/t"}, "token_file is for an http"},
		{store.AuditSink{HTTP: "http://collector.example/ingest"}, "plain http only to a loopback"},
		{store.AuditSink{HTTP: "ftp://collector.example/"}, "https://"},
		{store.AuditSink{HTTP: "https://u:p@collector.example/"}, "no credentials in the URL"},
		{store.AuditSink{HTTP: "https://collector.example/", TokenFile: "tok"}, "absolute path"},
		{store.AuditSink{}, "name a syslog"},
	} {
		_, err := New(store.AuditConfig{Forward: []store.AuditSink{c.sink}}, t.TempDir(), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: got %v, want an ErrInvalid with %q", c.sink, err, c.want)
		}
	}
	if _, err := New(store.AuditConfig{Forward: []store.AuditSink{{Syslog: "udp://h:1"}}, ForwardTimeout: "forever"}, t.TempDir(), t.TempDir()); err == nil {
		t.Error("forward_timeout forever accepted")
	}
	f, err := New(store.AuditConfig{}, t.TempDir(), t.TempDir())
	if f != nil || err != nil {
		t.Errorf("no sinks: got %v, %v; want nil, nil", f, err)
	}
	f = newForwarder(t, store.AuditSink{HTTP: "http://127.0.0.1:9/x?token=SECRET"})
	if s := f.Sinks[0].String(); strings.Contains(s, "SECRET") {
		t.Errorf("sink name %q shows the query", s)
	}
}

func TestFormatSyslog(t *testing.T) {
	lines := sealed(t, t.TempDir(), entry("secret.read", "app/prod/DB", false))
	msgs, err := FormatSyslog(lines, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("got %d messages, %v", len(msgs), err)
	}
	m := string(msgs[0])
	// authpriv (10) * 8 + warning (4) for a failed access.
	wantHead := "<84>1 2026-12-01T13:00:00.123456Z ann-laptop hush 4242 secret.read [hush@32473 action=\"secret.read\" path=\"app/prod/DB\" success=\"false\""
	if !strings.HasPrefix(m, wantHead) {
		t.Fatalf("message\n%s\nwant prefix\n%s", m, wantHead)
	}
	if !strings.Contains(m, `error="denied \"quoted\" \] \\ back"`) {
		t.Errorf("PARAM-VALUE not escaped: %s", m)
	}
	var e audit.Entry
	json.Unmarshal(bytes.TrimSuffix(lines, []byte("\n")), &e)
	if !strings.Contains(m, ` hash="`+e.Hash+`"]`) {
		t.Errorf("no hash %s in %s", e.Hash, m)
	}
	if !strings.HasSuffix(m, "] "+strings.TrimSuffix(string(lines), "\n")) {
		t.Errorf("MSG is not the audit line: %s", m)
	}

	// A run naming 3,000 keys does not fit one message: parts, each under
	// the bound, the keys all there once.
	run := entry("secret.read", "app/prod", true)
	for i := range 3000 {
		run.Keys = append(run.Keys, fmt.Sprintf("SOME_RATHER_LONG_KEY_NAME_%04d", i))
	}
	msgs, err = FormatSyslog(sealed(t, t.TempDir(), run), 10)
	if err != nil || len(msgs) < 2 {
		t.Fatalf("got %d messages, %v", len(msgs), err)
	}
	seen := map[string]int{}
	for i, m := range msgs {
		if len(m) > MaxMessage {
			t.Errorf("part %d is %d bytes", i+1, len(m))
		}
		if !strings.Contains(string(m), fmt.Sprintf(`part="%d/%d"`, i+1, len(msgs))) {
			t.Errorf("part %d does not say so", i+1)
		}
		var p struct {
			Keys        []string
			Part, Parts int
		}
		if err := json.Unmarshal(m[bytes.Index(m, []byte("] {"))+2:], &p); err != nil || p.Part != i+1 || p.Parts != len(msgs) {
			t.Fatalf("part %d: %v %+v", i+1, err, p)
		}
		for _, k := range p.Keys {
			seen[k]++
		}
	}
	if len(seen) != 3000 {
		t.Errorf("parts carry %d distinct keys, want 3000", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s in %d parts", k, n)
		}
	}
}

// collector is an HTTP sink that checks what it receives.
type collector struct {
	t     *testing.T
	token string
	mu    gosync.Mutex
	lines []audit.Entry
	posts int
	down  bool
	delay time.Duration
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	down, delay := c.down, c.delay
	c.mu.Unlock()
	// Read first: the server notices a client that gave up only once the
	// body is read.
	body, _ := io.ReadAll(r.Body)
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+c.token || r.Header.Get("Content-Type") != ContentType {
		c.t.Errorf("collector got %s, Authorization %q, Content-Type %q", r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		c.t.Errorf("body does not end in a newline")
	}
	var got []audit.Entry
	for line := range bytes.Lines(body) {
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil || e.Hash == "" {
			c.t.Errorf("line %q: %v", line, err)
		}
		got = append(got, e)
	}
	c.mu.Lock()
	c.lines = append(c.lines, got...)
	c.posts++
	c.mu.Unlock()
}

func (c *collector) got() []audit.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]audit.Entry(nil), c.lines...)
}

func tokenFile(t *testing.T, tok string) string {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHTTPAtLeastOnce(t *testing.T) {
	c := &collector{t: t, token: "s3cret-token"}
	srv := httptest.NewServer(c)
	defer srv.Close()
	f := newForwarder(t, store.AuditSink{HTTP: srv.URL + "/ingest", TokenFile: tokenFile(t, c.token)})
	logDir := t.TempDir()
	if err := f.Spool(sealed(t, logDir, entry("secret.read", "app/prod/A", true), entry("secret.read", "app/prod/B", true))); err != nil {
		t.Fatal(err)
	}
	res, err := f.Send(context.Background(), true)
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Sent != 2 || res[0].Pending != 0 {
		t.Fatalf("send: %+v %v", res, err)
	}
	if got := c.got(); len(got) != 2 || got[0].Path != "app/prod/A" || got[1].Path != "app/prod/B" {
		t.Fatalf("collector got %+v", got)
	}
	// Everything taken: the spool is emptied, nothing is sent twice.
	if fi, err := os.Stat(f.spoolPath()); err != nil || fi.Size() != 0 {
		t.Errorf("spool after a full send: %v %v", fi, err)
	}
	if res, _ := f.Send(context.Background(), true); res[0].Sent != 0 || len(c.got()) != 2 {
		t.Errorf("second send sent %d, collector has %d", res[0].Sent, len(c.got()))
	}

	// The collector goes down: the lines stay, and go when it is back.
	c.mu.Lock()
	c.down = true
	c.mu.Unlock()
	if err := f.Spool(sealed(t, logDir, entry("secret.write", "app/prod/C", true))); err != nil {
		t.Fatal(err)
	}
	res, _ = f.Send(context.Background(), true)
	if res[0].Err == nil || !errors.Is(res[0].Err, ErrUnreachable) || res[0].Pending != 1 || !strings.Contains(res[0].Err.Error(), "503") {
		t.Fatalf("send to a down collector: %+v", res)
	}
	st, _ := f.Status()
	if st[0].Pending != 1 || !strings.Contains(st[0].State.LastError, "503") {
		t.Errorf("status: %+v", st)
	}
	if strings.Contains(st[0].State.LastError, c.token) {
		t.Errorf("state shows the token")
	}
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
	res, _ = f.Send(context.Background(), true)
	if res[0].Err != nil || res[0].Sent != 1 {
		t.Fatalf("resend: %+v", res)
	}
	if got := c.got(); len(got) != 3 || got[2].Path != "app/prod/C" {
		t.Errorf("collector got %d lines", len(got))
	}
	st, _ = f.Status()
	if st[0].Pending != 0 || st[0].State.LastError != "" || st[0].State.LastSent.IsZero() {
		t.Errorf("status after recovery: %+v", st)
	}
}

func TestTokenFileMustBePrivate(t *testing.T) {
	c := &collector{t: t, token: "tok"}
	srv := httptest.NewServer(c)
	defer srv.Close()
	tf := tokenFile(t, "tok")
	os.Chmod(tf, 0o644)
	f := newForwarder(t, store.AuditSink{HTTP: srv.URL, TokenFile: tf})
	f.Spool(sealed(t, t.TempDir(), entry("secret.read", "a/b/C", true)))
	res, _ := f.Send(context.Background(), true)
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "readable by others") || len(c.got()) != 0 {
		t.Errorf("world-readable token: %+v, collector got %d", res, len(c.got()))
	}
}

// A sink that never answers costs the timeout, no more, and keeps the
// lines; a healthy sink next to it gets its lines all the same.
func TestSlowSinkBoundedByTimeout(t *testing.T) {
	slow := &collector{t: t, token: "t", delay: 3 * time.Second}
	ssrv := httptest.NewServer(slow)
	defer ssrv.Close()
	fast := &collector{t: t, token: "t"}
	fsrv := httptest.NewServer(fast)
	defer fsrv.Close()
	tf := tokenFile(t, "t")
	f := newForwarder(t, store.AuditSink{HTTP: ssrv.URL, TokenFile: tf}, store.AuditSink{HTTP: fsrv.URL, TokenFile: tf})
	f.Spool(sealed(t, t.TempDir(), entry("secret.read", "a/b/C", true)))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := f.Send(ctx, false)
	// Returned before the sink would have answered: the budget, not the
	// sink, ended the wait. (Not "within 600ms": a loaded CI machine is
	// no reason for this test to fail.)
	if d := time.Since(start); d >= slow.delay {
		t.Errorf("send took %v with a 300ms budget: it waited for the slow sink", d)
	}
	if err != nil || res[0].Err == nil || res[0].Pending != 1 || res[1].Err != nil || res[1].Sent != 1 {
		t.Fatalf("results %+v %v", res, err)
	}
	if len(fast.got()) != 1 {
		t.Errorf("fast sink got %d lines", len(fast.got()))
	}
	// The spool is kept for the slow sink; the fast one is not sent the
	// line again.
	slow.mu.Lock()
	slow.delay = 0
	slow.mu.Unlock()
	res, _ = f.Send(context.Background(), true)
	if res[0].Sent != 1 || res[1].Sent != 0 || len(fast.got()) != 1 {
		t.Errorf("after recovery: %+v, fast has %d", res, len(fast.got()))
	}
}

// A spool that ends in a torn line (a kill mid-append) sends the whole
// lines before it and keeps the rest.
func TestTornSpoolTail(t *testing.T) {
	c := &collector{t: t, token: "t"}
	srv := httptest.NewServer(c)
	defer srv.Close()
	f := newForwarder(t, store.AuditSink{HTTP: srv.URL, TokenFile: tokenFile(t, "t")})
	lines := sealed(t, t.TempDir(), entry("secret.read", "a/b/C", true), entry("secret.read", "a/b/D", true))
	os.MkdirAll(f.Dir, 0o700)
	os.WriteFile(f.spoolPath(), lines[:len(lines)-20], 0o600)
	res, _ := f.Send(context.Background(), true)
	if res[0].Sent != 1 || len(c.got()) != 1 {
		t.Fatalf("torn spool: %+v", res)
	}
	if fi, _ := os.Stat(f.spoolPath()); fi.Size() == 0 {
		t.Errorf("spool emptied with a partial line in it")
	}
}

func rsyslogd(t *testing.T) string {
	for _, p := range []string{"rsyslogd", "/usr/sbin/rsyslogd"} {
		if _, err := os.Stat(p); err == nil || !strings.Contains(p, "/") {
			if path, err := execLookPath(p); err == nil {
				return path
			}
		}
	}
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but rsyslogd is not installed (.ci/deps installs rsyslog)")
	}
	t.Skip("needs rsyslogd (Debian package rsyslog)")
	return ""
}

func freePorts(t *testing.T) (udp, tcp int) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp = pc.LocalAddr().(*net.UDPAddr).Port, l.Addr().(*net.TCPAddr).Port
	pc.Close()
	l.Close()
	return udp, tcp
}

// TestRsyslog sends over UDP and TCP to a real rsyslogd with a private
// configuration and reads back what it parsed out of each message.
func TestRsyslog(t *testing.T) {
	bin := rsyslogd(t)
	dir := t.TempDir()
	udpPort, tcpPort := freePorts(t)
	out := filepath.Join(dir, "out.log")
	// One line per message: what rsyslogd's RFC 5424 parser made of it.
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="%d")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="fields" type="string" string="%%protocol-version%%|%%syslogfacility-text%%|%%syslogseverity-text%%|%%timereported:::date-rfc3339%%|%%hostname%%|%%app-name%%|%%procid%%|%%msgid%%|%%structured-data%%|%%msg%%\n")
if $app-name == "hush" then {
	action(type="omfile" file=%q template="fields")
}
`, dir, udpPort, tcpPort, out)
	cf := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(cf, []byte(conf), 0o600)
	cmd := execCommand(bin, "-n", "-f", cf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd did not listen: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	logDir := t.TempDir()
	read := entry("secret.read", "app/prod/DB_PASSWORD", true)
	read.Source, read.Lease = "https://vault.example:8200", "database/creds/app/abc"
	denied := entry("secret.read", "app/prod/API_KEY", false)
	run := entry("secret.read", "app/prod", true)
	run.Command = "run"
	for i := range 1000 {
		run.Keys = append(run.Keys, fmt.Sprintf("KEY_NUMBER_%04d", i))
	}
	lines := sealed(t, logDir, read, denied, run)
	var want []audit.Entry
	for l := range bytes.Lines(lines) {
		var e audit.Entry
		json.Unmarshal(l, &e)
		want = append(want, e)
	}

	for _, proto := range []struct {
		name string
		port int
	}{{"udp", udpPort}, {"tcp", tcpPort}} {
		t.Run(proto.name, func(t *testing.T) {
			// rsyslogd keeps out open: read past what came before.
			before := len(readLines(out))
			f := newForwarder(t, store.AuditSink{Syslog: fmt.Sprintf("%s://127.0.0.1:%d", proto.name, proto.port)})
			if err := f.Spool(lines); err != nil {
				t.Fatal(err)
			}
			res, err := f.Send(context.Background(), true)
			if err != nil || res[0].Err != nil || res[0].Sent != 3 {
				t.Fatalf("send: %+v %v", res, err)
			}
			// The 1,000-key run is split in parts; 2 + parts messages.
			parts, _ := FormatSyslog(lines[bytes.LastIndex(lines[:len(lines)-1], []byte("\n"))+1:], 10)
			got := waitLines(t, out, before+2+len(parts))[before:]
			check := func(line string, e audit.Entry, sev string) {
				t.Helper()
				f := strings.SplitN(line, "|", 10)
				if len(f) != 10 {
					t.Fatalf("rsyslog line %q", line)
				}
				if f[0] != "1" || f[1] != "authpriv" || f[2] != sev || f[4] != "ann-laptop" || f[5] != "hush" || f[6] != "4242" || f[7] != "secret.read" {
					t.Errorf("header fields %q", f[:8])
				}
				if !strings.HasPrefix(f[3], "2026-12-01T13:00:00.123456") {
					t.Errorf("timestamp %q", f[3])
				}
				for _, p := range []string{`[hush@32473 `, `action="secret.read"`, `path="` + e.Path + `"`, `identity="age1test"`, `user="ann"`,
					`success="` + fmt.Sprint(e.Success) + `"`, `version="1.2.3"`, `hash="` + e.Hash + `"`} {
					if !strings.Contains(f[8], p) {
						t.Errorf("structured data %q lacks %s", f[8], p)
					}
				}
				if e.Source != "" && (!strings.Contains(f[8], `source="`+e.Source+`"`) || !strings.Contains(f[8], `lease="`+e.Lease+`"`)) {
					t.Errorf("structured data %q lacks source and lease", f[8])
				}
				var m audit.Entry
				if err := json.Unmarshal([]byte(strings.TrimSpace(f[9])), &m); err != nil || m.Hash != e.Hash || m.Path != e.Path {
					t.Errorf("MSG %.300q…: %v", f[9], err)
				}
			}
			check(got[0], want[0], "info")
			check(got[1], want[1], "warning")
			if !strings.Contains(got[1], `error="denied \"quoted\" \] \\ back"`) {
				t.Errorf("error param: %s", got[1])
			}
			keys := 0
			for i, g := range got[2:] {
				check(g, want[2], "info")
				if !strings.Contains(g, fmt.Sprintf(`part="%d/%d"`, i+1, len(parts))) {
					t.Errorf("part %d: %s", i+1, g[:200])
				}
				var p struct{ Keys []string }
				json.Unmarshal([]byte(strings.SplitN(g, "|", 10)[9]), &p)
				keys += len(p.Keys)
			}
			if keys != 1000 {
				t.Errorf("rsyslog got %d keys of the run, want 1000", keys)
			}
		})
	}
}

// waitLines waits for n lines in path.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := readLines(path)
		if len(lines) >= n {
			if len(lines) > n {
				t.Errorf("got %d lines, want %d", len(lines), n)
			}
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd wrote %d lines, want %d", len(lines), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readLines(path string) []string {
	var lines []string
	if fh, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		fh.Close()
	}
	return lines
}

// TestUnixSocket sends to a unix datagram socket, as to /dev/log.
func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f := newForwarder(t, store.AuditSink{Syslog: "unix://" + sock, Facility: "local3"})
	f.Spool(sealed(t, t.TempDir(), entry("secret.read", "a/b/C", true)))
	res, err := f.Send(context.Background(), true)
	if err != nil || res[0].Err != nil || res[0].Sent != 1 {
		t.Fatalf("send: %+v %v", res, err)
	}
	buf := make([]byte, 65536)
	pc.SetDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("<158>1 ")) || !bytes.Contains(buf[:n], []byte(`path="a/b/C"`)) {
		t.Errorf("datagram %q: %v", buf[:n], err)
	}
}

// An unreachable TCP sink fails fast with ErrUnreachable and keeps the
// lines.
func TestUnreachableSyslog(t *testing.T) {
	_, port := freePorts(t)
	f := newForwarder(t, store.AuditSink{Syslog: fmt.Sprintf("tcp://127.0.0.1:%d", port)})
	f.Spool(sealed(t, t.TempDir(), entry("secret.read", "a/b/C", true)))
	res, err := f.Send(context.Background(), true)
	if err != nil || !errors.Is(res[0].Err, ErrUnreachable) || res[0].Pending != 1 {
		t.Fatalf("send: %+v %v", res, err)
	}
}

// Commands running at once each spool and send; every line reaches the
// collector exactly once (no failure, so no resend).
func TestConcurrentSendersOnce(t *testing.T) {
	c := &collector{t: t, token: "t"}
	srv := httptest.NewServer(c)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "forward")
	tf := tokenFile(t, "t")
	logDir := t.TempDir()
	var lines [][]byte
	for i := range 40 {
		lines = append(lines, sealed(t, logDir, entry("secret.read", fmt.Sprintf("a/b/K%02d", i), true)))
	}
	var wg gosync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := New(store.AuditConfig{Forward: []store.AuditSink{{HTTP: srv.URL, TokenFile: tf}}}, dir, "")
			if err != nil {
				t.Error(err)
				return
			}
			for i := g; i < len(lines); i += 4 {
				if err := f.Spool(lines[i]); err != nil {
					t.Error(err)
				}
				if _, err := f.Send(context.Background(), false); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	f, _ := New(store.AuditConfig{Forward: []store.AuditSink{{HTTP: srv.URL, TokenFile: tf}}}, dir, "")
	if _, err := f.Send(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range c.got() {
		seen[e.Path]++
	}
	for i := range 40 {
		if n := seen[fmt.Sprintf("a/b/K%02d", i)]; n != 1 {
			t.Errorf("K%02d reached the collector %d times", i, n)
		}
	}
}

// A sink that failed rests for Retry: ordinary sends skip it (cheaply),
// a flush tries it; with Retry 0 every send tries it.
func TestFailedSinkRests(t *testing.T) {
	c := &collector{t: t, token: "t", down: true}
	srv := httptest.NewServer(c)
	defer srv.Close()
	f := newForwarder(t, store.AuditSink{HTTP: srv.URL, TokenFile: tokenFile(t, "t")})
	logDir := t.TempDir()
	f.Spool(sealed(t, logDir, entry("secret.read", "a/b/C", true)))
	if res, _ := f.Send(context.Background(), false); res[0].Err == nil {
		t.Fatal("a down sink took the line")
	}
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
	f.Spool(sealed(t, logDir, entry("secret.read", "a/b/D", true)))
	res, err := f.Send(context.Background(), false)
	if err != nil || !errors.Is(res[0].Err, ErrUnreachable) || !strings.Contains(res[0].Err.Error(), "resting") || len(c.got()) != 0 {
		t.Fatalf("resting sink: %+v %v, collector has %d", res, err, len(c.got()))
	}
	f.Retry = 0
	if res, _ := f.Send(context.Background(), false); res[0].Err != nil || res[0].Sent != 2 {
		t.Fatalf("Retry 0: %+v", res)
	}
}
