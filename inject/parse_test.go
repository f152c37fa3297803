package inject

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want map[string]string
		dups []string
	}{
		{"basic", "A=1\nB = two words \n", map[string]string{"A": "1", "B": "two words"}, nil},
		{"comments", "# c\nA=1 # trailing\nB=x#not\n\n", map[string]string{"A": "1", "B": "x#not"}, nil},
		// The FIRST " #" starts the comment (godotenv 1.5.1 cut at the last).
		{"first hash", "API_TOKEN=abc123 # rotated 2024 # by ops\nT=a\t# tab\n", map[string]string{"API_TOKEN": "abc123", "T": "a"}, nil},
		{"hash in quotes", "A=\"x # y\" # c\nB='#z'#c\n", map[string]string{"A": "x # y", "B": "#z"}, nil},
		{"quotes", "A=\"l1\\nl2\"\nB='raw\\n $A'\nC=\"q\\\"d\"", map[string]string{"A": "l1\nl2", "B": `raw\n $A`, "C": `q"d`}, nil},
		{"escaped quotes", `FOO="\"quoted\""` + "\n", map[string]string{"FOO": `"quoted"`}, nil},
		{"backslash before closing quote", `W="C:\\Users\\me\\"` + "\nN=1\n", map[string]string{"W": `C:\Users\me\`, "N": "1"}, nil},
		{"escapes", `A="t\tr\rn\n\$x \'q\' \d"`, map[string]string{"A": "t\tr\rn\n$x \\'q\\' \\d"}, nil},
		{"single quotes literal", `A='${X} \n "q" \d'` + "\n", map[string]string{"A": `${X} \n "q" \d`}, nil},
		{"multi-line", "A=\"one\ntwo\"\nB='x\ny'\nC=3\n", map[string]string{"A": "one\ntwo", "B": "x\ny", "C": "3"}, nil},
		{"export and yaml style", "export A=1\n  export\tB=2\nC: 3\n", map[string]string{"A": "1", "B": "2", "C": "3"}, nil},
		{"empty values", "A=\nB=''\nC=\"\"\nD= # c\nE=x\n", map[string]string{"A": "", "B": "", "C": "", "D": "", "E": "x"}, nil},
		{"equals in value", "A=b=c==\n", map[string]string{"A": "b=c=="}, nil},
		{"unicode and spaces", "A='  ünï 😀  '\nB=  ünï  \n", map[string]string{"A": "  ünï 😀  ", "B": "ünï"}, nil},
		{"expand from file", "A=x\nB=${A}-$A\nC=\"${A}\"\nD='${A}'\n", map[string]string{"A": "x", "B": "x-x", "C": "x", "D": "${A}"}, nil},
		{"defaults", "E=\nA=set\nB=${U:-def}|${E:-def}|${A:-def}\nC=${U-def}|${E-def}|${A-def}\nD=${U:+alt}|${E:+alt}|${A:+alt}|${E+alt}\nF=${A:?x}${E?x}\n",
			map[string]string{"E": "", "A": "set", "B": "def|def|set", "C": "def||set", "D": "||alt|alt", "F": "set"}, nil},
		{"nested default", "A=1\nB=${U:-${A}x}\n", map[string]string{"A": "1", "B": "1x"}, nil},
		// An undefined variable is kept as written, never emptied.
		{"undefined kept", "DB_PASSWORD=\"pa$SWORD!\"\nS=x$1y\nP=p@$$W0RD\nQ=${NOPE}/$\nR=${A/x/y}${\n",
			map[string]string{"DB_PASSWORD": "pa$SWORD!", "S": "x$1y", "P": "p@$$W0RD", "Q": "${NOPE}/$", "R": "${A/x/y}${"}, nil},
		{"escaped dollar", "X=1\nA=\"\\$X\"\nB=\\$X\\n\\\\$X\n", map[string]string{"X": "1", "A": "$X", "B": `$X\n\$X`}, nil},
		{"later keys do not expand", "A=$B\nB=1\n", map[string]string{"A": "$B", "B": "1"}, nil},
		{"bom and crlf", "\ufeffA=1\r\nB=\"x\r\ny\"\r\nC=2\r", map[string]string{"A": "1", "B": "x\ny", "C": "2"}, nil},
		{"duplicates", "A=1\nB=2\nA=3\nA=4\n", map[string]string{"A": "4", "B": "2"}, []string{"A"}},
		{"backticks kept", "A=`x`\n", map[string]string{"A": "`x`"}, nil},
		{"empty", "", map[string]string{}, nil},
		{"comment only", "# a\n   # b", map[string]string{}, nil},
		{"unicode blank lines", "\u00a0\n\u3000 \u00a0# c\nA=1\n\u2003\n", map[string]string{"A": "1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := ParseDotenv(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := toMap(imp); !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !slices.Equal(imp.Duplicates, tt.dups) {
				t.Errorf("duplicates %v, want %v", imp.Duplicates, tt.dups)
			}
		})
	}
}

// TestParseDotenvDisputed: the keys whose reading depends on what readers do
// differently are listed, with the line of their last definition, and the
// others are not.
func TestParseDotenvDisputed(t *testing.T) {
	t.Parallel()
	in := "PLAIN=abc\nQ='its'\nDB_PASSWORD=\"pa$SWORD!\"\nS=x$1y\nFOO=\"\\\"q\\\"\"\nH=a#b\nNL=\"a\\nb\"\n" +
		"D=${PLAIN}\nB=`x`\nT=a\t# c\nW='a\\\\b'\nU=\"\\d\"\nFOO=ok\nSQ='x y'\nDQ=\"it's\"\n"
	imp, err := ParseDotenv(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range imp.Disputed {
		if d.Line == 0 || d.Reason == "" {
			t.Errorf("dispute without line or reason: %+v", d)
		}
		got[d.Key] = d.Line
	}
	want := map[string]int{"DB_PASSWORD": 3, "S": 4, "H": 6, "D": 8, "B": 9, "T": 10, "W": 11, "U": 12}
	if !maps.Equal(got, want) {
		t.Errorf("disputed %v, want %v", got, want)
	}
}

// TestParseDotenvNoProcessEnv: ${VAR} never reads the importing process's
// environment.
func TestParseDotenvNoProcessEnv(t *testing.T) {
	t.Setenv("HUSH_TEST_OUTSIDE", "fake-outside-value")
	imp, err := ParseDotenv(strings.NewReader("A=${HUSH_TEST_OUTSIDE}\nB=\"$HUSH_TEST_OUTSIDE\"\nC=${HUSH_TEST_OUTSIDE:-d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := toMap(imp); got["A"] != "${HUSH_TEST_OUTSIDE}" || got["B"] != "$HUSH_TEST_OUTSIDE" || got["C"] != "d" {
		t.Errorf("expanded from the process environment: %q", got)
	}
}

func TestParseDotenvErrors(t *testing.T) {
	t.Parallel()
	const fake = "fake-secret-9"
	tests := []struct {
		name string
		in   string
		line int
		want string
	}{
		{"nul", "A=1\nB=" + fake + "\x00\n", 2, "dotenv: line 2: NUL byte"},
		{"bad name", "A=1\n\n1BAD=" + fake + "\n", 3, `dotenv: line 3: invalid name "1BAD"`},
		{"dotted name", "A.B=" + fake + "\n", 1, `invalid name "A.B"`},
		{"no equals", "A=1\n" + fake + "\n", 2, "dotenv: line 2: expected NAME=value"},
		{"no equals at end", "A=1\nNOVALUE", 2, "dotenv: line 2: expected NAME=value"},
		{"space in name", "A B=" + fake + "\n", 1, "dotenv: line 1: expected NAME=value"},
		{"unterminated", "A=1\r\nB=\"" + fake + "\nC=2\n", 2, "dotenv: line 2: B: unterminated double-quoted value"},
		{"unterminated single", "A=1\n\nB='" + fake + "\n", 3, "dotenv: line 3: B: unterminated single-quoted value"},
		{"escaped quote at end", "A=1\nB=\"" + fake + "\\\"\nC=2\n", 2, "dotenv: line 2: B: unterminated double-quoted value"},
		{"backslash quote in single", "A=1\nB='x\n" + fake + "\\'y'\n", 3, "dotenv: line 3: B: a backslash before a single quote"},
		{"text after quote", "A=1\nB=\"x\ny\" " + fake + "\n", 3, "dotenv: line 3: B: unexpected text after the closing quote"},
		{"required", "A=1\nB=\"x\n${NOPE:?" + fake + "}\"\n", 3, "dotenv: line 3: B: a required variable"},
		{"required empty", "E=\nB=${E:?" + fake + "}\n", 2, "dotenv: line 2: B: a required variable"},
		{"invalid utf-8", "A=1\nB='" + fake + "\xff'\n", 2, "dotenv: line 2: invalid UTF-8"},
	}
	for _, tt := range tests {
		_, err := ParseDotenv(strings.NewReader(tt.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tt.line || !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want line %d %q", tt.name, err, tt.line, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "fake-secret") {
			t.Errorf("%s: error echoes the value: %v", tt.name, err)
		}
	}
}

func TestParseJSONYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		in     string
		want   map[string]string
		dups   []string
	}{
		{"json", FormatJSON, `{"A":"x","N":1.50,"B":true,"E":""}`, map[string]string{"A": "x", "N": "1.50", "B": "true", "E": ""}, nil},
		{"json dup", FormatJSON, "\ufeff{\"A\":\"1\",\"A\":\"2\"}", map[string]string{"A": "2"}, []string{"A"}},
		{"yaml", FormatYAML, "A: x\nN: 0x1F\nB: yes\nQ: \"q\\n\"\nM: |\n  l1\n  l2\n", map[string]string{"A": "x", "N": "0x1F", "B": "yes", "Q": "q\n", "M": "l1\nl2\n"}, nil},
		{"yaml dup", FormatYAML, "A: 1\nA: 2\n", map[string]string{"A": "2"}, []string{"A"}},
		{"yaml empty", FormatYAML, "", map[string]string{}, nil},
		{"dotenv via Import", FormatDotenv, "A=1\n", map[string]string{"A": "1"}, nil},
	}
	for _, tt := range tests {
		imp, err := Import(strings.NewReader(tt.in), tt.format)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := toMap(imp); !maps.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if !slices.Equal(imp.Duplicates, tt.dups) {
			t.Errorf("%s: duplicates %v", tt.name, imp.Duplicates)
		}
	}
}

func TestParseJSONYAMLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		in     string
		want   string
	}{
		{"json nested", FormatJSON, "{\n\"A\": \"fake-secret-1\",\n\"B\": {\"x\": 1}}", "json: line 3: B: nested value"},
		{"json array", FormatJSON, `{"B": ["fake-secret-1"]}`, "B: nested value"},
		{"json null", FormatJSON, `{"B": null}`, "B: null value"},
		{"json bad name", FormatJSON, `{"1B": "fake-secret-1"}`, `invalid name "1B"`},
		{"json nul", FormatJSON, `{"B": "fake-secret-1\u0000"}`, "B: NUL byte in value"},
		{"json syntax", FormatJSON, "{\n\"B\": \"fake-secret-1\" x}", "json: line 2: invalid JSON"},
		{"json not object", FormatJSON, `["fake-secret-1"]`, "want an object"},
		{"json utf-8", FormatJSON, "{\"B\": \"fake-secret-1\xff\"}", "invalid UTF-8"},
		{"json trailing", FormatJSON, `{"B": "x"} {}`, "data after the object"},
		{"yaml nested", FormatYAML, "A: fake-secret-1\nB:\n  x: 1\n", "yaml: line 2: B: nested value"},
		{"yaml null", FormatYAML, "B: ~\n", "B: null value"},
		{"yaml alias", FormatYAML, "A: &a fake-secret-1\nB: *a\n", "B: nested value or alias"},
		{"yaml bad name", FormatYAML, "A-B: fake-secret-1\n", `invalid name "A-B"`},
		{"yaml syntax", FormatYAML, "A: \"fake-secret-1\n", "yaml: line"},
		{"yaml list", FormatYAML, "- fake-secret-1\n", "want a mapping"},
		{"yaml two docs", FormatYAML, "A: 1\n---\nB: 2\n", "more than one document"},
		{"unknown format", Format("toml"), "", `cannot import format "toml"`},
	}
	for _, tt := range tests {
		_, err := Import(strings.NewReader(tt.in), tt.format)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "fake-secret") {
			t.Errorf("%s: error echoes the value: %v", tt.name, err)
		}
	}
}

// TestParseFixtures reads the env files in testdata/inject.
func TestParseFixtures(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]string{
		"app.env": {
			"APP_NAME":     "demo-app",
			"REDIS_URL":    "redis://localhost:6379/0",
			"GREETING":     "Hello,\nWorld",
			"PRIVATE_KEY":  "-----BEGIN FAKE KEY-----\nAAAAfakefakefakefake\n-----END FAKE KEY-----",
			"CALLBACK_URL": "https://example.invalid/callback",
			"STRIPE_KEY":   "hush://prod/STRIPE_KEY",
			"EMPTY":        "",
		},
		"crlf-bom.env": {"FIRST": "one", "SECOND": "two words", "THIRD": "3"},
	}
	for file, want := range tests {
		f, err := os.Open(filepath.Join("..", "testdata", "inject", file))
		if err != nil {
			t.Fatal(err)
		}
		imp, err := ParseDotenv(f)
		_ = f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		got := toMap(imp)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", file, k, got[k], v)
			}
		}
	}
	refs, err := FindSecretRefs(sec("STRIPE_KEY", "hush://prod/STRIPE_KEY"))
	if err != nil || len(refs) != 1 || refs[0].Ref != (Ref{Env: "prod", Key: "STRIPE_KEY"}) {
		t.Errorf("refs %v, %v", refs, err)
	}
}

// TestCheckDotenv: the second, independent reading agrees only when every
// stored value is what compose-go reads, without expansion; its findings
// name keys, never values.
func TestCheckDotenv(t *testing.T) {
	t.Parallel()
	const src = "A=plain # c\nB='single'\nC=\"x\\ny\"\nD=${A}\n"
	tests := []struct {
		name   string
		stored map[string]string
		want   map[string]string // key → start of the reason
	}{
		{"agree", map[string]string{"A": "plain", "B": "single", "C": "x\ny", "D": "plain"},
			map[string]string{"D": "the reference reader (compose-go) expands"}},
		{"stored other value", map[string]string{"A": "plain # c", "B": "single", "C": "x\ny", "D": "plain"},
			map[string]string{"A": "the reference reader (compose-go) reads another value", "D": "the reference reader (compose-go) expands"}},
		{"key not imported", map[string]string{"A": "plain", "B": "single", "D": "plain"},
			map[string]string{"C": "the reference reader (compose-go) reads a key hush did not import", "D": "the reference reader (compose-go) expands"}},
		{"key not in file", map[string]string{"A": "plain", "B": "single", "C": "x\ny", "D": "plain", "E": "fake-secret"},
			map[string]string{"E": "the reference reader (compose-go) does not read this key", "D": "the reference reader (compose-go) expands"}},
	}
	for _, tt := range tests {
		got, err := CheckDotenv([]byte(src), tt.stored)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		m := map[string]string{}
		for _, d := range got {
			m[d.Key] = d.Reason
			if strings.Contains(d.Reason, "plain") || strings.Contains(d.Reason, "fake-secret") {
				t.Errorf("%s: reason holds a value: %q", tt.name, d.Reason)
			}
		}
		if len(m) != len(tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, m, tt.want)
		}
		for k, w := range tt.want {
			if !strings.HasPrefix(m[k], w) {
				t.Errorf("%s: %s: %q, want %q", tt.name, k, m[k], w)
			}
		}
	}
	// compose-go refuses an unclosed "${"; its message (which quotes the value) is
	// not passed on.
	if _, err := CheckDotenv([]byte("P=fake-secret${\n"), map[string]string{"P": "fake-secret${"}); !errors.Is(err, ErrReferenceRefused) || strings.Contains(err.Error(), "fake") {
		t.Errorf("err = %v, want ErrReferenceRefused without the value", err)
	}
	clean := "A=plain\nB='it''s'\n"
	if _, err := ParseDotenv(strings.NewReader(clean)); err == nil {
		t.Errorf("two adjacent single-quoted strings read")
	}
}

// TestCheckSourceJSON: a JSON file is read again by encoding/json.
func TestCheckSourceJSON(t *testing.T) {
	t.Parallel()
	src := []byte(`{"A": "x", "N": 1.50, "B": true}`)
	got, err := CheckSource(src, FormatJSON, map[string]string{"A": "x", "N": "1.50", "B": "true"})
	if err != nil || len(got) != 0 {
		t.Errorf("agreeing file: %v, %v", got, err)
	}
	got, err = CheckSource(src, FormatJSON, map[string]string{"A": "y", "N": "1.50", "B": "true"})
	if err != nil || len(got) != 1 || got[0].Key != "A" {
		t.Errorf("changed value: %v, %v", got, err)
	}
}
