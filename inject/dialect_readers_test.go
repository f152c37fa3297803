package inject

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
)

// dialectCorpus are .env lines of the kinds the public suites of the
// mainstream readers test (motdotla/dotenv's test/.env, python-dotenv's,
// compose-go's), written for this test.
var dialectCorpus = `BASIC=basic
# previous line intentionally left blank
AFTER_LINE=after_line
EMPTY=
EMPTY_SINGLE_QUOTES=''
EMPTY_DOUBLE_QUOTES=""
SINGLE_QUOTES='single_quotes'
SINGLE_QUOTES_SPACED='    single quotes    '
DOUBLE_QUOTES="double_quotes"
DOUBLE_QUOTES_SPACED="    double quotes    "
DOUBLE_QUOTES_INSIDE_SINGLE='double "quotes" work inside single quotes'
SINGLE_QUOTES_INSIDE_DOUBLE="single 'quotes' work inside double quotes"
EXPAND_NEWLINES="expand\nnew\nlines"
DONT_EXPAND_UNQUOTED=dontexpand\nnewlines
DONT_EXPAND_SQUOTED='dontexpand\nnewlines'
INLINE_COMMENTS=inline comments # work #very #well
INLINE_COMMENTS_SINGLE_QUOTES='inline comments outside of #singlequotes' # work
INLINE_COMMENTS_DOUBLE_QUOTES="inline comments outside of #doublequotes" # work
INLINE_COMMENTS_SPACE=inline comments start with a # number sign. no space required.
EQUAL_SIGNS=equals==
RETAIN_INNER_QUOTES={"foo": "bar"}
RETAIN_INNER_QUOTES_AS_STRING='{"foo": "bar"}'
TRIM_SPACE_FROM_UNQUOTED=    some spaced out string
USERNAME=therealnerdybeast@example.tld
    SPACED_KEY = parsed
MULTI_DOUBLE_QUOTED="THIS
IS
A
MULTILINE
STRING"
MULTI_SINGLE_QUOTED='THIS
IS
A
MULTILINE
STRING'
export EXPORTED=exported value
UNICODE='héllo wörld ✓ 日本'
URL=postgres://user:p%40ss@db:5432/app?sslmode=require
BASE64=YWJjZGVm==
JSON_SINGLE='{"a": [1, 2]}'
DUP=first
DUP=last
TRAILING_SPACES=value   
TAB_BEFORE_VALUE=	tabbed
`

// TestDialectAgainstReaders: for every key ParseDotenv does not list as
// disputed, Node's dotenv, dotenvx, python-dotenv and compose-go read the
// same bytes as ParseDotenv.
func TestDialectAgainstReaders(t *testing.T) {
	t.Parallel()
	in := []byte(dialectCorpus + "CRLF=crlf\r\nLAST=last")
	imp, err := ParseDotenv(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	disputed := map[string]bool{}
	for _, d := range imp.Disputed {
		disputed[d.Key] = true
	}
	var want []Secret
	for _, s := range imp.Secrets {
		if !disputed[s.Name] {
			want = append(want, s)
		}
	}
	if len(want) < 35 {
		t.Fatalf("only %d undisputed keys of %d", len(want), len(imp.Secrets))
	}
	subset := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for _, s := range want {
			if v, ok := m[s.Name]; ok {
				out[s.Name] = v
			}
		}
		return out
	}
	m, err := composedotenv.UnmarshalWithLookup(string(normalizeNewlines(in)), nil)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "compose-go", want, subset(m))

	dir := t.TempDir()
	file := filepath.Join(dir, "corpus.env")
	if err := os.WriteFile(file, in, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range externalDotenvReaders(t, dir, file) {
		r.values = subset(r.values)
		r.check(t, want)
	}
}
