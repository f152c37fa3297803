package safe

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"alice <alice@example.com>", "alice <alice@example.com>"},
		{"Zoë 東京 ❤️ café", "Zoë 東京 ❤️ café"}, // letters, symbols, a variation selector
		{`C:\Users\me`, `C:\Users\me`},
		{"\x1b]52;c;aGk=\x07", `\x1b]52;c;aGk=\a`},      // OSC 52 clipboard write
		{"\x1b]52;c;aGk=\x1b\\", `\x1b]52;c;aGk=\x1b\`}, // the same, ST-terminated
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"bob\rmallory", `bob\rmallory`},
		{"a\nb\tc\x00d\x7f", `a\nb\tc\x00d\x7f`},
		{"\b\f\v", `\b\f\v`},
		{"\u009b31m", `\u009b31m`}, // C1 CSI
		{"\u0085", `\u0085`},       // C1 NEL
		{"abc\u202edcba", `abc\u202edcba`},
		{"\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
		{"a\u200bb\u200cc\u200dd\u2060e\ufeff", `a\u200bb\u200cc\u200dd\u2060e\ufeff`},
		{"\u00ad\u2028\u2029\u00a0", `\u00ad\u2028\u2029\u00a0`},
		{"\u3164\u115f\u034f", `\u3164\u115f\u034f`},
		{"tag\U000e0041\U000e007f", `tag\U000e0041\U000e007f`},
		{"\ue000", `\ue000`}, // private use
		{"bad\xff\xfeutf8\xc3", `bad\xff\xfeutf8\xc3`},
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a UTF-16 surrogate, not UTF-8
		{"\ufffd", "\ufffd"},             // a real replacement character is printable
	} {
		if got := Term(tc.in); got != tc.want {
			t.Errorf("Term(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Clean(tc.in); got != (tc.in == tc.want) {
			t.Errorf("Clean(%q) = %v", tc.in, got)
		}
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	in := "line one\n\tline\x1b[1A two\r\n"
	if got, want := Lines(in), "line one\n\tline\\x1b[1A two\\r\n"; got != want {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}

func TestTermDoesNotAllocateWhenClean(t *testing.T) {
	s := strings.Repeat("alice@example.com 東京 ", 8)
	if n := testing.AllocsPerRun(100, func() { _ = Term(s) }); n != 0 {
		t.Errorf("Term allocates %v times on clean input", n)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	v := map[string]string{"label": "a\x1b]52;c;x\x07\u009b\u202e\u200b\x7f\U000e0041 東京", "note": "fine"}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out := JSON(b)
	checkJSON(t, b, out)
	if !strings.Contains(string(out), `\u009b`) || !strings.Contains(string(out), `\u202e`) || !strings.Contains(string(out), `\udb40\udc41`) {
		t.Errorf("JSON = %s", out)
	}
	clean := []byte(`{"a": "東京"}`)
	if got := JSON(clean); &got[0] != &clean[0] {
		t.Errorf("JSON copied clean input")
	}
}

// checkOut fails unless out carries nothing a terminal acts on.
func checkOut(t *testing.T, in, out string, keepLines bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("escape(%q) = %q: not UTF-8", in, out)
	}
	for _, r := range out {
		if r < 0x20 && !(keepLines && (r == '\n' || r == '\t')) || r == 0x7f || Hidden(r) {
			t.Fatalf("escape(%q) = %q: contains %U", in, out, r)
		}
	}
}

func checkJSON(t *testing.T, in, out []byte) {
	t.Helper()
	for _, r := range string(out) {
		if r == 0x7f || Hidden(r) {
			t.Fatalf("JSON(%q) = %q: contains %U", in, out, r)
		}
	}
	if !json.Valid(in) {
		return
	}
	var a, b any
	if err := json.Unmarshal(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("JSON(%q) = %q: %v", in, out, err)
	}
	if utf8.Valid(in) && !reflect.DeepEqual(a, b) {
		t.Fatalf("JSON(%q) decodes to %#v, not %#v", in, b, a)
	}
}

func FuzzTerm(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]52;c;aGk=\x07", "a\rb", "\u202e", "\xff", "東京\u200d", "\U000e0041", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Term(s)
		checkOut(t, s, out, false)
		if Term(out) != out {
			t.Fatalf("Term is not idempotent on %q", s)
		}
		if Clean(s) != (out == s) {
			t.Fatalf("Clean(%q) disagrees with Term", s)
		}
		lines := Lines(s)
		checkOut(t, s, lines, true)
		if strings.Count(lines, "\n") != strings.Count(s, "\n") {
			t.Fatalf("Lines(%q) changed the lines", s)
		}
		if b, err := json.Marshal(s); err == nil {
			checkJSON(t, b, JSON(b))
		}
		checkJSON(t, []byte(s), JSON([]byte(s)))
	})
}

func BenchmarkTermClean(b *testing.B) {
	s := "alice <alice@example.com> database rotated 2026-11-01"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = Term(s)
	}
}

func BenchmarkTermHostile(b *testing.B) {
	s := "alice\x1b]52;c;aGVsbG8=\x07\u202e<mallory>\r"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = Term(s)
	}
}
