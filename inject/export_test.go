package inject

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/joho/godotenv"
	"gopkg.in/yaml.v3"
)

// nastyValues are values every format that can carry them must round-trip.
var nastyValues = []string{
	"", "plain", " lead and trail ", "\ttab", "quote'single", `quote"double`, `both'"`,
	`ends with backslash\`, `ends with quote"`, `ends with single'`, `'wrapped single'`, `"wrapped double"`,
	"line1\nline2", "crlf\r\nline", "trailing newline\n", "\n", "\r", "cr\rmid",
	"$HOME", "${HOME}", `\$HOME`, "$(echo pwned)", "`echo pwned`", "a # not a comment", "#hash",
	`back\slash`, `\n literal`, `\\double`, "semi;colon && pipe | amp &", "*glob?[x]", "~tilde",
	"ünïcödé ✓ 日本", "\u2028sep\u2029", "\ufeffbom", "\u0085nel", "\u00a0nbsp\u00a0",
	"\x01\x02\x1b[31mcolour\x1b[0m\x7f", "-dash", "=equals=", "key: value", "[yaml, flow]", "{a: b}",
	"&anchor", "*alias", "!tag", "null", "true", "0x1F", "1e3", "%percent", "fake-secret-AKIA0000FAKE",
}

func TestExportFormats(t *testing.T) {
	t.Parallel()
	s := sec("B_KEY", "two\nlines", "A_KEY", "it's", "NO", "x")
	tests := []struct {
		format Format
		opts   ExportOptions
		want   string
	}{
		{FormatDotenv, ExportOptions{}, "A_KEY=\"it's\"\nB_KEY='two\nlines'\nNO='x'\n"},
		{FormatDotenv, ExportOptions{ForHush: true}, "A_KEY=\"it's\"\nB_KEY=\"two\\nlines\"\nNO=\"x\"\n"},
		{FormatShell, ExportOptions{}, "export A_KEY='it'\\''s'\nexport B_KEY='two\nlines'\nexport NO='x'\n"},
		{FormatJSON, ExportOptions{}, "{\n  \"A_KEY\": \"it's\",\n  \"B_KEY\": \"two\\nlines\",\n  \"NO\": \"x\"\n}\n"},
		{FormatYAML, ExportOptions{}, "A_KEY: \"it's\"\nB_KEY: \"two\\nlines\"\n\"NO\": \"x\"\n"},
		{FormatK8s, ExportOptions{Name: "app-secrets", Namespace: "prod"},
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"app-secrets\"\n  namespace: \"prod\"\ntype: Opaque\ndata:\n" +
				"  \"A_KEY\": \"aXQncw==\"\n  \"B_KEY\": \"dHdvCmxpbmVz\"\n  \"NO\": \"eA==\"\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := Export(&buf, tt.format, s, tt.opts); err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if buf.String() != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.format, buf.String(), tt.want)
		}
	}
}

func TestExportRefusals(t *testing.T) {
	t.Parallel()
	const fake = "fake-value-line"
	tests := []struct {
		name    string
		format  Format
		secrets []Secret
		opts    ExportOptions
		want    string // in the error
	}{
		{"nul", FormatJSON, sec("K", "a\x00b"), ExportOptions{}, "K: value contains a NUL byte"},
		{"bad name", FormatShell, sec("1BAD", "v"), ExportOptions{}, "invalid variable name"},
		{"docker multi-line", FormatDocker, sec("MULTI", fake+"\n"+fake), ExportOptions{}, "export docker: MULTI: multi-line"},
		{"docker utf8", FormatDocker, sec("U", fake+"\xff"), ExportOptions{}, "U: value is not valid UTF-8"},
		{"json utf8", FormatJSON, sec("U", fake+"\xff"), ExportOptions{}, "export json: U: value is not valid UTF-8"},
		{"yaml utf8", FormatYAML, sec("U", fake+"\xff"), ExportOptions{}, "export yaml: U: value is not valid UTF-8"},
		{"dotenv impossible", FormatDotenv, sec("D", fake+"\n'\""), ExportOptions{}, "export dotenv: D: no dotenv quoting reads back this value"},
		{"dotenv quote and dollar", FormatDotenv, sec("D", "a;echo INJECTED;\"'"+fake), ExportOptions{}, "export dotenv: D: no dotenv quoting"},
		{"dotenv utf8", FormatDotenv, sec("U", fake+"\xff"), ExportOptions{}, "export dotenv: U: value is not valid UTF-8"},
		{"k8s no name", FormatK8s, sec("K", fake), ExportOptions{}, "not a DNS subdomain"},
		{"k8s bad namespace", FormatK8s, sec("K", fake), ExportOptions{Name: "x", Namespace: "Bad_NS"}, "not a DNS label"},
		{"unknown format", Format("toml"), sec("K", fake), ExportOptions{}, `unknown format "toml"`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := Export(&buf, tt.format, append(sec("FIRST", fake), tt.secrets...), tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), fake) {
			t.Errorf("%s: error leaks the value: %v", tt.name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: partial output written: %q", tt.name, buf.String())
		}
	}
}

// roundTrip exports one secret in format and reads it back with every reader
// of that format. ok is false when Export refused (err says why).
func roundTrip(t *testing.T, format Format, value string) (ok bool, err error) {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, format, sec("A_B", "first", "KEY", value), ExportOptions{}); err != nil {
		return false, err
	}
	check := func(reader string, got map[string]string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s via %s: %v\n%q", format, reader, err, buf.String())
		}
		if got["KEY"] != value || got["A_B"] != "first" || len(got) != 2 {
			t.Fatalf("%s via %s: value %q came back as %q\n%q", format, reader, value, got["KEY"], buf.String())
		}
	}
	switch format {
	case FormatDotenv:
		m, err := godotenv.UnmarshalBytes(buf.Bytes())
		check("godotenv", m, err)
		m, err = composedotenv.UnmarshalWithLookup(buf.String(), nil)
		check("compose-go", m, err)
		imp, err := ParseDotenv(bytes.NewReader(buf.Bytes()))
		check("ParseDotenv", toMap(imp), err)
	case FormatJSON:
		imp, err := ParseJSON(bytes.NewReader(buf.Bytes()))
		check("ParseJSON", toMap(imp), err)
	case FormatYAML:
		var m map[string]string
		err := yaml.Unmarshal(buf.Bytes(), &m)
		check("yaml.v3", m, err)
		imp, err := ParseYAML(bytes.NewReader(buf.Bytes()))
		check("ParseYAML", toMap(imp), err)
	case FormatShell:
		m, err := parseShellExport(buf.String())
		check("shell quoting", m, err)
	}
	return true, nil
}

