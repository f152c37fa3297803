package main

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store/audit"
)

func TestPrintfEscapes(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	hostile := "bob\x1b]52;c;aGk=\x07\r\u202e"
	printf(&b, "%s|%q|%-14s|%v|%s|%d|%s\n", hostile, "a\x1b\u3164", "x\x1b", errors.New("e\x1b[2J"), []string{"a\rb", "c"}, 7, time.Duration(0))
	want := `bob\x1b]52;c;aGk=\a\r\u202e|"a\x1b\u3164"|x\x1b         |e\x1b[2J|[a\rb c]|7|0s` + "\n"
	if got := b.String(); got != want {
		t.Errorf("printf:\n got %q\nwant %q", got, want)
	}
	b.Reset()
	printf(&b, "%s\t%s\n", "::stop-commands::pwned", "k")
	printf(&b, "  members: %s\n", "x")
	printf(&b, "%s\n", " \t::add-mask::x")
	if got, want := b.String(), `\x3a:stop-commands::pwned`+"\tk\n  members: x\n \\t::add-mask::x\n"; got != want {
		t.Errorf("printf workflow command:\n got %q\nwant %q", got, want)
	}
	b.Reset()
	var nilErr *os.PathError
	printf(&b, "%v", nilErr)
	if got := b.String(); got != "<nil>" {
		t.Errorf("printf nil error: %q", got)
	}
	type label string
	b.Reset()
	printf(&b, "%s %v %s %v", label("a\x1b"), []label{"b\r"}, []byte("c\a"), struct{ n int }{1})
	if got, want := b.String(), `a\x1b [b\r] c\a {1}`; got != want {
		t.Errorf("printf named types: got %q, want %q", got, want)
	}
}

func TestRedactArgv(t *testing.T) {
	t.Parallel()
	app := newApp(&Env{}, nil)
	for _, tc := range []struct {
		args []string
		msg  string // the message as a layer wrote it
		want string
	}{
		{[]string{"set", "DB_PASSWORD=hunter2"}, `invalid key name "DB_PASSWORD=hunter2": use letters`, `invalid key name "DB_PASSWORD=…": use letters`},
		{[]string{"get", "DB_PASSWORD_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX=hunter2"}, `invalid key name "DB_PASSWORD_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX=hunt…": use`, `invalid key name "DB_PASSWORD_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX=……": use`},
		{[]string{"rm", "A=b"}, `invalid key name "A=b": bad`, `invalid key name "A=…": bad`},
		{[]string{"--env", "prod=x", "ls"}, `invalid environment name "prod=x": use lower-case letters, digits`, `invalid environment name "prod=…": use lower-case letters, digits`},
		{[]string{"ls", "--env=prod=x"}, `invalid environment name "prod=x": x`, `invalid environment name "prod=…": x`},
		{[]string{"ls", "--env=prod"}, `environment prod has no secrets`, `environment prod has no secrets`},
		{[]string{"ls", "--quiet=hunter2"}, `invalid boolean value "hunter2" for -quiet: parse error`, `invalid boolean value "…" for -quiet: parse error`},
		{[]string{"ls", "--quiet=on"}, `invalid boolean value "on" for -quiet: parse error`, `invalid boolean value "…" for -quiet: parse error`},
		{[]string{"set", "--token=s3cr3tt0ken", "X"}, `flag provided but not defined: -token=s3cr3tt0ken`, `flag provided but not defined: -token=…`},
		{[]string{"-C", "/srv/app=hunter2", "ls"}, `open /srv/app=hunter2/.hush: no such file`, `open /srv/app=…/.hush: no such file`},
		{[]string{"FOO=bar"}, `unknown command "FOO=bar"`, `unknown command "FOO=…"`},
		{[]string{"run", "--", "PGPASSWORD=hunter2", "psql"}, `run PGPASSWORD=hunter2: command not found`, `run PGPASSWORD=…: command not found`},
		{[]string{"set", "K=p\"w\x1b"}, `invalid key name "K=p\"w\x1b"`, `invalid key name "K=…"`},
		{[]string{"set", "K=pw"}, `the password pw, "pw", is not a word in "K=pw"`, `the password pw, "…", is not a word in "K=…"`},
		{[]string{"set", "K=="}, `invalid key name "K=="`, `invalid key name "K=…"`},
		{[]string{"set", "K="}, `invalid key name "K="`, `invalid key name "K="`},
		{[]string{"run", "--only", "A=b\x1b[31mhunter2"}, `warning: --only A=b\x1b[31mhunter2 matched nothing`, `warning: --only A=… matched nothing`},
	} {
		args := append([]string{"hush"}, tc.args...)
		if got := redactArgv(tc.msg, argvRedactions(app, args)); got != tc.want {
			t.Errorf("%q: %q\n got %q\nwant %q", tc.args, tc.msg, got, tc.want)
		}
	}
}

