package forward

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// parseNative reads a native-protocol datagram as journald does
// (journald-native.c): fields NAME=value\n, or NAME\n, a 64-bit
// little-endian length, the value and \n; a name journald would reject
// (not A-Z0-9_, empty, over 64, a leading digit or _) fails the test,
// since journald would drop the field silently.
func parseNative(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			t.Fatalf("field without a newline: %q", b)
		}
		var name, value string
		if eq := bytes.IndexByte(b[:nl], '='); eq >= 0 {
			name, value = string(b[:eq]), string(b[eq+1:nl])
			b = b[nl+1:]
		} else {
			name = string(b[:nl])
			b = b[nl+1:]
			if len(b) < 8 {
				t.Fatalf("%s: binary field without its length", name)
			}
			n := binary.LittleEndian.Uint64(b[:8])
			b = b[8:]
			if uint64(len(b)) < n+1 || b[n] != '\n' {
				t.Fatalf("%s: binary field of length %d not followed by a newline", name, n)
			}
			value, b = string(b[:n]), b[n+1:]
		}
		if !validJournalField(name) {
			t.Fatalf("field name %q: journald drops it", name)
		}
		out[name] = append(out[name], value)
	}
	return out
}

func TestFormatJournal(t *testing.T) {
	denied := entry("secret.read", "app/prod/API_KEY", false)
	denied.Error = "denied\nsecond line = with an equals sign"
	run := entry("secret.read", "app/prod", true)
	run.Keys = []string{"A", "B_2", "C"}
	run.Source, run.Lease = "https://vault.example:8200", "database/creds/app/abc"
	lines := sealed(t, t.TempDir(), denied, run)
	var got []map[string][]string
	for line := range bytes.Lines(lines) {
		m, err := FormatJournal(line, 10)
		if err != nil {
			t.Fatal(err)
		}
		f := parseNative(t, m)
		if want := string(bytes.TrimSuffix(line, []byte("\n"))); len(f["MESSAGE"]) != 1 || f["MESSAGE"][0] != want {
			t.Errorf("MESSAGE %q, want the line %q", f["MESSAGE"], want)
		}
		for name, v := range f {
			if len(v) != 1 {
				t.Errorf("%s given %d times", name, len(v))
			}
		}
		got = append(got, f)
	}
	want := map[string]string{"PRIORITY": "4", "SYSLOG_FACILITY": "10", "SYSLOG_IDENTIFIER": "hush",
		"HUSH_TIMESTAMP": "2026-12-01T13:00:00.123456789Z", "HUSH_ACTION": "secret.read", "HUSH_PATH": "app/prod/API_KEY",
		"HUSH_IDENTITY": "age1test", "HUSH_USER": "ann", "HUSH_PID": "4242", "HUSH_COMMAND": "get", "HUSH_SUCCESS": "false",
		"HUSH_ERROR": denied.Error, "HUSH_HOST": "ann-laptop", "HUSH_VERSION": "1.2.3",
		"HUSH_PREV": strings.Repeat("0", 64)}
	for k, v := range want {
		if g := got[0][k]; len(g) != 1 || g[0] != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	if len(got[0]["HUSH_HASH"]) != 1 || len(got[0]["HUSH_HASH"][0]) != 64 {
		t.Errorf("HUSH_HASH %q", got[0]["HUSH_HASH"])
	}
	for _, absent := range []string{"HUSH_KEYS", "HUSH_KEY_COUNT", "HUSH_SOURCE", "HUSH_LEASE", "HUSH_DETAIL"} {
		if _, ok := got[0][absent]; ok {
			t.Errorf("empty %s sent", absent)
		}
	}
	for k, v := range map[string]string{"PRIORITY": "6", "HUSH_SUCCESS": "true", "HUSH_KEYS": "A\nB_2\nC", "HUSH_KEY_COUNT": "3",
		"HUSH_SOURCE": run.Source, "HUSH_LEASE": run.Lease, "HUSH_PREV": got[0]["HUSH_HASH"][0]} {
		if g := got[1][k]; len(g) != 1 || g[0] != v {
			t.Errorf("run: %s = %q, want %q", k, g, v)
		}
	}
	// The framing: a value with a newline goes length-prefixed, others
	// as NAME=value.
	m, _ := FormatJournal(lines[:bytes.IndexByte(lines, '\n')+1], 10)
	if !bytes.Contains(m, []byte("HUSH_ERROR\n")) || bytes.Contains(m, []byte("HUSH_ERROR=")) || !bytes.Contains(m, []byte("\nHUSH_ACTION=secret.read\n")) {
		t.Errorf("framing: %q", m)
	}
	rb := sealed(t, t.TempDir(), audit.Entry{Time: time.Now(), Action: audit.AuditRollback, Path: "audit.jsonl"})
	if m, _ := FormatJournal(rb, 10); !bytes.Contains(m, []byte("\nPRIORITY=2\n")) {
		t.Errorf("a rollback is not critical: %q", m)
	}
}

func TestJournaldSinkConfig(t *testing.T) {
	f := newForwarder(t, store.AuditSink{Journald: "default"}, store.AuditSink{Journald: "/run/systemd/journal/socket"})
	if len(f.Sinks) != 1 || f.Sinks[0].String() != "journald unix:///run/systemd/journal/socket" {
		t.Fatalf("sinks %v: want one, the default socket", f.Sinks)
	}
	for _, c := range []struct {
		sink store.AuditSink
		want string
	}{
		{store.AuditSink{Journald: "run/journal"}, "absolute path"},
		{store.AuditSink{Journald: "default", TokenFile: "/t"}, "token_file is for an http"},
		{store.AuditSink{Journald: "default", Facility: "bogus"}, "facility"},
		{store.AuditSink{Journald: "default", Syslog: "udp://h:1"}, "not several"},
	} {
		_, err := New(store.AuditConfig{Forward: []store.AuditSink{c.sink}}, t.TempDir(), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: got %v, want an ErrInvalid with %q", c.sink, err, c.want)
		}
	}
}

// A journal socket nobody listens on keeps the lines; once it is there the
// next send delivers them, each once.
func TestJournaldAtLeastOnce(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "socket")
	f := newForwarder(t, store.AuditSink{Journald: sock})
	f.Spool(sealed(t, t.TempDir(), entry("secret.read", "a/b/C", true), entry("secret.read", "a/b/D", false)))
	res, err := f.Send(context.Background(), true)
	if err != nil || !errors.Is(res[0].Err, ErrUnreachable) || res[0].Pending != 2 {
		t.Fatalf("no socket: %+v %v", res, err)
	}
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	res, err = f.Send(context.Background(), true)
	if err != nil || res[0].Err != nil || res[0].Sent != 2 || res[0].Pending != 0 {
		t.Fatalf("socket up: %+v %v", res, err)
	}
	buf := make([]byte, 1<<16)
	var paths []string
	for range 2 {
		pc.SetDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, parseNative(t, buf[:n])["HUSH_PATH"]...)
	}
	if fmt.Sprint(paths) != "[a/b/C a/b/D]" {
		t.Errorf("paths %v", paths)
	}
	if res, _ := f.Send(context.Background(), true); res[0].Sent != 0 {
		t.Errorf("sent again: %+v", res)
	}
}

