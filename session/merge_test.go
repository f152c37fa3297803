package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// mergeRepo is a real git repository holding a hush project with
// environment dev, alice's (the user's) identity and XDG directories, and
// a merge driver that, as git runs it, only copies the %O %A %B files git
// hands it (and its environment) aside and reports a conflict. The test
// then runs session.GitMerge on those files, as hush git merge would.
type mergeRepo struct {
	t                   *testing.T
	dir, home, captured string
	alice, mallory      *crypt.Identity
	getenv              map[string]string
}

func newTestMergeRepo(t *testing.T) *mergeRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but git is not installed")
		}
		t.Skip("needs git")
	}
	r := &mergeRepo{t: t, dir: t.TempDir(), home: t.TempDir(), captured: t.TempDir()}
	var err error
	if r.alice, err = crypt.Generate(); err != nil {
		t.Fatal(err)
	}
	if r.mallory, err = crypt.Generate(); err != nil {
		t.Fatal(err)
	}
	r.getenv = map[string]string{
		"HOME": r.home, "XDG_CONFIG_HOME": filepath.Join(r.home, "config"), "XDG_DATA_HOME": filepath.Join(r.home, "data"),
		"XDG_STATE_HOME": filepath.Join(r.home, "state"), "HUSH_IDENTITY": r.alice.SecretText(), "HUSH_KEYRING": "off",
	}
	r.git("init", "-q", "-b", "main")
	s := r.session("init")
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := store.NewProjectID()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &store.Config{Version: store.ConfigVersion, ID: pid, Project: "app", DefaultEnv: "dev", Environments: map[string]*store.EnvConfig{}}
	p, err := store.Create(r.dir, s.DataDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterInit(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateEnv("dev", []store.Recipient{{Key: crypt.CanonicalRecipient(id.Public), Label: "alice"}}, id); err != nil {
		t.Fatal(err)
	}
	if err := WriteGitAttributes(r.dir); err != nil {
		t.Fatal(err)
	}
	// The driver does what git lets a driver do, and fails: git stops
	// with the store unmerged, as after a real conflict.
	r.git("config", "merge.hush.driver", `cp %O "$HUSH_T/O" && cp %A "$HUSH_T/A" && cp %B "$HUSH_T/B" && env > "$HUSH_T/env" && exit 1`)
	return r
}

// session is a new session for one command, as cmd makes one per run.
func (r *mergeRepo) session(command string) *Session {
	return New(Options{Dir: r.dir, Command: command, Getenv: func(k string) string { return r.getenv[k] }})
}

func (r *mergeRepo) git(args ...string) string {
	r.t.Helper()
	cmd := git.Cmd(r.t.Context(), r.dir, args...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.home, "HUSH_T="+r.captured)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// set gives keys values in dev through the session, as hush set does.
func (r *mergeRepo) set(kv ...string) {
	r.t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if _, err := r.session("set").Set("dev", store.Team, kv[i], store.Value(kv[i+1]), Meta{}); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *mergeRepo) commit(msg string) {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
}

// plant is a pushed commit's hush.yaml and store: dev's recipients set to
// labels (alice, mallory), the store re-encrypted to them and to alice
// (so that she merges it) with keys added, as an attacker with push access
// writes them, pinning nothing.
func (r *mergeRepo) plant(labels []string, kv ...string) {
	r.t.Helper()
	r.plantEnv("dev", labels, kv...)
}

// plantEnv is plant for env, which it adds to hush.yaml when it is not
// there.
func (r *mergeRepo) plantEnv(env string, labels []string, kv ...string) {
	r.t.Helper()
	cfgPath := filepath.Join(r.dir, ".hush", "hush.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		r.t.Fatal(err)
	}
	cfg, err := store.ParseConfig(b)
	if err != nil {
		r.t.Fatal(err)
	}
	var rcpts []store.Recipient
	for _, l := range labels {
		id := map[string]*crypt.Identity{"alice": r.alice, "mallory": r.mallory}[l]
		rcpts = append(rcpts, store.Recipient{Key: crypt.CanonicalRecipient(id.Public), Label: l})
	}
	if cfg.Environments[env] == nil {
		cfg.Environments[env] = &store.EnvConfig{}
	}
	cfg.Environments[env].Recipients = rcpts
	out, err := yaml.Marshal(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, out, 0o644); err != nil {
		r.t.Fatal(err)
	}
	storePath := filepath.Join(r.dir, ".hush", env+".age")
	doc, err := store.DecryptFile(storePath, env, r.alice)
	if errors.Is(err, os.ErrNotExist) {
		doc, err = store.NewDocument(env), nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		doc.SetValue(kv[i], store.Value(kv[i+1]), time.Now())
	}
	if !slices.Contains(labels, "alice") {
		rcpts = append(rcpts, store.Recipient{Key: crypt.CanonicalRecipient(r.alice.Public), Label: "alice"})
	}
	if err := store.WriteTo(storePath, doc, rcpts); err != nil {
		r.t.Fatal(err)
	}
}

// merge runs git merge of branch, which stops in conflict through the
// capturing driver, and returns what hush git merge would be called with.
func (r *mergeRepo) merge(branch string) MergeOptions { r.t.Helper(); return r.mergeEnv(branch, "dev") }

// mergeEnv is merge for the store of env.
func (r *mergeRepo) mergeEnv(branch, env string) MergeOptions {
	r.t.Helper()
	cmd := git.Cmd(r.t.Context(), r.dir, "merge", "--no-edit", branch)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.home, "HUSH_T="+r.captured)
	if out, err := cmd.CombinedOutput(); err == nil {
		r.t.Fatalf("git merge %s: the capturing driver should have stopped it\n%s", branch, out)
	}
	environ, err := os.ReadFile(filepath.Join(r.captured, "env"))
	if err != nil {
		r.t.Fatalf("the driver did not run: %v", err)
	}
	o := MergeOptions{Path: ".hush/" + env + ".age", Dir: r.dir}
	sc := bufio.NewScanner(bytes.NewReader(environ))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "GITHEAD_") {
			o.Environ = append(o.Environ, sc.Text())
		}
	}
	// Fresh copies: git hands the driver temporary files of its own.
	tmp := r.t.TempDir()
	for _, f := range []struct {
		name string
		dst  *string
	}{{"O", &o.Base}, {"A", &o.Ours}, {"B", &o.Theirs}} {
		b, err := os.ReadFile(filepath.Join(r.captured, f.name))
		if err != nil {
			r.t.Fatal(err)
		}
		*f.dst = filepath.Join(tmp, f.name)
		if err := os.WriteFile(*f.dst, b, 0o600); err != nil {
			r.t.Fatal(err)
		}
	}
	return o
}