func toMap(imp *Imported) map[string]string {
	if imp == nil {
		return nil
	}
	m := map[string]string{}
	for _, s := range imp.Secrets {
		m[s.Name] = s.Value.Reveal()
	}
	return m
}

// parseShellExport reads back exactly the shell format Export writes (see
// shellQuote). The real shell test is TestShellEval.
func parseShellExport(s string) (map[string]string, error) {
	m := map[string]string{}
	for s != "" {
		rest, ok := strings.CutPrefix(s, "export ")
		name, rest, ok2 := strings.Cut(rest, "='")
		if !ok || !ok2 {
			return nil, errors.New("bad line start")
		}
		var v strings.Builder
		for {
			i := strings.IndexByte(rest, '\'')
			if i < 0 {
				return nil, errors.New("unterminated")
			}
			v.WriteString(rest[:i])
			if after, ok := strings.CutPrefix(rest[i:], `'\''`); ok {
				v.WriteByte('\'')
				rest = after
				continue
			}
			rest = rest[i+1:]
			break
		}
		after, ok := strings.CutPrefix(rest, "\n")
		if !ok {
			return nil, errors.New("no newline")
		}
		m[name], s = v.String(), after
	}
	return m, nil
}

func TestExportRoundTripNasty(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatDotenv, FormatJSON, FormatYAML, FormatShell} {
		for _, v := range nastyValues {
			ok, err := roundTrip(t, f, v)
			if f == FormatDotenv && !dotenvWritable(v) {
				if ok {
					t.Errorf("dotenv accepted %q, which some dotenv reader misreads", v)
				}
				continue
			}
			if !ok {
				t.Errorf("%s refused %q: %v", f, v, err)
			}
		}
	}
}

// TestShellEval runs the shell export through a real sh, both eval'd and
// sourced, and compares the bytes each variable holds.
func TestShellEval(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		requireOrSkip(t, "no sh")
	}
	values := append(nastyValues, "\xff\xfe invalid utf-8", strings.Repeat("x'", 500))
	var secrets []Secret
	for i, v := range values {
		secrets = append(secrets, Secret{Name: "V" + string(rune('A'+i/26)) + string(rune('A'+i%26)), Value: NewValue(v)})
	}
	var buf bytes.Buffer
	if err := Export(&buf, FormatShell, secrets, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "export.sh")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// Print every variable NUL-terminated: no value holds a NUL.
	script := `printf '%s\0'`
	for _, s := range secrets {
		script += ` "$` + s.Name + `"`
	}
	for _, load := range []string{`eval "$(cat "$1")"`, `. "$1"`} {
		// The test drives a shell on purpose: that is what the format is for.
		out, err := exec.Command(sh, "-c", load+"; "+script, "sh", file).Output()
		if err != nil {
			t.Fatalf("%s: %v", load, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if len(got) != len(secrets) {
			t.Fatalf("%s: %d values back, want %d", load, len(got), len(secrets))
		}
		for i, s := range secrets {
			if got[i] != s.Value.Reveal() {
				t.Errorf("%s: %s = %q, want %q", load, s.Name, got[i], s.Value.Reveal())
			}
		}
	}
}

func TestExportGitHubEnv(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Export(&buf, FormatGitHub, sec("M", "l1\nl2\n", "S", "one"), ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	// Read it back as the runner does: NAME<<DELIM, lines, DELIM.
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	got := map[string]string{}
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok || !strings.HasPrefix(delim, "ghadelimiter_") || len(delim) != len("ghadelimiter_")+32 {
			t.Fatalf("bad header %q", lines[i])
		}
		var v []string
		for i++; lines[i] != delim; i++ {
			v = append(v, lines[i])
		}
		got[name] = strings.Join(v, "\n")
	}
	if got["M"] != "l1\nl2\n" || got["S"] != "one" {
		t.Errorf("read back %q", got)
	}
}

func TestExportK8sDecodes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Export(&buf, FormatK8s, sec("Y", "binary\xff\xfe-v", "TOKEN", "fake-token"), ExportOptions{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   map[string]string `yaml:"metadata"`
		Type       string            `yaml:"type"`
		Data       map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	y, _ := base64.StdEncoding.DecodeString(doc.Data["Y"])
	if doc.APIVersion != "v1" || doc.Kind != "Secret" || doc.Metadata["name"] != "s" || doc.Type != "Opaque" ||
		string(y) != "binary\xff\xfe-v" {
		t.Errorf("decoded %+v, Y=%q", doc, y)
	}
}

func TestWriteGitHubMasks(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := WriteGitHubMasks(&buf, sec("A", "single-fake", "B", "-----FAKE KEY-----\r\n  body 100%\n\n-----END-----\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "::add-mask::single-fake\n::add-mask::-----FAKE KEY-----\n::add-mask::body 100%25\n::add-mask::-----END-----\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
}
