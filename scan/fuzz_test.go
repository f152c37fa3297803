package scan

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// offsetOf turns a finding's line and column (in code points) back into a
// byte offset of data.
func offsetOf(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(data); c++ {
		_, n := utf8.DecodeRune(data[off:])
		off += n
	}
	return off
}

// FuzzMatch runs the matcher over arbitrary bytes with an arbitrary known
// value: it must not panic, every verbatim known-value finding must point at
// the value exactly, and the value planted on a line of its own must be
// found there.
func FuzzMatch(f *testing.F) {
	f.Add([]byte("password = \"Xk9#mP2vQ8zL4n\"\nghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"), "hunter2hunter2!")
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"), "MIIEowIBAAKC")
	f.Add([]byte("postgres://u:p4ssw0rd!@h/db https://a:b@c \u4e16\u754c token: ${X}"), "p4ssw0rd!")
	f.Add([]byte("aHVudGVyMmh1bnRlcjIh 68756e74657232 hunter%212"), "hunter2hunter2!")
	f.Add([]byte{0, 1, 2, 'A', 'K', 'I', 'A'}, "\x00\xff\xfe\xfd\xfc\xfb\xfa\xf9")
	f.Add([]byte("kind: Secret\ndata:\n  a: a3E4SmQ3WG0ycFE5d0w0elI=\n  'b': \"\"\nstringData:\n  c: kq8Jd7Xm2pQ9wL4zR\n"), "kq8Jd7Xm2pQ9wL4zR")
	f.Add([]byte{0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0}, "\x00\xff\xfe\xfd\xfc\xfb\xfa\xf9")
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		cfg := Config{}
		useKnown := utf8.RuneCountInString(value) >= MinKnownLength && len(value) <= 4096
		if useKnown {
			cfg.Known = map[string]string{"env/KEY": value}
		}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		check := func(data []byte) []Finding {
			fs, err := s.ScanReader(context.Background(), "f", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Line < 1 || f.Column < 1 {
					t.Fatalf("bad position %d:%d", f.Line, f.Column)
				}
				if useKnown && strings.Contains(f.Redacted, value) && len(value) > 4 {
					t.Fatalf("finding holds the value")
				}
				if f.Key == "env/KEY" && f.Form == "verbatim" {
					off := offsetOf(data, f.Line, f.Column)
					if off < 0 || !bytes.HasPrefix(data[off:], []byte(value)) {
						t.Fatalf("verbatim finding at %d:%d does not point at the value", f.Line, f.Column)
					}
				}
			}
			return fs
		}
		check(data)
		if !useKnown || strings.ContainsAny(value, "\n\x00") || strings.Contains(value, "hush:allow") {
			return
		}
		planted := append(append(bytes.Clone(data), '\n'), value+"\n"...)
		if bytes.IndexByte(planted[:min(len(planted), binarySniff)], 0) >= 0 {
			return // binary: skipped by design
		}
		line := bytes.Count(data, []byte{'\n'}) + 2
		for _, f := range check(planted) {
			if f.Key == "env/KEY" && f.Line == line && f.Column == 1 {
				return
			}
		}
		t.Fatalf("planted value not found at %d:1", line)
	})
}