// driver runs the merge driver on o and, as git does, puts its result in
// the work tree.
func (r *mergeRepo) driver(o MergeOptions) (*MergeReport, error) {
	r.t.Helper()
	rep, err := r.session("git merge").GitMerge(o)
	b, rerr := os.ReadFile(o.Ours)
	if rerr != nil {
		r.t.Fatal(rerr)
	}
	if werr := os.WriteFile(filepath.Join(r.dir, ".hush", "dev.age"), b, 0o644); werr != nil {
		r.t.Fatal(werr)
	}
	return rep, err
}

// values decrypts a store file with id: key → value.
func values(t *testing.T, path string, id *crypt.Identity) map[string]string {
	t.Helper()
	doc, err := store.DecryptFile(path, "dev", id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for n, s := range doc.Secrets {
		out[n] = s.Value.Reveal()
	}
	return out
}

// auditLines reads the user's audit log.
func (r *mergeRepo) auditLines() []audit.Entry {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.getenv["XDG_STATE_HOME"], "hush", "audit.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []audit.Entry
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			r.t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// breakAudit makes the audit log unwritable (a directory where the file
// goes; the tests may run as root, for whom modes do not count).
func (r *mergeRepo) breakAudit() {
	r.t.Helper()
	p := filepath.Join(r.getenv["XDG_STATE_HOME"], "hush", "audit.jsonl")
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.t.Fatal(err)
	}
	if err := os.MkdirAll(p, 0o700); err != nil {
		r.t.Fatal(err)
	}
}

// conflicted sets up base {A, SHARED, TWO}, a branch "other" changing
// SHARED and TWO and adding B, and main changing both differently and
// adding C; then merges other into main through the capturing driver.
func conflicted(t *testing.T) (*mergeRepo, MergeOptions) {
	r := newTestMergeRepo(t)
	r.set("A", "a", "SHARED", "base", "TWO", "base")
	r.commit("base")
	r.git("checkout", "-q", "-b", "other")
	r.set("B", "b", "SHARED", "theirs", "TWO", "theirs2")
	r.commit("other")
	r.git("checkout", "-q", "main")
	r.set("C", "c", "SHARED", "ours", "TWO", "ours2")
	r.commit("main2")
	return r, r.merge("other")
}

func TestGitMergeThreeWay(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	before := len(r.auditLines())
	rep, err := r.driver(o)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v; want a ConflictError (exit 6)", err)
	}
	if !strings.Contains(err.Error(), "merge conflict in dev: SHARED, TWO changed differently on both sides") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), "ours") && strings.Contains(err.Error(), "theirs2") {
		t.Errorf("a value in the error: %v", err)
	}
	if rep.Op != "merge" || rep.Secrets != 5 || !slices.Equal(rep.Conflicts, []string{"SHARED", "TWO"}) || len(rep.NotAcked) != 0 || rep.NotMe {
		t.Errorf("report = %+v", rep)
	}
	if !strings.HasSuffix(rep.Ours, ": main2") || !strings.HasSuffix(rep.Theirs, ": other") {
		t.Errorf("sides described as %q and %q", rep.Ours, rep.Theirs)
	}
	got := values(t, o.Ours, r.alice)
	want := map[string]string{"A": "a", "B": "b", "C": "c", "SHARED": "ours", "TWO": "ours2"}
	if !maps.Equal(got, want) {
		t.Errorf("merged = %v; want %v", got, want)
	}
	c, err := r.session("resolve").LiveConflicts(mustProject(t, r), "dev", r.alice)
	if err != nil {
		t.Fatal(err)
	}
	if c["SHARED"].Ours.Value != "ours" || c["SHARED"].Theirs.Value != "theirs" || c["TWO"].Theirs.Value != "theirs2" || len(c) != 2 {
		t.Errorf("saved conflicts = %v", c)
	}
	lines := r.auditLines()[before:]
	if len(lines) != 1 || lines[0].Action != audit.SecretWrite || lines[0].Path != "app/dev" || !lines[0].Success || lines[0].Command != "git merge" {
		t.Errorf("audit lines of the merge = %+v", lines)
	}
}

