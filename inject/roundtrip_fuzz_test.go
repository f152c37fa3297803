package inject

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/joho/godotenv"
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
		doubleOK := !strings.HasSuffix(v, `\`) && !strings.HasSuffix(v, `"`)
		singleOK := !strings.ContainsAny(v, "'\r") && !strings.HasSuffix(v, `\`)
		for _, tc := range []struct {
			format     Format
			refuseWhen bool
		}{
			{FormatDotenv, !utf8.ValidString(v) || !doubleOK && !singleOK && !bareOK(v)},
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

// FuzzParseDotenv checks ParseDotenv against godotenv itself: where both
// succeed they agree, ParseDotenv fails only for what it documents (NUL,
// invalid names, unquoted invalid UTF-8), and no error echoes the input.
func FuzzParseDotenv(f *testing.F) {
	seeds := []string{
		"A=1\nB=\"x\\ny\"\nC='z'\n", "export A=1 # comment\n#c\nB=${A}x\n", "A: yaml style\n",
		"A=\"unterminated\n", "A=1\r\nB=2\r\n", "\ufeffA=bom\n", "A=$A$B\\$C\n", "A='it\\'s'\n",
		"1A=bad\n", "A B=1\n", "LAST", "A=\"\\\"\"\n", "A=é\xff\n", "A=1\nA=2\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		imp, err := ParseDotenv(bytes.NewReader(in))
		stripped := bytes.TrimPrefix(in, utf8BOM)
		want, gerr := godotenv.UnmarshalBytes(stripped)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			// Reasons are fixed texts (an invalid name is shown on purpose).
			known := map[string]bool{"NUL byte": true, "expected NAME=value": true,
				"unterminated quoted value": true, "unquoted value is not valid UTF-8 (quote it)": true}
			if !known[pe.Reason] && !strings.HasPrefix(pe.Reason, "invalid name ") {
				t.Fatalf("unexpected reason %q", pe.Reason)
			}
			if gerr == nil && !strings.Contains(pe.Reason, "invalid name") && !strings.Contains(pe.Reason, "NUL") &&
				!strings.Contains(pe.Reason, "UTF-8") && !strings.Contains(pe.Reason, "expected NAME=value") {
				t.Fatalf("ParseDotenv refused what godotenv reads: %v", err)
			}
			return
		}
		if gerr != nil {
			t.Fatalf("ParseDotenv read what godotenv refuses (%v)", gerr)
		}
		if got := toMap(imp); !maps.Equal(got, want) {
			t.Fatalf("got %q, godotenv %q", got, want)
		}
	})
}
