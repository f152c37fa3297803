package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// testRun is a project (dev, the default, and prod, both readable by
// one fresh identity) and a session in it, with its own HOME.
type testRun struct {
	t    *testing.T
	root string
	vars map[string]string
	id   *crypt.Identity
	rep  *runRecorder
}

// runRecorder is a Reporter that keeps what it was told.
type runRecorder struct{ infos, warns []string }

func (r *runRecorder) Infof(f string, a ...any) { r.infos = append(r.infos, fmt.Sprintf(f, a...)) }
func (r *runRecorder) Warnf(f string, a ...any) { r.warns = append(r.warns, fmt.Sprintf(f, a...)) }
func (r *runRecorder) Notef(string, ...any)     {}

func newTestRun(t *testing.T) *testRun {
	t.Helper()
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	root := filepath.Join(home, "proj")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": home, "HUSH_KEYRING": "off", "HUSH_IDENTITY": id.SecretText()}
	tr := &testRun{t: t, root: root, vars: vars, id: id}
	s := tr.session("")
	pid, err := store.NewProjectID()
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.Create(root, s.DataDir(), &store.Config{Version: store.ConfigVersion, ID: pid, Project: "runp", DefaultEnv: "dev", Environments: map[string]*store.EnvConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterInit(time.Now()); err != nil {
		t.Fatal(err)
	}
	me := []store.Recipient{{Key: crypt.CanonicalRecipient(id.Public), Label: "me"}}
	for _, e := range []string{"dev", "prod"} {
		if err := p.CreateEnv(e, me, id); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// session is a new session in the project, as a new command would
// start, with --env envFlag.
func (tr *testRun) session(envFlag string) *Session {
	tr.rep = &runRecorder{}
	return New(Options{Dir: tr.root, EnvFlag: envFlag, Command: "run", Getenv: func(k string) string { return tr.vars[k] },
		Version: "test", Report: tr.rep})
}

func (tr *testRun) set(env string, scope store.Scope, key, value string) {
	tr.t.Helper()
	s := tr.session(env)
	s.Command = "set"
	if _, err := s.Set(env, scope, key, store.Value(value), Meta{}); err != nil {
		tr.t.Fatal(err)
	}
}

// runAuditLog are the session's audit log, verified.
func runAuditLog(t *testing.T, s *Session) []audit.Entry {
	t.Helper()
	var got []audit.Entry
	if _, err := s.AuditLog().VerifyAll(nil, func(_ int, e audit.Entry) error { got = append(got, e); return nil }); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return got
}

// runLines are the audit lines of command run.
func runLines(t *testing.T, s *Session) []audit.Entry {
	var out []audit.Entry
	for _, e := range runAuditLog(t, s) {
		if e.Command == "run" {
			out = append(out, e)
		}
	}
	return out
}

func planEnv(pl *RunPlan) map[string]string {
	m := map[string]string{}
	for _, kv := range pl.Environ {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func mustPrepareRun(t *testing.T, s *Session, o RunOptions) *RunPlan {
	t.Helper()
	pl, err := s.PrepareRun(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pl.Close)
	return pl
}

// The personal value wins over the team's; the parent's environment passes
// through unless a secret overrides it; the run is one audit line naming
// every injected key, written before the child would start.
func TestPrepareRunPersonalOverTeam(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "DB_PASSWORD", "team-pw")
	tr.set("dev", store.Personal, "DB_PASSWORD", "my-pw")
	tr.set("dev", store.Team, "API_KEY", "team-key")
	tr.set("prod", store.Team, "DB_PASSWORD", "prod-pw")
	s := tr.session("")
	pl := mustPrepareRun(t, s, RunOptions{Parent: []string{"OTHER=kept", "API_KEY=from-parent"}})
	env := planEnv(pl)
	if env["DB_PASSWORD"] != "my-pw" || env["API_KEY"] != "team-key" || env["OTHER"] != "kept" {
		t.Errorf("environment: %v", env)
	}
	if pl.Env != "dev" || pl.Stay {
		t.Errorf("plan: env %q stay %v", pl.Env, pl.Stay)
	}
	lines := runLines(t, s)
	if len(lines) != 1 {
		t.Fatalf("run lines: %+v", lines)
	}
	if l := lines[0]; l.Action != audit.SecretRead || l.Path != "runp/dev" || !slices.Equal(l.Keys, []string{"API_KEY", "DB_PASSWORD"}) || !l.Success {
		t.Errorf("run line: %+v", l)
	}

	// --no-override keeps the parent's; the key not injected is not in
	// the line.
	s = tr.session("")
	pl = mustPrepareRun(t, s, RunOptions{Parent: []string{"API_KEY=from-parent"}, NoOverride: true})
	if planEnv(pl)["API_KEY"] != "from-parent" || !slices.Equal(pl.Kept, []string{"API_KEY"}) {
		t.Errorf("--no-override: %v kept %v", planEnv(pl)["API_KEY"], pl.Kept)
	}
	if l := runLines(t, s); !slices.Equal(l[len(l)-1].Keys, []string{"DB_PASSWORD"}) {
		t.Errorf("--no-override line: %+v", l[len(l)-1])
	}

	// --env prod reads prod only.
	pl = mustPrepareRun(t, tr.session("prod"), RunOptions{})
	if env := planEnv(pl); env["DB_PASSWORD"] != "prod-pw" || env["API_KEY"] != "" {
		t.Errorf("--env prod: %v", env)
	}
}

// hush's identity never reaches the child, and the loader policy of
// inject/policy.go holds for store values and --env-file variables alike,
// until allow_inject (acknowledged) names a variable.
func TestPrepareRunLoaderPolicy(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "LD_PRELOAD", "/nonexistent/lib.so")
	tr.set("dev", store.Team, "node_options", "--require /tmp/x.js")
	tr.set("dev", store.Team, "SAFE", "ok-value")
	envFile := filepath.Join(tr.root, "app.env")
	if err := os.WriteFile(envFile, []byte("PATH=/evil\nBASH_ENV=/tmp/x\nFROM_FILE=yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := tr.session("dev")
	pl := mustPrepareRun(t, s, RunOptions{Parent: []string{"PATH=/usr/bin", "HUSH_IDENTITY=" + tr.id.SecretText(), "hush_identity_file=/x"}, EnvFiles: []string{envFile}})
	env := planEnv(pl)
	for _, k := range []string{"LD_PRELOAD", "node_options", "BASH_ENV", "HUSH_IDENTITY", "hush_identity_file"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reached the child", k)
		}
	}
	if env["PATH"] != "/usr/bin" || env["SAFE"] != "ok-value" || env["FROM_FILE"] != "yes" {
		t.Errorf("environment: %v", env)
	}
	for _, d := range []string{"LD_PRELOAD", "node_options", "PATH", "BASH_ENV"} {
		if !slices.Contains(pl.Dropped, d) {
			t.Errorf("%s not reported dropped: %v", d, pl.Dropped)
		}
	}
	if l := runLines(t, s); len(l) != 1 || slices.Contains(l[0].Keys, "LD_PRELOAD") {
		t.Errorf("a dropped key is audited as read: %+v", l)
	}

	// allow_inject, not yet acknowledged, refuses the run.
	cfgPath := filepath.Join(tr.root, store.DirName, "hush.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, append(cfg, "allow_inject:\n  - LD_PRELOAD\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	s = tr.session("")
	if _, err := s.PrepareRun(context.Background(), RunOptions{}); err == nil || !strings.Contains(err.Error(), "allow_inject") {
		t.Fatalf("unacknowledged allow_inject: %v", err)
	}
	if l := runLines(t, s); len(l) != 1 {
		t.Errorf("a refused run was audited as a read: %d run lines", len(l))
	}
	p, err := s.Project()
	if err != nil {
		t.Fatal(err)
	}
	shown, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Acknowledge(shown, nil); err != nil {
		t.Fatal(err)
	}
	pl = mustPrepareRun(t, tr.session(""), RunOptions{})
	if planEnv(pl)["LD_PRELOAD"] != "/nonexistent/lib.so" || slices.Contains(pl.Dropped, "LD_PRELOAD") {
		t.Errorf("allow_inject LD_PRELOAD: %v dropped %v", planEnv(pl)["LD_PRELOAD"], pl.Dropped)
	}
}

// With --env-file and no --env, the file is the environment: no store is
// read, and no run line names one.
func TestPrepareRunEnvFileOnly(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "DB_PASSWORD", "team-pw")
	envFile := filepath.Join(tr.root, "app.env")
	if err := os.WriteFile(envFile, []byte("FROM_FILE=yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := tr.session("")
	pl := mustPrepareRun(t, s, RunOptions{EnvFiles: []string{envFile}})
	env := planEnv(pl)
	if env["FROM_FILE"] != "yes" || env["DB_PASSWORD"] != "" || pl.Env != "" {
		t.Errorf("--env-file only: env %q, %v", pl.Env, env)
	}
	if len(tr.rep.infos) != 1 || !strings.Contains(tr.rep.infos[0], "injecting the file's variables only") {
		t.Errorf("infos: %q", tr.rep.infos)
	}
	if l := runLines(t, s); len(l) != 0 {
		t.Errorf("run lines for a file without references: %+v", l)
	}
	if s.Known() != nil {
		t.Error("the identity was looked up for a file without references")
	}

	// --file needs the store: it joins.
	pl = mustPrepareRun(t, tr.session(""), RunOptions{EnvFiles: []string{envFile}, Files: []string{"PWFILE=DB_PASSWORD"}})
	b, err := os.ReadFile(planEnv(pl)["PWFILE"])
	if err != nil || string(b) != "team-pw" || pl.Env != "dev" {
		t.Errorf("--file with --env-file: %q %v (env %q)", b, err, pl.Env)
	}
	// Closing the plan removes the file.
	path := planEnv(pl)["PWFILE"]
	pl.Close()
	if _, err := os.Stat(path); err == nil && !strings.HasPrefix(path, "/dev/fd/") && !strings.HasPrefix(path, "/proc/") {
		t.Errorf("--file %s left behind", path)
	}

	// Outside any project a file without references needs nothing.
	s = New(Options{Dir: t.TempDir(), Command: "run", Getenv: func(k string) string {
		if k == "HOME" {
			return tr.vars["HOME"]
		}
		return ""
	}})
	pl = mustPrepareRun(t, s, RunOptions{EnvFiles: []string{envFile}})
	if planEnv(pl)["FROM_FILE"] != "yes" {
		t.Errorf("outside a project: %v", planEnv(pl))
	}
}

// hush://ENV/KEY references in hush's environment or an --env-file are
// resolved, personal over team, each a line of its own naming its
// environment; a store value that looks like one is passed as written.
func TestPrepareRunRefsAuditedAsTheirOwnLines(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "LOCAL", "dev-value")
	tr.set("dev", store.Team, "LITERAL", "hush://prod/DB_PASSWORD")
	tr.set("prod", store.Team, "DB_PASSWORD", "prod-pw")
	tr.set("prod", store.Personal, "API_KEY", "my-prod-key")
	envFile := filepath.Join(tr.root, "app.env")
	if err := os.WriteFile(envFile, []byte("API=hush://prod/API_KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := tr.session("dev")
	pl := mustPrepareRun(t, s, RunOptions{Parent: []string{"DB=hush://prod/DB_PASSWORD"}, EnvFiles: []string{envFile}})
	env := planEnv(pl)
	if env["DB"] != "prod-pw" || env["API"] != "my-prod-key" || env["LITERAL"] != "hush://prod/DB_PASSWORD" || env["LOCAL"] != "dev-value" {
		t.Errorf("environment: %v", env)
	}
	if !slices.Equal(pl.Literal, []string{"LITERAL"}) {
		t.Errorf("literal: %v", pl.Literal)
	}
	var paths []string
	for _, l := range runLines(t, s) {
		paths = append(paths, l.Path)
		if l.Path != "runp/dev" && len(l.Keys) != 0 {
			t.Errorf("a reference's line names keys: %+v", l)
		}
	}
	slices.Sort(paths)
	if want := []string{"runp/dev", "runp/prod/API_KEY", "runp/prod/DB_PASSWORD"}; !slices.Equal(paths, want) {
		t.Errorf("run lines %q, want %q", paths, want)
	}

	// A reference to a key that is not there fails the run, audited
	// nowhere as a read.
	s = tr.session("dev")
	_, err := s.PrepareRun(context.Background(), RunOptions{Parent: []string{"X=hush://prod/NOPE"}})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "hush://prod/NOPE") {
		t.Errorf("missing reference: %v", err)
	}
	if n := len(runLines(t, s)); n != 3 {
		t.Errorf("a failed run added audit lines: %d", n)
	}
}

// When the audit log cannot be written, the run is refused before
// anything is decrypted or a child could start: no plan, no file left.
func TestPrepareRunRefusedWhenAuditUnwritable(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "DB_PASSWORD", "team-pw")
	s := tr.session("")
	logPath := s.AuditLog().Path
	// The log's place is taken by a directory: nothing can append to it.
	if err := os.Remove(logPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(logPath, 0o700); err != nil {
		t.Fatal(err)
	}
	pl, err := s.PrepareRun(context.Background(), RunOptions{Files: []string{"PWFILE=DB_PASSWORD"}})
	if err == nil || pl != nil {
		t.Fatalf("PrepareRun with an unwritable log: %v, %v", pl, err)
	}
	if !strings.Contains(err.Error(), "could not be recorded") {
		t.Errorf("error: %v", err)
	}

	if _, err := os.Stat(filepath.Join(logPath, "x")); err == nil {
		t.Error("something was written")
	}
}

// --file VAR=KEY needs KEY in the environment and valid names; a bad one
// is refused before any file is made.
func TestPrepareRunFileSpecs(t *testing.T) {
	tr := newTestRun(t)
	tr.set("dev", store.Team, "KUBE", "kube-config")
	for _, spec := range []string{"NOEQUALS", "=KUBE", "V=", "lower case=KUBE"} {
		_, err := tr.session("").PrepareRun(context.Background(), RunOptions{Files: []string{spec}})
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("--file %q: %v, want a usage error", spec, err)
		}
	}
	if _, err := tr.session("").PrepareRun(context.Background(), RunOptions{Files: []string{"V=MISSING"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("--file of a missing key: %v", err)
	}
	// A --file variable is the user's: it passes the loader policy.
	pl := mustPrepareRun(t, tr.session(""), RunOptions{Files: []string{"KUBECONFIG=KUBE"}})
	if planEnv(pl)["KUBECONFIG"] == "" || slices.Contains(pl.Dropped, "KUBECONFIG") {
		t.Errorf("--file KUBECONFIG: %v", pl.Dropped)
	}
}