func TestGitMergeClean(t *testing.T) {
	t.Parallel()
	r := newTestMergeRepo(t)
	r.set("A", "a")
	r.commit("base")
	r.git("checkout", "-q", "-b", "other")
	r.set("B", "b")
	r.commit("other")
	r.git("checkout", "-q", "main")
	r.set("A", "a2")
	r.commit("main2")
	o := r.merge("other")
	rep, err := r.driver(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Secrets != 2 || len(rep.Conflicts) != 0 || rep.Ours != "" {
		t.Errorf("report = %+v", rep)
	}
	if got := values(t, o.Ours, r.alice); !maps.Equal(got, map[string]string{"A": "a2", "B": "b"}) {
		t.Errorf("merged = %v", got)
	}
	if _, err := os.Lstat(filepath.Join(r.dir, ".hush", ".dev.conflict.age")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a clean merge left a conflicts file: %v", err)
	}
}

// A pushed commit adds mallory to dev: the merge keeps the planted key
// (three-way, it is a change on one side) but is not encrypted to her.
func TestGitMergeLeavesOutUnacknowledged(t *testing.T) {
	t.Parallel()
	r := newTestMergeRepo(t)
	r.set("A", "a")
	r.commit("base")
	r.git("checkout", "-q", "-b", "other")
	r.plant([]string{"alice", "mallory"}, "PLANTED", "p")
	r.commit("add mallory")
	r.git("checkout", "-q", "main")
	r.set("C", "c")
	r.commit("main2")
	o := r.merge("other")
	rep, err := r.driver(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.NotAcked) != 1 || rep.NotAcked[0].Label != "mallory" || rep.NotMe {
		t.Errorf("report = %+v", rep)
	}
	if got := values(t, o.Ours, r.alice); !maps.Equal(got, map[string]string{"A": "a", "C": "c", "PLANTED": "p"}) {
		t.Errorf("merged = %v", got)
	}
	if _, err := store.DecryptFile(o.Ours, "dev", r.mallory); !errors.Is(err, crypt.ErrNoIdentity) {
		t.Errorf("mallory decrypting the merge: %v; want crypt.ErrNoIdentity", err)
	}
}

// A pushed commit replaces alice by mallory: the removal applies, the
// addition is not acknowledged, nobody is left: refused, nothing written.
func TestGitMergeNobodyLeft(t *testing.T) {
	t.Parallel()
	r := newTestMergeRepo(t)
	r.set("A", "a")
	r.commit("base")
	r.git("checkout", "-q", "-b", "other")
	r.plant([]string{"mallory"}, "PLANTED", "p")
	r.commit("only mallory")
	r.git("checkout", "-q", "main")
	r.set("C", "c")
	r.commit("main2")
	o := r.merge("other")
	ours, _ := os.ReadFile(o.Ours)
	before := len(r.auditLines())
	rep, err := r.session("git merge").GitMerge(o)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "leave no one you have acknowledged; ours kept, nothing merged") {
		t.Fatalf("err = %v; want the refusal, exit 6", err)
	}
	if len(rep.NotAcked) != 1 || rep.NotAcked[0].Label != "mallory" {
		t.Errorf("report = %+v", rep)
	}
	if after, _ := os.ReadFile(o.Ours); !bytes.Equal(after, ours) {
		t.Error("the refused merge changed ours")
	}
	if _, err := os.Lstat(filepath.Join(r.dir, ".hush", ".dev.conflict.age")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused merge wrote a conflicts file: %v", err)
	}
	if n := len(r.auditLines()); n != before {
		t.Errorf("the refused merge recorded %d audit lines", n-before)
	}
}