// TestMainHidesArgvValues runs the real command line, in process, in a
// real project, for the slips a user makes: every one is a usage error and
// the value reaches neither stderr, nor stdout, nor the audit log.
func TestMainHidesArgvValues(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, "config"),
		"XDG_DATA_HOME": filepath.Join(dir, "data"), "XDG_STATE_HOME": filepath.Join(dir, "state"), "HUSH_KEYRING": "off"}
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string { return vars[k] }, Environ: func() []string { return nil },
			Getwd: func() (string, error) { return dir, nil }, Now: time.Now}
		code := Main(t.Context(), append([]string{"hush"}, args...), env)
		return code, stdout.String() + stderr.String()
	}
	if code, out := run("init"); code != 0 {
		t.Fatalf("hush init: exit %d: %s", code, out)
	}
	for _, args := range [][]string{
		{"set", "DB_PASSWORD=hunter2"},
		{"set", "DB_PASSWORD=hunter2", "--env", "dev"},
		{"get", "DB_PASSWORD=hunter2"},
		{"get", "DB_PASSWORD_THAT_IS_LONGER_THAN_FORTY_BYTES_XXXXXXX=hunter2"},
		{"rm", "A=hunter2", "B"},
		{"rotate", "A=hunter2"},
		{"--env", "dev=hunter2", "ls"},
		{"ls", "--env=dev=hunter2"},
		{"set", "--token=hunter2", "X"},
		{"ls", "--json=hunter2"},
		{"--quiet=hunter2", "ls"},
		{"FOO=hunter2"},
		{"member", "FOO=hunter2"},
		{"audit", "--since=7d=hunter2"},
	} {
		code, out := run(args...)
		if code != exitUsage || strings.Contains(out, "hunter2") || !strings.HasPrefix(out, "hush: ") {
			t.Errorf("hush %q: exit %d, output %q; want exit 2 and no value", args, code, out)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "state", "hush", "audit.jsonl"))
	if err != nil || bytes.Contains(log, []byte("hunter2")) {
		t.Errorf("audit log: %v\n%s", err, log)
	}
}

