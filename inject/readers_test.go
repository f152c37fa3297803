package inject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/docker/cli/pkg/kvfile"
	"github.com/joho/godotenv"
)

// injectionValues try to run something in whatever reads an export: a
// shell sourcing it, dotenvx's command substitution, an expansion.
var injectionValues = []string{
	`a;echo INJECTED;"'x`, "$(touch injected-marker)", "`touch injected-marker`", `"\$(touch injected-marker)"`,
	`\$(touch injected-marker)`, "'$(touch injected-marker)'", "${HOME}", "${X:-$(touch injected-marker)}",
	"x\n$(touch injected-marker)\n", "';touch injected-marker;'", `"; touch injected-marker; "`,
	"pa$SWORD!", "x$1y", "p@$$W0RD", "abc123 # rotated 2024 # by ops", `"quoted"`, `C:\Users\me\`,
	"\\", "\\\\", "'", `"`, "`", "#", " # ", "=", "==", "a=b", " ", "\t", "tab\tinside", "é\u00a0\u3000",
}

// readerValues are the values the real-reader tests export: every nasty
// value, and a few kinds of each in one file.
func readerValues() []Secret {
	var out []Secret
	for i, v := range append(append([]string{}, nastyValues...), injectionValues...) {
		out = append(out, Secret{Name: fmt.Sprintf("V_%03d", i), Value: NewValue(v)})
	}
	return out
}

// exportable exports each secret alone in format and returns those the
// format accepts, with the names of those it refused.
func exportable(t *testing.T, format Format, secrets []Secret) (ok []Secret, refused []string) {
	t.Helper()
	for _, s := range secrets {
		var buf bytes.Buffer
		if err := Export(&buf, format, []Secret{s}, ExportOptions{}); err != nil {
			if ee, isExport := err.(*ExportError); !isExport || ee.Key != s.Name {
				t.Fatalf("%s: refusal of %s does not name the key: %v", format, s.Name, err)
			}
			refused = append(refused, s.Name)
			continue
		}
		ok = append(ok, s)
	}
	return ok, refused
}

// exportFile writes secrets in format to a file in a new directory.
func exportFile(t *testing.T, format Format, secrets []Secret) (dir, file string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, format, secrets, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	file = filepath.Join(dir, "exported")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, file, buf.Bytes()
}

func compare(t *testing.T, reader string, secrets []Secret, got map[string]string) {
	t.Helper()
	for _, s := range secrets {
		if g, ok := got[s.Name]; !ok || g != s.Value.Reveal() {
			t.Errorf("%s: %s = %q (present %v), want %q", reader, s.Name, g, ok, s.Value.Reveal())
		}
	}
	if len(got) != len(secrets) {
		t.Errorf("%s: %d keys back, want %d", reader, len(got), len(secrets))
	}
}

func noMarker(t *testing.T, reader, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "injected-marker")); err == nil {
		t.Errorf("%s ran a command from an exported value", reader)
		os.Remove(filepath.Join(dir, "injected-marker"))
	}
}

// TestDotenvExportRealReaders reads one dotenv export with every mainstream
// reader there is here: godotenv, compose-go and ParseDotenv in process;
// Node's dotenv and dotenvx from npm (.ci/deps installs them into
// .cache/npm); python-dotenv (Debian's python3-dotenv, and the one of the
// python3 on PATH when it has one). Each must read every value back byte for
// byte, and nothing may run. The refused values are exactly the ones the
// documented rule refuses.
func TestDotenvExportRealReaders(t *testing.T) {
	t.Parallel()
	all := readerValues()
	secrets, refused := exportable(t, FormatDotenv, all)
	for _, s := range all {
		if want := !dotenvWritable(s.Value.Reveal()); want != contains(refused, s.Name) {
			t.Errorf("%s (%q): refused %v, want %v", s.Name, s.Value.Reveal(), !want, want)
		}
	}
	if len(secrets) < len(all)*3/4 {
		t.Fatalf("only %d of %d values exportable", len(secrets), len(all))
	}
	dir, file, data := exportFile(t, FormatDotenv, secrets)

	m, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "godotenv", secrets, m)
	m, err = composedotenv.UnmarshalWithLookup(string(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "compose-go", secrets, m)
	imp, err := ParseDotenv(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "ParseDotenv", secrets, toMap(imp))

	for _, r := range externalDotenvReaders(t, dir, file) {
		r.check(t, secrets)
	}
	noMarker(t, "dotenvx", dir)

	// Sourcing a dotenv export in a shell must not run anything either.
	for _, sh := range shells(t) {
		out, _ := exec.Command(sh, "-c", `. "$1"; echo done`, sh, file).CombinedOutput()
		if strings.Contains(string(out), "INJECTED") {
			t.Errorf("%s sourcing the dotenv export ran echo: %q", sh, out)
		}
		noMarker(t, sh, dir)
	}
}

type readerResult struct {
	name   string
	values map[string]string
	// oneLine: the reader does not read multi-line quoted values, so
	// only single-line values are compared.
	oneLine bool
}

// check compares what r read with secrets.
func (r readerResult) check(t *testing.T, secrets []Secret) {
	t.Helper()
	if r.oneLine {
		var single []Secret
		got := map[string]string{}
		for _, s := range secrets {
			if !strings.Contains(s.Value.Reveal(), "\n") {
				single = append(single, s)
				got[s.Name] = r.values[s.Name]
			}
		}
		secrets, r.values = single, got
	}
	compare(t, r.name, secrets, r.values)
}

// externalDotenvReaders reads file with Node's dotenv, dotenvx (get, which
// applies its expansion and command substitution: what dotenvx run would
// hand a program) and each python-dotenv there is (Debian's python3-dotenv,
// and the one of the python3 on PATH when it differs), running in dir. A
// missing reader skips the test, or fails it under HUSH_TEST_REQUIRE_ALL=1.
func externalDotenvReaders(t *testing.T, dir, file string) []readerResult {
	t.Helper()
	npm := npmModules(t)
	js := `const d = require(process.argv[1]); const fs = require("fs");
process.stdout.write(JSON.stringify(d.parse(fs.readFileSync(process.argv[2]))))`
	out := []readerResult{
		{"node dotenv", runJSON(t, dir, "node", "-e", js, filepath.Join(npm, "dotenv"), file), false},
		{"dotenvx", runJSON(t, dir, filepath.Join(npm, ".bin", "dotenvx"), "get", "-f", file, "--format", "json"), false},
	}
	py := `import json, sys
from dotenv import dotenv_values
sys.stdout.write(json.dumps(dotenv_values(sys.argv[1])))`
	seen := map[string]bool{}
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
		if seen[path] || exec.Command(path, "-c", "import dotenv").Run() != nil {
			continue
		}
		seen[path] = true
		out = append(out, readerResult{"python-dotenv (" + path + ")", runJSON(t, dir, path, "-c", py, file), false})
	}
	if len(seen) == 0 {
		requireOrSkip(t, "no python3 with python-dotenv (Debian python3-dotenv)")
	}
	// Ruby's dotenv when there (not required: Debian's ruby-dotenv is 2.4,
	// which reads no multi-line quotes, unlike 3.x); it runs $(…) in bare
	// and double-quoted values, so it checks that nothing runs.
	if exec.Command("ruby", "-rdotenv", "-e", "").Run() == nil {
		rb := `require "json"; require "dotenv"
env = Dotenv.respond_to?(:parse) ? Dotenv.parse(ARGV[0]) : Dotenv::Environment.new(ARGV[0], false)
print JSON.generate(env.to_h)`
		out = append(out, readerResult{"ruby dotenv", runJSON(t, dir, "ruby", "-e", rb, file), true})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// npmModules is .cache/npm/node_modules with dotenv and dotenvx, or skips.
func npmModules(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".cache", "npm", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		requireOrSkip(t, "no node")
	}
	for _, p := range []string{"dotenv/package.json", ".bin/dotenvx"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			requireOrSkip(t, "no "+p+" under .cache/npm (run .ci/deps)")
		}
	}
	return dir
}

func runJSON(t *testing.T, dir, name string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOTENV_KEY=", "DOTENV_CONFIG_QUIET=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.String())
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: %v\n%q", name, err, out)
	}
	return m
}

// shells are bash and dash (and sh); CI has both.
func shells(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, sh := range []string{"bash", "dash"} {
		if p, err := exec.LookPath(sh); err == nil {
			out = append(out, p)
		} else {
			requireOrSkip(t, "no "+sh+" (Debian package "+sh+")")
		}
	}
	return out
}

// TestShellExportRealShells evaluates and sources the shell export in bash
// and dash and compares the bytes every variable holds.
func TestShellExportRealShells(t *testing.T) {
	t.Parallel()
	secrets := append(readerValues(), Secret{Name: "V_BIN", Value: NewValue("\xff\xfe invalid utf-8")},
		Secret{Name: "V_LONG", Value: NewValue(strings.Repeat("x'", 500))})
	ok, refused := exportable(t, FormatShell, secrets)
	if len(refused) > 0 {
		t.Fatalf("shell refused %v", refused)
	}
	dir, file, _ := exportFile(t, FormatShell, ok)
	script := `printf '%s\0'`
	for _, s := range ok {
		script += ` "$` + s.Name + `"`
	}
	for _, sh := range shells(t) {
		for _, load := range []string{`eval "$(cat "$1")"`, `. "$1"`} {
			// The test drives a shell on purpose: that is what the format is for.
			cmd := exec.Command(sh, "-c", load+"; "+script, sh, file)
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %s: %v", sh, load, err)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if len(got) != len(ok) {
				t.Fatalf("%s %s: %d values back, want %d", sh, load, len(got), len(ok))
			}
			m := map[string]string{}
			for i, s := range ok {
				m[s.Name] = got[i]
			}
			compare(t, sh+" "+load, ok, m)
			noMarker(t, sh, dir)
		}
	}
}

// TestDockerExportKvfile reads the docker export with docker/cli's own
// env-file reader (pkg/kvfile, what docker run --env-file calls): every value
// it accepts comes back as it is, quotes included; it refuses only what
// kvfile cannot carry (a line break, invalid UTF-8).
func TestDockerExportKvfile(t *testing.T) {
	t.Parallel()
	all := readerValues()
	ok, refused := exportable(t, FormatDocker, all)
	for _, s := range all {
		v := s.Value.Reveal()
		if want := strings.ContainsAny(v, "\r\n"); want != contains(refused, s.Name) {
			t.Errorf("%s (%q): refused %v, want %v", s.Name, v, !want, want)
		}
	}
	_, _, data := exportFile(t, FormatDocker, ok)
	lines, err := kvfile.ParseFromReader(bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	compare(t, "docker kvfile", ok, m)
}
