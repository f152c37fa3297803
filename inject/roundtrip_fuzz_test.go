package inject

import (
	"bytes"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExportImportRoundTrip checks that dotenv, json, yaml and shell exports
// read back to the same value, and that each format refuses exactly the
// values it documents it cannot carry.
func FuzzExportImportRoundTrip(f *testing.F) {
	for _, v := range nastyValues {
		f.Add(v)
	}
	f.Add("two\nlines and both quotes '\"")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			_, err := roundTrip(t, FormatShell, v)
			if !errors.Is(err, ErrNUL) {
				t.Fatalf("NUL not refused: %v", err)
			}
			return
		}
		for _, tc := range []struct {
			format     Format
			refuseWhen bool
		}{
			{FormatDotenv, !utf8.ValidString(v) || !dotenvWritable(v)},
			{FormatJSON, !utf8.ValidString(v)},
			{FormatYAML, !utf8.ValidString(v)},
			{FormatShell, false},
		} {
			ok, err := roundTrip(t, tc.format, v)
			if ok == tc.refuseWhen {
				t.Fatalf("%s: ok=%v for %q (err %v)", tc.format, ok, v, err)
			}
			if err != nil && strings.Contains(err.Error(), v) && len(v) > 3 {
				t.Fatalf("%s: error leaks the value: %v", tc.format, err)
			}
		}
	})
}

// dotenvWritable is the documented rule of dotenvQuote, written again: a
// value goes in single quotes, or in double quotes, or is refused.
func dotenvWritable(v string) bool {
	if !utf8.ValidString(v) {
		return false
	}
	if i := strings.Index(v, "${"); i >= 0 && strings.Contains(v[i:], "}") {
		return false // python-dotenv expands it in any quoting
	}
	single := !strings.ContainsAny(v, "'\r") && !strings.HasSuffix(v, `\`) && !strings.Contains(v, `\\`)
	double := !strings.ContainsAny(v, "\"\\$`")
	return single || double
}

// FuzzParseDotenv checks ParseDotenv against a reference reader that shares
// no code with it, compose-go's dotenv parser: where ParseDotenv reads a
// file, every key it does not list as disputed reads the same in
// compose-go, with no expansion; compose-go refuses such a file only when
// ParseDotenv lists a dispute. ParseDotenv's errors carry a line and a fixed
// reason, and it never panics.
func FuzzParseDotenv(f *testing.F) {
	seeds := []string{
		"A=1\nB=\"x\\ny\"\nC='z'\n", "export A=1 # comment\n#c\nB=${A}x\n", "A: yaml style\n",
		"A=\"unterminated\n", "A=1\r\nB=2\r\n", "\ufeffA=bom\n", "A=$A$B\\$C\n", "A='it\\'s'\n",
		"1A=bad\n", "A B=1\n", "LAST", "A=\"\\\"\"\n", "A=é\xff\n", "A=1\nA=2\n",
		"T=abc123 # rotated # by ops\n", "W=\"C:\\\\Users\\\\\"\n", "P=p@$$W0RD\n", "D=${X:-y}\n",
		"Q='a\nb' # c\nR=\"x\" y\n", "E=\nF=''\n", "H=a#b\n", "X=\"\\t\\d\"\n", "Y=`b`\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkAgainstCompose(t, in) })
}

// TestParseDotenvAgainstCompose runs FuzzParseDotenv's check on 100,000
// random files made of the dialect's own pieces (seeded: the same each run),
// which reach more corners per second than the fuzzer's mutations.
func TestParseDotenvAgainstCompose(t *testing.T) {
	t.Parallel()
	pieces := []string{"A", "B", "=", ":", " ", "\t", "\n", "\r", "#", "'", "\"", "\\", "$", "{", "}", "-", "+", "?",
		"`", "export ", "x", "é", "\u00a0", "1", "\\n", "\\t", ":-", "${A", "\ufeff"}
	r := rand.New(rand.NewSource(15))
	var b bytes.Buffer
	for range 100000 {
		b.Reset()
		for n := r.Intn(30); n > 0; n-- {
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
		checkAgainstCompose(t, b.Bytes())
		if t.Failed() {
			t.Fatalf("input %q", b.Bytes())
		}
	}
}

var knownReasons = []string{"NUL byte", "invalid UTF-8", "expected NAME=value", "invalid name ", "unterminated ",
	"a backslash before a single quote", "unexpected text after the closing quote", "a required variable"}

func checkAgainstCompose(t *testing.T, in []byte) {
	t.Helper()
	imp, err := ParseDotenv(bytes.NewReader(in))
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > 1+bytes.Count(in, []byte("\n"))+bytes.Count(in, []byte("\r")) {
			t.Fatalf("error without a right line: %v", err)
		}
		for _, k := range knownReasons {
			if strings.HasPrefix(pe.Reason, k) {
				return
			}
		}
		t.Fatalf("unexpected reason %q", pe.Reason)
	}
	got := toMap(imp)
	disputed := map[string]bool{}
	for _, d := range imp.Disputed {
		disputed[d.Key] = true
	}
	ref, err := CheckDotenv(in, got)
	if err != nil {
		// compose-go refuses a whole file for one bad reference, also in a
		// definition a later one replaced (reported as a duplicate), whose
		// disputes no longer count.
		if len(imp.Disputed) == 0 && len(imp.Duplicates) == 0 {
			t.Fatalf("compose-go refuses what ParseDotenv reads undisputed: %q", got)
		}
		return
	}
	for _, d := range ref {
		if !disputed[d.Key] {
			t.Fatalf("%s: %s, undisputed by ParseDotenv (%q)", d.Key, d.Reason, got[d.Key])
		}
	}
}