// An environment that arrived after the user's pins (both sides added it,
// neither by the user) has nobody acknowledged: even the user's own key
// on both sides is not trusted from the repository, and the merge is
// refused.
func TestGitMergeEnvironmentAfterPins(t *testing.T) {
	t.Parallel()
	r := newTestMergeRepo(t)
	r.set("A", "a")
	r.commit("base")
	r.git("checkout", "-q", "-b", "other")
	r.plantEnv("staging", []string{"alice", "mallory"}, "S", "theirs")
	r.commit("other: staging")
	r.git("checkout", "-q", "main")
	r.plantEnv("staging", []string{"alice", "mallory"}, "S", "ours")
	r.commit("main: staging")
	o := r.mergeEnv("other", "staging")
	if st, err := os.Stat(o.Base); err != nil || st.Size() != 0 {
		t.Fatalf("base %v %v; want git's empty stand-in", st, err)
	}
	ours, _ := os.ReadFile(o.Ours)
	rep, err := r.session("git merge").GitMerge(o)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "the merged recipients of staging leave no one you have acknowledged") {
		t.Fatalf("err = %v; want the refusal", err)
	}
	if len(rep.NotAcked) != 2 {
		t.Errorf("not acknowledged: %+v; want alice and mallory", rep.NotAcked)
	}
	if after, _ := os.ReadFile(o.Ours); !bytes.Equal(after, ours) {
		t.Error("the refused merge changed ours")
	}
}

// A merge whose write cannot be recorded is refused before it happens.
func TestGitMergeAuditUnwritable(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	ours, _ := os.ReadFile(o.Ours)
	r.breakAudit()
	_, err := r.session("git merge").GitMerge(o)
	if err == nil || !strings.Contains(err.Error(), "could not be recorded") || errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v; want the audit refusal", err)
	}
	if after, _ := os.ReadFile(o.Ours); !bytes.Equal(after, ours) {
		t.Error("a merge that could not be recorded changed ours")
	}
	if _, err := os.Lstat(filepath.Join(r.dir, ".hush", ".dev.conflict.age")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a merge that could not be recorded wrote a conflicts file: %v", err)
	}
}

// A failed write is one audit line too, marked failed.
func TestGitMergeWriteFailureRecorded(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	// The conflicts file cannot be written: a directory is in its way.
	if err := os.Mkdir(filepath.Join(r.dir, ".hush", ".dev.conflict.age"), 0o700); err != nil {
		t.Fatal(err)
	}
	before := len(r.auditLines())
	_, err := r.session("git merge").GitMerge(o)
	if err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v; want the write's failure, not a conflict", err)
	}
	lines := r.auditLines()[before:]
	if len(lines) != 1 || lines[0].Action != audit.SecretWrite || lines[0].Success || lines[0].Error == "" {
		t.Errorf("audit lines = %+v; want one failed write", lines)
	}
}