// journald runs the real systemd-journald in a mount namespace of its own,
// with temporary directories over /run and /var/log, so the machine's
// journal (if any) is neither read nor written: its socket is
// DIR/run/systemd/journal/socket, its journal under DIR/run/log/journal.
// It needs Debian's systemd and a mount namespace: root's, or, for
// another user, one inside a user namespace (unshare -r).
func journald(t *testing.T) (socket, journalDir string) {
	t.Helper()
	const bin = "/lib/systemd/systemd-journald"
	skip := func(why string) {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf("HUSH_TEST_REQUIRE_ALL=1 but %s", why)
		}
		t.Skip(why)
	}
	if _, err := os.Stat(bin); err != nil {
		skip("needs " + bin + " (Debian package systemd)")
	}
	unshare, err := execLookPath("unshare")
	if err != nil {
		skip("needs unshare (util-linux)")
	}
	if _, err := execLookPath("journalctl"); err != nil {
		skip("needs journalctl (Debian package systemd)")
	}
	dir := t.TempDir()
	run, varlog := filepath.Join(dir, "run"), filepath.Join(dir, "varlog")
	os.MkdirAll(run, 0o755)
	os.MkdirAll(varlog, 0o755)
	ns := []string{"-m", "--propagation", "private"}
	if os.Geteuid() != 0 {
		ns = append([]string{"-r"}, ns...)
	}
	cmd := execCommand(unshare, append(ns, "sh", "-c",
		`mount --bind "$1" /run && mount --bind "$2" /var/log && exec `+bin, "sh", run, varlog)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		skip("cannot start systemd-journald: " + err.Error())
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	socket = filepath.Join(run, "systemd", "journal", "socket")
	for i := 0; ; i++ {
		if c, err := net.Dial("unixgram", socket); err == nil {
			c.Close()
			break
		}
		if i == 200 {
			skip("systemd-journald did not open its socket (no mount namespace here?): " + out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return socket, filepath.Join(run, "log", "journal")
}

// journalEntries reads back what journald stored from hush, as journalctl
// --all -o json prints it (without --all, a field over 4 KiB reads null): a field holding a newline or other control character
// comes as an array of bytes.
func journalEntries(t *testing.T, dir string, want int) []map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := execCommand("journalctl", "--directory", dir, "--no-pager", "--all", "-o", "json", "SYSLOG_IDENTIFIER=hush").Output()
		var got []map[string]string
		for line := range bytes.Lines(out) {
			var raw map[string]json.RawMessage
			if json.Unmarshal(line, &raw) != nil {
				continue
			}
			m := map[string]string{}
			for k, v := range raw {
				var s string
				var bs []byte
				var ns []int
				if json.Unmarshal(v, &s) == nil {
					m[k] = s
				} else if json.Unmarshal(v, &ns) == nil {
					for _, n := range ns {
						bs = append(bs, byte(n))
					}
					m[k] = string(bs)
				}
			}
			got = append(got, m)
		}
		if len(got) >= want || time.Now().After(deadline) {
			if len(got) != want {
				t.Fatalf("journal holds %d entries from hush, want %d (%v)", len(got), want, err)
			}
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJournald sends to a real systemd-journald and reads back, with
// journalctl, every field it stored: a read, a denied read whose error
// holds a newline, and a run naming 10,000 keys (an entry larger than a
// datagram may be, so it goes as a sealed memfd).
func TestJournald(t *testing.T) {
	socket, dir := journald(t)
	read := entry("secret.read", "app/prod/DB_PASSWORD", true)
	read.Source, read.Lease = "https://vault.example:8200", "database/creds/app/abc"
	denied := entry("secret.read", "app/prod/API_KEY", false)
	denied.Error = "denied\nby policy"
	run := entry("secret.read", "app/prod", true)
	run.Command = "run"
	for i := range 10000 {
		run.Keys = append(run.Keys, fmt.Sprintf("KEY_NUMBER_%05d", i))
	}
	lines := sealed(t, t.TempDir(), read, denied, run)
	f := newForwarder(t, store.AuditSink{Journald: socket})
	if err := f.Spool(lines); err != nil {
		t.Fatal(err)
	}
	res, err := f.Send(context.Background(), true)
	if err != nil || res[0].Err != nil || res[0].Sent != 3 {
		t.Fatalf("send: %+v %v", res, err)
	}
	got := journalEntries(t, dir, 3)
	var want []map[string][]string
	for line := range bytes.Lines(lines) {
		m, _ := FormatJournal(line, 10)
		want = append(want, parseNative(t, m))
		if len(want) == 3 {
			// The run's entry must be one a socket refuses as a datagram
			// (so this exercised the memfd): larger than the default send buffer.
			if b, err := os.ReadFile("/proc/sys/net/core/wmem_default"); err == nil {
				var max int
				fmt.Sscan(string(b), &max)
				if len(m) <= max {
					t.Fatalf("the run's entry is %d bytes, not above wmem_default %d", len(m), max)
				}
			}
		}
	}
	for i, g := range got {
		for name, v := range want[i] {
			if g[name] != v[0] {
				t.Errorf("entry %d: journald stored %s = %.200q, want %.200q", i, name, g[name], v[0])
			}
		}
		if g["_TRANSPORT"] != "journal" {
			t.Errorf("entry %d: _TRANSPORT %q, want journal", i, g["_TRANSPORT"])
		}
	}
	if got[1]["HUSH_ERROR"] != "denied\nby policy" || got[1]["PRIORITY"] != "4" {
		t.Errorf("denied: %q %q", got[1]["HUSH_ERROR"], got[1]["PRIORITY"])
	}
	if k := strings.Split(got[2]["HUSH_KEYS"], "\n"); len(k) != 10000 || k[9999] != "KEY_NUMBER_09999" || got[2]["HUSH_KEY_COUNT"] != "10000" {
		t.Errorf("the run's keys: %d, count %q", len(k), got[2]["HUSH_KEY_COUNT"])
	}
	var e audit.Entry
	if err := json.Unmarshal([]byte(got[2]["MESSAGE"]), &e); err != nil || len(e.Keys) != 10000 || e.Hash != want[2]["HUSH_HASH"][0] {
		t.Errorf("MESSAGE of the run is not its line: %v", err)
	}
}
