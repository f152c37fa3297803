package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeN(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		e := Entry{Time: time.Date(2026, 11, 1, 10, 0, i, 0, time.UTC), Action: SecretRead, Path: fmt.Sprintf("p/dev/K%d", i), Command: "hush get", Success: true, PID: 1}
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
}

func lines(t testing.TB, path string) [][]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func join(ls [][]byte) []byte {
	var out []byte
	for _, l := range ls {
		out = append(out, bytes.TrimSuffix(l, []byte("\n"))...)
		out = append(out, '\n')
	}
	return out
}

func TestAppendAndVerify(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "state", "audit.jsonl")}
	writeN(t, l, 5)
	st, err := os.Stat(l.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("log mode: %v %v", st, err)
	}
	f, _ := l.Open()
	defer f.Close()
	n, err := Verify(f)
	if err != nil || n != 5 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	var got []string
	r, _ := l.Open()
	defer r.Close()
	Scan(r, func(_ int, e Entry) error { got = append(got, e.Path); return nil })
	if strings.Join(got, ",") != "p/dev/K0,p/dev/K1,p/dev/K2,p/dev/K3,p/dev/K4" {
		t.Fatalf("Scan = %v", got)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	writeN(t, l, 6)
	orig := lines(t, l.Path)
	swap := func(i, j int) [][]byte {
		c := append([][]byte{}, orig...)
		c[i], c[j] = c[j], c[i]
		return c
	}
	edit := append([][]byte{}, orig...)
	edit[2] = bytes.Replace(orig[2], []byte(`"success":true`), []byte(`"success":false`), 1)
	// An edit that also recomputes the line's own hash still breaks the
	// next line's link.
	rehash := append([][]byte{}, orig...)
	body, _, _ := splitLine(bytes.TrimSuffix(orig[2], []byte("\n")))
	body = bytes.Replace(body, []byte("K2"), []byte("K9"), 1)
	line, _, _ := sealRaw(body, orig[1])
	rehash[2] = line
	cases := []struct {
		name string
		log  []byte
		line int
	}{
		{"edited", join(edit), 3},
		{"deleted", join(append(append([][]byte{}, orig[:3]...), orig[4:]...)), 4},
		{"inserted", join(append(append(append([][]byte{}, orig[:2]...), orig[4]), orig[2:]...)), 3},
		{"reordered", join(swap(1, 2)), 2},
		{"rehashed edit", join(rehash), 4},
		{"first line deleted", join(orig[1:]), 1},
		{"partial last line", join(orig)[:len(join(orig))-10], 6},
		{"garbage line", append(join(orig), "not json\n"...), 7},
	}
	for _, c := range cases {
		n, err := Verify(bytes.NewReader(c.log))
		if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), fmt.Sprintf("at line %d:", c.line)) {
			t.Errorf("%s: Verify = %d, %v; want a break at line %d", c.name, n, err, c.line)
		}
	}
}

// sealRaw re-hashes a modified body as a forger would, chaining it after
// prevLine.
func sealRaw(body, prevLine []byte) ([]byte, string, error) {
	_, prevHash, err := splitLine(bytes.TrimSuffix(prevLine, []byte("\n")))
	if err != nil {
		return nil, "", err
	}
	h := chainHash(prevHash, body)
	return append(append(append([]byte{}, body...), `,"hash":"`+h+`"}`...), '\n'), h, nil
}

func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	var wg sync.WaitGroup
	const writers, each = 16, 20
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			writeN(t, &Log{Path: l.Path}, each)
		}()
	}
	wg.Wait()
	f, _ := l.Open()
	defer f.Close()
	n, err := Verify(f)
	if err != nil || n != writers*each {
		t.Fatalf("Verify = %d, %v; want %d lines", n, err, writers*each)
	}
}

func TestRefusesSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, nil, 0o600)
	l := &Log{Path: filepath.Join(dir, "audit.jsonl")}
	os.Symlink(target, l.Path)
	if err := l.Append(Entry{Action: SecretRead}); err == nil {
		t.Fatal("Append through a symlink succeeded")
	}
	if err := l.Writable(); err == nil {
		t.Fatal("Writable through a symlink succeeded")
	}
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatal("symlink target written")
	}
}

func TestAppendRefusesBrokenTail(t *testing.T) {
	t.Parallel()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	os.WriteFile(l.Path, []byte("garbage\n"), 0o600)
	if err := l.Append(Entry{Action: SecretRead}); !errors.Is(err, ErrChain) {
		t.Fatalf("Append after garbage: %v", err)
	}
}

// FuzzVerify: the verifier never panics, and a log it accepts is
// accepted again after appending a new line to it.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	l := &Log{Path: filepath.Join(dir, "seed.jsonl")}
	writeN(f, l, 3)
	seed, _ := os.ReadFile(l.Path)
	f.Add(seed)
	f.Add(seed[:len(seed)-5])
	f.Add([]byte("{}\n"))
	f.Add([]byte(""))
	i := 0
	f.Fuzz(func(t *testing.T, in []byte) {
		n, err := Verify(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrChain) {
				t.Fatalf("error not ErrChain: %v", err)
			}
			return
		}
		if n != bytes.Count(in, []byte("\n")) {
			t.Fatalf("verified %d lines of %d", n, bytes.Count(in, []byte("\n")))
		}
		i++
		p := filepath.Join(t.TempDir(), fmt.Sprintf("f%d.jsonl", i))
		os.WriteFile(p, in, 0o600)
		ll := &Log{Path: p}
		if err := ll.Append(Entry{Action: SecretWrite, Path: "x/y/Z"}); err != nil {
			t.Fatalf("Append to a verified log: %v", err)
		}
		r, _ := ll.Open()
		defer r.Close()
		if m, err := Verify(r); err != nil || m != n+1 {
			t.Fatalf("after append: %d, %v", m, err)
		}
	})
}

// TestSealMatchesEncodingJSON: the hand-written line is exactly what
// encoding/json writes for the same Entry, for awkward strings too.
func TestSealMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, e := range []Entry{
		{Time: time.Date(2026, 11, 1, 10, 0, 0, 123456789, time.UTC), Action: SecretRead, Path: "p/dev/K", Identity: "age1x", User: "root", PID: 42, Command: "hush get", Success: true},
		{Time: time.Date(2026, 11, 1, 10, 0, 0, 0, time.FixedZone("x", 3600)), Action: SecretWrite, Path: "p/dev", PID: 1, Command: "hush set", Error: "bad \"q\" \\ <&> \n\r\t\x01 \u2028 \u2029 é \xff end"},
		{Action: SecretRead, Path: "p/dev", Keys: []string{"A", "B_2"}, Host: "h<1>", Version: "v1.2.3", Source: "https://vault:8200", Lease: "database/creds/x/abc"},
		{Action: SyncPush, Path: "p/dev", Source: "https://vault:8200", RequestID: "0f1e2d3c", RemoteRequestID: "8b1a9953-c461-1296-a827-abf8c47804d7"},
		{},
	} {
		var buf bytes.Buffer
		hash := sealTo(&buf, e, genesis)
		e.Prev = genesis
		e.Hash = ""
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want[:len(want)-1], `,"hash":"`+hash+`"}`+"\n"...)
		if buf.String() != string(want) {
			t.Errorf("sealTo:\n%s\njson.Marshal:\n%s", buf.String(), want)
		}
	}
}
