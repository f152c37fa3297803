package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// The security contracts of DESIGN.md, proven for every command by one
// table: each command runs under strace with a canary secret in the store,
// and the trace and the file system are searched for the canary.

// canary is made at run time, so it appears in no binary or source file
// that a file-system search could trip over.
var canary = func() string {
	var b [10]byte
	rand.Read(b[:])
	return "CANARY" + hex.EncodeToString(b[:])
}()

// canaryForms are the canary as it is and base64-encoded at each of the
// three alignments (the part of the encoding the neighbouring bytes do
// not change): values travel to hush-sops as base64, and an encoded value
// in a file would be a leak too.
var canaryForms = func() []string {
	forms := []string{canary}
	for off := 0; off < 3; off++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, off), canary...))
		forms = append(forms, enc[(off+2)/3*4:(off+len(canary))/3*4])
	}
	return forms
}()

// holdsCanary reports whether s holds the canary in any of its forms.
func holdsCanary(s string) bool {
	for _, f := range canaryForms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// contractCase is one command and the input that reaches its secret path.
type contractCase struct {
	name  string
	args  []string
	stdin string
	env   []string
	// plaintextOut names a file the command is asked to write in
	// plaintext (export -o): the one allowed regular-file write.
	plaintextOut string
}

func contractCases(w string) []contractCase {
	return []contractCase{
		{name: "set", args: []string{"set", "OTHER"}, stdin: canary + "-other\n"},
		{name: "get", args: []string{"get", "CANARY"}},
		{name: "ls", args: []string{"ls", "--json"}},
		{name: "run exec", args: []string{"run", "--", "sh", "-c", `test "$CANARY" = "` + "$EXPECT" + `"`}, env: []string{"EXPECT=" + canary}},
		{name: "run mask", args: []string{"run", "--mask", "--", "sh", "-c", `echo "$CANARY"`}},
		{name: "run file", args: []string{"run", "--file", "F=CANARY", "--", "sh", "-c", `cat "$F" >/dev/null`}},
		{name: "run mount", args: []string{"run", "--mount", "D", "--mount", "J=json", "--", "sh", "-c", `cat "$D" "$J" >/dev/null`}},
		{name: "run command", args: []string{"run", "--command", `test -n "$CANARY" && echo "$CANARY" >/dev/null`}},
		{name: "inject", args: []string{"inject", filepath.Join(w, "app.tmpl")}},
		{name: "inject -o", args: []string{"inject", filepath.Join(w, "app.tmpl"), "-o", filepath.Join(w, "out.yaml")}, plaintextOut: filepath.Join(w, "out.yaml")},
		{name: "export", args: []string{"export", "--format", "shell"}},
		{name: "export -o", args: []string{"export", "--format", "json", "-o", filepath.Join(w, "out.json")}, plaintextOut: filepath.Join(w, "out.json")},
		{name: "import", args: []string{"import", filepath.Join("/var/tmp", "hush-contracts-"+canary[6:14], "in.env"), "--overwrite"}},
		// SOPS: hush-sops (strace -f follows it) decrypts and encrypts;
		// values cross only pipes, never its argv or a file.
		{name: "export sops", args: []string{"export", "--format", "sops", "--sops-type", "dotenv"}},
		{name: "import sops", args: []string{"import", filepath.Join("/var/tmp", "hush-contracts-"+canary[6:14], "in.enc.json"), "--overwrite"}},
		{name: "diff sops", args: []string{"diff", filepath.Join("/var/tmp", "hush-contracts-"+canary[6:14], "in.enc.json")}},
		{name: "edit", args: []string{"edit"}, env: []string{"EDITOR=" + filepath.Join(w, "editor.sh")}},
		{name: "rotate", args: []string{"rotate", "ROT", "--generate"}},
		{name: "status", args: []string{"status"}},
		{name: "scan", args: []string{"scan", filepath.Join(w, "proj", "src")}},
		{name: "member add", args: []string{"member", "add", filepath.Join(w, "bob.pub"), "--env", "dev", "--label", "bob"}},
		{name: "member rm", args: []string{"member", "rm", "bob", "--all"}},
		{name: "leak", args: []string{"leak", "LEAKY"}},
		// Vault: values go to and come from the server over a socket only.
		{name: "vault pull", args: []string{"vault", "pull"}},
		{name: "vault push", args: []string{"vault", "push"}},
		{name: "textconv", args: []string{"git", "textconv", filepath.Join(w, "proj", ".hush", "dev.age")}},
		{name: "audit", args: []string{"audit", "--json"}},
		{name: "doctor", args: []string{"doctor"}},
	}
}

func TestSecurityContracts(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("strace"); err != nil {
		if requireAll() {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but strace is not installed")
		}
		t.Skip("needs strace")
	}
	w := t.TempDir()
	if d := os.Getenv("HUSH_CONTRACTS_KEEP"); d != "" {
		w = d // keep traces for inspection
	}
	bin := filepath.Join(w, "bin")
	os.MkdirAll(bin, 0o755)
	self, _ := os.Executable()
	sops, err := hushSops()
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"hush": self, "hush-sops": sops} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(w, "home")
	tmp := filepath.Join(w, "tmp")
	os.MkdirAll(tmp, 0o700)
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config", "XDG_DATA_HOME="+home+"/.local/share",
		"XDG_STATE_HOME="+home+"/.local/state", "XDG_RUNTIME_DIR=", "TMPDIR="+tmp, "HUSH_KEYRING=off", "NO_COLOR=1",
		"PATH="+bin+":"+os.Getenv("PATH"), "HUSH_ENV=", "HUSH_IDENTITY=", "HUSH_IDENTITY_FILE=")
	proj := filepath.Join(w, "proj")
	run := func(stdin string, extra []string, args ...string) (string, string, error) {
		cmd := exec.Command(filepath.Join(bin, "hush"), args...)
		cmd.Dir, cmd.Env = proj, append(append([]string{}, env...), extra...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	os.MkdirAll(filepath.Join(proj, "src"), 0o755)
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		out, errs, err := run(stdin, nil, args...)
		if err != nil {
			t.Fatalf("hush %v: %v\n%s", args, err, errs)
		}
		return out
	}
	mustRun("", "init", "--name", "contracts")
	// A real Vault for vault pull and push, holding a value hush pulls.
	srv := vaulttest.Start(t)
	mount, err := srv.NewMount(2)
	if err != nil {
		t.Fatal(err)
	}
	vc := srv.Client(t)
	if _, err := vc.KVv2(mount).Put(context.Background(), "contracts/dev", map[string]any{"PULLED": canary + "-pulled"}); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(filepath.Join(proj, ".hush", "hush.yaml"), os.O_APPEND|os.O_WRONLY, 0); err != nil {
		t.Fatal(err)
	} else {
		fmt.Fprintf(f, "vault:\n  mount: %s\n", mount)
		f.Close()
	}
	// The vault: section is a pinned setting: acknowledge the edit.
	mustRun("", "ack", "--yes")
	env = append(env, "VAULT_ADDR="+srv.Addr, "VAULT_TOKEN="+srv.Token)
	for _, k := range []string{"CANARY", "ROT", "LEAKY"} {
		mustRun(canary+"\n", "set", k)
	}
	bobKey := filepath.Join(w, "bob.key")
	mustRun("", "keygen", "-o", bobKey)
	bobPub, _, _ := func() (string, string, error) {
		cmd := exec.Command(filepath.Join(bin, "hush"), "whoami")
		cmd.Env = append(append([]string{}, env...), "HUSH_IDENTITY_FILE="+bobKey)
		out, err := cmd.Output()
		return string(out), "", err
	}()
	os.WriteFile(filepath.Join(w, "bob.pub"), []byte(bobPub), 0o644)
	// The import input is the test's own plaintext file: keep it out of
	// the searched directories.
	inputs := filepath.Join("/var/tmp", "hush-contracts-"+canary[6:14])
	os.MkdirAll(inputs, 0o700)
	t.Cleanup(func() { os.RemoveAll(inputs) })
	os.WriteFile(filepath.Join(inputs, "in.env"), []byte("IMPORTED="+canary+"-imported\n"), 0o600)
	os.WriteFile(filepath.Join(inputs, "in.enc.json"), []byte(mustRun("", "export", "--format", "sops", "--sops-type", "json")), 0o600)
	os.WriteFile(filepath.Join(proj, "src", "clean.txt"), []byte("nothing here\n"), 0o644)
	os.WriteFile(filepath.Join(w, "app.tmpl"), []byte("canary: {{ hush \"CANARY\" | yaml }}\n"), 0o644)
	os.WriteFile(filepath.Join(w, "editor.sh"), []byte("#!/bin/sh\nsed -i 's/^ROT=.*/ROT=edited-value-123/' \"$1\"\n"), 0o755)

	for _, c := range contractCases(w) {
		t.Run(c.name, func(t *testing.T) {
			trace := filepath.Join(w, "trace-"+strings.ReplaceAll(c.name, " ", "_"))
			args := append([]string{"-f", "-y", "-s", "1048576", "-e", "trace=execve,openat,write,pwrite64,rename,renameat,renameat2,fsync,fdatasync", "-o", trace, filepath.Join(bin, "hush")}, c.args...)
			cmd := exec.Command("strace", args...)
			cmd.Dir, cmd.Env = proj, append(append([]string{}, env...), c.env...)
			cmd.Stdin = strings.NewReader(c.stdin)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			runErr := cmd.Run()
			if holdsCanary(errb.String()) {
				t.Errorf("stderr holds the canary:\n%s", errb.String())
			}
			// doctor and leak report findings by their exit code; diff says
			// "they differ" with 1.
			if runErr != nil && c.name != "doctor" && c.name != "leak" && c.name != "diff sops" {
				t.Fatalf("hush %v: %v\n%s", c.args, runErr, errb.String())
			}
			checkTrace(t, trace, c.plaintextOut)
			dirs := []string{home, tmp, "/dev/shm", proj}
			if c.plaintextOut != "" {
				// and no temporary file left beside the output
				dirs = append(dirs, filepath.Dir(c.plaintextOut))
				if b, err := os.ReadFile(c.plaintextOut); err != nil || !holdsCanary(string(b)) {
					t.Errorf("%s does not hold the output (%v)", c.plaintextOut, err)
				}
			}
			checkFiles(t, dirs, c.plaintextOut)
			if c.plaintextOut != "" {
				os.Remove(c.plaintextOut)
			}
		})
	}
	// The vault cases moved values both ways (not vacuously clean).
	if got := mustRun("", "get", "PULLED"); got != canary+"-pulled" {
		t.Errorf("vault pull did not bring PULLED: %q", got)
	}
	if kv, err := vc.KVv2(mount).Get(context.Background(), "contracts/dev"); err != nil || kv.Data["CANARY"] != canary {
		t.Errorf("vault push did not send CANARY (%v)", err)
	}
	// /tmp as a whole, once: hush itself never writes there.
	checkFiles(t, []string{os.TempDir()}, "")
}