// Sides that do not decrypt, or that git does not know, merge nothing.
func TestGitMergeRefusesUnknownSides(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	ours, _ := os.ReadFile(o.Ours)
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stranger := filepath.Join(t.TempDir(), "stranger")
	if err := store.WriteTo(stranger, store.NewDocument("dev"), []store.Recipient{{Key: r.alice.Public, Label: "alice"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*MergeOptions)
		check func(error) bool
		msg   string
	}{
		{"empty theirs", func(o *MergeOptions) { o.Theirs = empty }, func(err error) bool { return errors.Is(err, store.ErrIntegrity) }, "their side: integrity check failed: the file is empty"},
		// An empty %O is "no base" only when git has none: this one is
		// no base git merges.
		{"empty base with a base in git", func(o *MergeOptions) { o.Base = empty }, func(err error) bool { return errors.Is(err, store.ErrConflict) }, "could not tell which commits"},
		{"theirs git does not know", func(o *MergeOptions) { o.Theirs = stranger }, func(err error) bool { return errors.Is(err, store.ErrConflict) }, "could not tell which commits git is merging; ours kept, nothing merged"},
		{"outside .hush", func(o *MergeOptions) { o.Path = "notes/dev.age" }, func(err error) bool { return errors.Is(err, store.ErrConflict) }, "not a store in a .hush/ directory; left to git"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := o
			tc.edit(&q)
			_, err := r.session("git merge").GitMerge(q)
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want %q", err, tc.msg)
			}
			if after, _ := os.ReadFile(o.Ours); !bytes.Equal(after, ours) {
				t.Error("ours changed")
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	if _, err := r.driver(o); !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	storePath := filepath.Join(r.dir, ".hush", "dev.age")

	// All or nothing: one key not in conflict resolves none.
	snap, _ := os.ReadFile(storePath)
	if _, err := r.session("resolve").Resolve([]string{"SHARED", "A"}, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("resolve SHARED A: %v; want not found", err)
	}
	if now, _ := os.ReadFile(storePath); !bytes.Equal(now, snap) {
		t.Error("a refused resolve changed the store")
	}

	// --theirs for one key; the other stays in conflict.
	before := len(r.auditLines())
	rep, err := r.session("resolve").Resolve([]string{"SHARED"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Keys, []string{"SHARED"}) || !slices.Equal(rep.Remaining, []string{"TWO"}) || rep.Store != storePath {
		t.Errorf("report = %+v", rep)
	}
	if got := values(t, storePath, r.alice); got["SHARED"] != "theirs" || got["TWO"] != "ours2" {
		t.Errorf("after resolve SHARED --theirs: %v", got)
	}
	lines := r.auditLines()[before:]
	if len(lines) != 1 || lines[0].Action != audit.SecretWrite || lines[0].Path != "app/dev/SHARED" || !lines[0].Success {
		t.Errorf("audit lines = %+v", lines)
	}
	env, names, err := r.session("resolve").Conflicts()
	if err != nil || env != "dev" || !slices.Equal(names, []string{"TWO"}) {
		t.Errorf("conflicts left: %s %v %v", env, names, err)
	}

	// --ours for the rest: the value stays, the conflicts file goes.
	rep, err = r.session("resolve").Resolve(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Keys, []string{"TWO"}) || len(rep.Remaining) != 0 {
		t.Errorf("report = %+v", rep)
	}
	if got := values(t, storePath, r.alice); got["TWO"] != "ours2" || got["SHARED"] != "theirs" {
		t.Errorf("after resolve --ours: %v", got)
	}
	if _, err := os.Lstat(filepath.Join(r.dir, ".hush", ".dev.conflict.age")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("conflicts file after the last resolve: %v", err)
	}
	if _, err := r.session("resolve").Resolve(nil, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("resolve with nothing in conflict: %v; want not found", err)
	}
}

// A key set again after the merge is not overwritten by resolve: exit 6,
// nothing resolved, not even the other keys named.
func TestResolveChangedSinceMerge(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	if _, err := r.driver(o); !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	r.set("SHARED", "by-hand")
	_, err := r.session("resolve").Resolve(nil, true)
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SHARED of dev changed since the merge") {
		t.Fatalf("err = %v; want a ConflictError naming SHARED", err)
	}
	storePath := filepath.Join(r.dir, ".hush", "dev.age")
	if got := values(t, storePath, r.alice); got["SHARED"] != "by-hand" || got["TWO"] != "ours2" {
		t.Errorf("after the refused resolve: %v", got)
	}
	if _, names, _ := r.session("resolve").Conflicts(); !slices.Equal(names, []string{"SHARED", "TWO"}) {
		t.Errorf("conflicts after the refused resolve: %v", names)
	}
	lines := r.auditLines()
	if last := lines[len(lines)-1]; last.Success || last.Path != "app/dev/TWO" {
		t.Errorf("last audit line = %+v; want the failed resolve", last)
	}
}

func TestResolveAuditUnwritable(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	if _, err := r.driver(o); !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	storePath := filepath.Join(r.dir, ".hush", "dev.age")
	snap, _ := os.ReadFile(storePath)
	r.breakAudit()
	if _, err := r.session("resolve").Resolve(nil, true); err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("err = %v; want the audit refusal", err)
	}
	if now, _ := os.ReadFile(storePath); !bytes.Equal(now, snap) {
		t.Error("a resolve that could not be recorded changed the store")
	}
}

// After git merge --abort the saved conflicts are stale: cleared.
func TestConflictsClearedWhenGitSettled(t *testing.T) {
	t.Parallel()
	r, o := conflicted(t)
	if _, err := r.driver(o); !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	r.git("merge", "--abort")
	_, names, err := r.session("resolve").Conflicts()
	if err != nil || len(names) != 0 {
		t.Fatalf("conflicts after git merge --abort: %v %v", names, err)
	}
	if _, err := os.Lstat(filepath.Join(r.dir, ".hush", ".dev.conflict.age")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("conflicts file after git merge --abort: %v", err)
	}
	if _, err := r.session("resolve").Resolve([]string{"SHARED"}, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("resolve after git merge --abort: %v; want not found", err)
	}
}

func TestGitAttributes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, ".gitattributes")
	if err := os.WriteFile(path, []byte("*.png binary"), 0o640); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := WriteGitAttributes(dir); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	if string(b) != "*.png binary\n"+GitAttributes {
		t.Errorf(".gitattributes = %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v; want 0640 kept", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left beside it: %v", ents)
	}

	// What the repository may plant there is refused, never written through.
	victim := filepath.Join(t.TempDir(), ".bashrc")
	for _, tc := range []struct {
		name  string
		plant func(path string) error
	}{
		{"symlink", func(p string) error { return os.Symlink(victim, p) }},
		{"dangling symlink", func(p string) error { return os.Symlink(victim+".none", p) }},
		{"hard link", func(p string) error { return os.Link(victim, p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(victim, []byte("export PATH\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			d := t.TempDir()
			if err := tc.plant(filepath.Join(d, ".gitattributes")); err != nil {
				t.Fatal(err)
			}
			for _, f := range []func(string) error{CheckGitAttributes, WriteGitAttributes} {
				if err := f(d); !errors.Is(err, store.ErrUnsafe) {
					t.Errorf("err = %v; want store.ErrUnsafe", err)
				}
			}
			if b, _ := os.ReadFile(victim); string(b) != "export PATH\n" {
				t.Errorf("the link's target was written: %q", b)
			}
		})
	}
}

func TestGitSetup(t *testing.T) {
	t.Parallel()
	r := newTestMergeRepo(t)
	r.git("config", "--remove-section", "merge.hush")
	if !GitDriversMissing(r.dir) {
		t.Error("drivers not missing before setup")
	}
	top, err := r.session("git setup").GitSetup()
	if err != nil {
		t.Fatal(err)
	}
	if real, _ := filepath.EvalSymlinks(r.dir); top != real && top != r.dir {
		t.Errorf("top = %q; want %q", top, r.dir)
	}
	if GitDriversMissing(r.dir) {
		t.Error("drivers missing after setup")
	}
	if got := r.git("config", "--get", "merge.hush.driver"); got != "hush git merge %O %A %B %P" {
		t.Errorf("merge.hush.driver = %q", got)
	}
}

func mustProject(t *testing.T, r *mergeRepo) *store.Project {
	t.Helper()
	p, err := r.session("resolve").Project()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