// TestRenderThroughPrintf keeps raw prints out of cmd: a string from the
// repository reaches the terminal only through printf and its kin, which
// escape it. The functions listed print values the user asked for, or
// hush's own text, to where it belongs.
func TestRenderThroughPrintf(t *testing.T) {
	t.Parallel()
	allowed := map[string]string{
		"render.go:printf":              "the escaping printer itself",
		"render.go:Format":              "the escaping formatters",
		"render.go:say":                 "hush's own lines, escaped and redacted",
		"render.go:Write":               "escapes a helper's stderr",
		"complete.go:completionCommand": "prints a completion script shipped with hush",
		"edit.go:runEdit":               "writes the editor buffer (values), not a terminal",
		"export.go:runExport":           "prints the values asked for",
		"identity.go:runKeygen":         "prints the new secret key asked for",
		"member.go:runCIKey":            "prints the new CI key asked for",
		"secrets.go:runGet":             "prints the value asked for",
		"man.go:writeMan":               "roff of hush's own help",
		"man.go:writeManCommand":        "roff of hush's own help",
		"man.go:writeFlags":             "roff of hush's own help",
		"tty.go:promptSecret":           "a newline after the prompt",
		"tty_unix.go:restoreOnSignal":   "a newline after the prompt",
		"vault.go:runVaultPolicy":       "prints the policy through safe.Lines",
		"env.go:realEnv":                "the real streams",
		"edit.go:runEditor":             "the editor's own streams",
		"output.go:writeJSON":           "through safe.JSON",
		"output.go:Write":               "through safe.JSON",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			where := file + ":" + fd.Name.Name
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				raw := pkg.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Fprint") ||
					pkg.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Print") ||
					pkg.Name == "io" && (sel.Sel.Name == "WriteString" || sel.Sel.Name == "Copy") ||
					pkg.Name == "os" && (sel.Sel.Name == "Stdout" || sel.Sel.Name == "Stderr")
				if _, ok := allowed[where]; raw && !ok {
					t.Errorf("%s: %s.%s writes unescaped output; use printf (render.go), or list the function here with the reason", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}

// TestAuditTableEscapes renders the audit table a terminal gets (scripts
// see JSON, stdout not being a terminal) from a log whose lines carry
// escapes, as a hostile project name or command line would put there.
func TestAuditTableEscapes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stdout, StdoutTTY: true, Now: time.Now,
		Getenv: func(k string) string {
			if k == "XDG_STATE_HOME" {
				return dir
			}
			return ""
		}}
	s := newUI(env, dir, "")
	err := s.AuditLog().Append(audit.Entry{Time: time.Now(), Action: "secret.read", Path: "p\x1b]52;c;aGk=\x07/dev/K",
		Command: "hush \u202erun", User: "u\r", Success: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := runAudit(s, auditOptions{}); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if strings.ContainsAny(out, "\x1b\x07\r\u202e") || !strings.Contains(out, `p\x1b]52;c;aGk=\a/dev/K`) || !strings.Contains(out, `hush \u202erun`) {
		t.Errorf("audit table:\n%s", out)
	}
}

// TestGetOnTerminalEscapes: a value anyone with write access to the store
// set is shown escaped when a person reads it on a terminal, and byte for
// byte to a pipe.
func TestGetOnTerminalEscapes(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, "config"),
		"XDG_DATA_HOME": filepath.Join(dir, "data"), "XDG_STATE_HOME": filepath.Join(dir, "state"), "HUSH_KEYRING": "off"}
	run := func(tty bool, stdin string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdin: strings.NewReader(stdin), StdinPiped: stdin != "", StdoutTTY: tty, Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string { return vars[k] }, Environ: func() []string { return nil },
			Getwd: func() (string, error) { return dir, nil }, Now: time.Now}
		code := Main(t.Context(), append([]string{"hush"}, args...), env)
		return code, stdout.String(), stderr.String()
	}
	const value = "tok\x1b]52;c;aGk=\x07\r\u202e\nline two"
	if code, _, errs := run(false, "", "init"); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := run(false, value, "set", "TOKEN"); code != 0 {
		t.Fatal(errs)
	}
	if code, out, errs := run(true, "", "get", "TOKEN"); code != 0 || out != `tok\x1b]52;c;aGk=\a\r\u202e`+"\nline two\n" || !strings.Contains(errs, "shown escaped") {
		t.Errorf("get on a terminal: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, _ := run(false, "", "get", "TOKEN"); code != 0 || out != value {
		t.Errorf("get to a pipe: exit %d, stdout %q", code, out)
	}
}

// FuzzRedactArgv: whatever KEY=VALUE the user typed, a message quoting
// the argument whole, with %q, escaped or cut short after 40 bytes (as
// the key-name check does) keeps nothing after "KEY=" and no copy of a
// value of six bytes or more.
func FuzzRedactArgv(f *testing.F) {
	app := newApp(&Env{}, nil)
	for _, seed := range [][2]string{{"DB_PASSWORD", "hunter2"}, {"A", "b"}, {`K"`, "p\"w\x1b"}, {"LONG_KEY_NAME_THAT_IS_CUT_SHORT_XXXXXXX", "secret-value"}, {"x", "東京の秘密"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		if key == "" || value == "" || strings.ContainsRune(key, '=') || strings.HasPrefix(key, "-") ||
			!utf8.ValidString(key) || !utf8.ValidString(value) {
			return
		}
		arg := key + "=" + value
		rs := argvRedactions(app, []string{"hush", "set", arg})
		cut := arg
		if len(cut) > 40 {
			cut = strings.ToValidUTF8(cut[:40], "") + "…"
		}
		for _, msg := range []string{
			"invalid key name " + strconv.Quote(arg) + ": use letters",
			"invalid key name " + strconv.Quote(cut) + ": use letters",
			"run " + arg + ": command not found",
			"run " + safe.Term(arg) + ": command not found",
		} {
			got := redactArgv(msg, rs)
			if len(value) >= minBare && strings.Contains(got, value) {
				t.Fatalf("%q: %q still holds the value", msg, got)
			}
			for _, k := range writtenForms(key) {
				if i := strings.Index(got, k+"="); i >= 0 && !strings.HasPrefix(got[i+len(k)+1:], redacted) {
					t.Fatalf("%q: %q shows what follows %s=", msg, got, k)
				}
			}
		}
	})
}