var (
	traceWrite  = regexp.MustCompile(`^\d+ +(?:write|pwrite64)\((\d+)<([^>]*)>, "(.*)", \d+`)
	traceExec   = regexp.MustCompile(`^\d+ +execve\("([^"]*)", \[(.*)\], `)
	traceRename = regexp.MustCompile(`^\d+ +rename(?:at2?)?\((?:[^,"]*, )?"([^"]+)", (?:[^,"]*, )?"([^"]+)"`)
	// A call another thread interrupts is logged "<unfinished ...>" and
	// completed later: match the start of the call only.
	traceFsync = regexp.MustCompile(`^\d+ +f(?:data)?sync\(\d+<([^>]*)>`)
)

// checkTrace enforces, on an strace -f -y log: no execve carries the
// canary in its argv; no write puts it into a regular file (pipes,
// terminals, memfds and the one requested plaintext output aside); every
// rename of a hush temp file follows an fsync of that file and is followed
// by an fsync of its directory.
func checkTrace(t *testing.T, path, allowed string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	synced := map[string]bool{}
	var pendingDirs []string
	renames := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := traceExec.FindStringSubmatch(line); m != nil && holdsCanary(m[2]) {
			t.Errorf("a secret in argv: %.200s", line)
		}
		if m := traceWrite.FindStringSubmatch(line); m != nil && holdsCanary(m[3]) {
			target := m[2]
			if !(strings.HasPrefix(target, "pipe:") || strings.HasPrefix(target, "/dev/pts") || strings.HasPrefix(target, "/memfd:") ||
				strings.HasPrefix(target, "socket:") || target == "/dev/null" || target == allowed ||
				// the requested output's temporary file, linked into place
				// (store.CreateFileAtomic); checkFiles proves it is gone.
				allowed != "" && strings.HasPrefix(target, filepath.Join(filepath.Dir(allowed), "."+filepath.Base(allowed)+".tmp-")) ||
				// hush edit's buffer: tmpfs, 0600, removed on every exit
				// path (DESIGN.md contract 1); checkFiles proves removal.
				strings.HasPrefix(target, "/dev/shm/hush-edit-")) {
				t.Errorf("the canary was written to %s", target)
			}
		}
		if m := traceFsync.FindStringSubmatch(line); m != nil {
			synced[m[1]] = true
			for i, d := range pendingDirs {
				if d == m[1] {
					pendingDirs = append(pendingDirs[:i], pendingDirs[i+1:]...)
					break
				}
			}
		}
		// Store files (team and personal stores, hush.yaml, pins) must be
		// durable; the audit anchor is replaced without flushes unless
		// HUSH_AUDIT_SYNC=1 (README, security model).
		if m := traceRename.FindStringSubmatch(line); m != nil && strings.Contains(filepath.Base(m[1]), ".tmp-") &&
			(strings.Contains(m[2], "/.hush/") || strings.Contains(m[2], "/hush/projects/")) {
			renames++
			if !synced[m[1]] {
				t.Errorf("%s renamed over %s without an fsync", m[1], m[2])
			}
			pendingDirs = append(pendingDirs, filepath.Dir(m[2]))
		}
	}
	if len(pendingDirs) > 0 {
		t.Errorf("directories not fsynced after a rename: %v", pendingDirs)
	}
}

// checkFiles searches directories for the canary in any regular file.
func checkFiles(t *testing.T, dirs []string, allowed string) {
	t.Helper()
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() || p == allowed || strings.Contains(p, "trace-") {
				return nil
			}
			if info, err := e.Info(); err != nil || info.Size() > 16<<20 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err == nil && holdsCanary(string(b)) {
				t.Errorf("the canary is in %s", p)
			}
			return nil
		})
	}
}

// The encoded forms catch the canary base64-encoded at any offset, as
// hush-sops' protocol carries values.
func TestCanaryForms(t *testing.T) {
	for pre := 0; pre < 4; pre++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pre) + canary + "tail"))
		if !holdsCanary(enc) {
			t.Errorf("base64 of the canary after %d bytes not recognised: %s", pre, enc)
		}
	}
	if holdsCanary(base64.StdEncoding.EncodeToString([]byte("CANARY" + strings.Repeat("0", 20)))) {
		t.Error("a different value was taken for the canary")
	}
}
