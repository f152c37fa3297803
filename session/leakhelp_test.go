package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// testLeak is a project made for the tests of this branch's workflows
// (leak, edit, member, rotate, export): a real project in a temp dir, real
// age identities, the XDG dirs under the test's HOME.
type testLeak struct {
	t    *testing.T
	root string
	home string
	id   *crypt.Identity
	env  map[string]string
	now  time.Time
}

// newTestLeak makes a project with envs (the first the default), each
// readable by one fresh identity, and returns it with a session of cmd.
func newTestLeak(t *testing.T, envs ...string) (*testLeak, *Session) {
	t.Helper()
	if len(envs) == 0 {
		envs = []string{"dev"}
	}
	base := t.TempDir()
	tl := &testLeak{t: t, root: filepath.Join(base, "proj"), home: filepath.Join(base, "home"),
		now: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	for _, d := range []string{tl.root, tl.home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tl.id = id
	tl.env = map[string]string{
		"HOME":            tl.home,
		"XDG_CONFIG_HOME": filepath.Join(tl.home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(tl.home, ".local/share"),
		"XDG_STATE_HOME":  filepath.Join(tl.home, ".local/state"),
		"HUSH_KEYRING":    "off",
		"HUSH_IDENTITY":   id.SecretText(),
	}
	s := tl.session("init", "")
	pid, err := store.NewProjectID()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &store.Config{Version: store.ConfigVersion, ID: pid, Project: "proj", DefaultEnv: envs[0], Environments: map[string]*store.EnvConfig{}}
	p, err := store.Create(tl.root, s.DataDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterInit(tl.now); err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		if err := p.CreateEnv(e, []store.Recipient{{Key: id.Public, Label: "me"}}, id); err != nil {
			t.Fatal(err)
		}
	}
	return tl, tl.session("test", "")
}

// session is a new session of command in the project (as a new hush
// process would have), on env ("" for the default).
func (tl *testLeak) session(command, env string) *Session {
	return New(Options{Dir: tl.root, EnvFlag: env, Command: command, Now: func() time.Time { return tl.now },
		Getenv: func(k string) string { return tl.env[k] }})
}

// set gives key of env the value v through the session, failing the test
// on error.
func (tl *testLeak) set(env, key, v string) {
	tl.t.Helper()
	if _, err := tl.session("set", env).Set(env, store.Team, key, store.Value(v), Meta{}); err != nil {
		tl.t.Fatalf("set %s: %v", key, err)
	}
}

// doc reads a team store with the test's identity (no audit line).
func (tl *testLeak) doc(env string, id *crypt.Identity) (*store.Document, error) {
	p, err := store.Open(tl.root, filepath.Join(tl.env["XDG_DATA_HOME"], "hush"))
	if err != nil {
		return nil, err
	}
	return p.Read(env, store.Team, id)
}

func (tl *testLeak) mustDoc(env string) *store.Document {
	tl.t.Helper()
	d, err := tl.doc(env, tl.id)
	if err != nil {
		tl.t.Fatal(err)
	}
	return d
}

// lines are the audit log's entries.
func (tl *testLeak) lines() []audit.Entry {
	tl.t.Helper()
	f, err := os.Open(filepath.Join(tl.env["XDG_STATE_HOME"], "hush", "audit.jsonl"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		tl.t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Entry
	if err := audit.Scan(f, func(_ int, e audit.Entry) error { out = append(out, e); return nil }); err != nil {
		tl.t.Fatal(err)
	}
	return out
}

// since are the audit lines after the first n, as "action path ok|failed".
func (tl *testLeak) since(n int) []string {
	tl.t.Helper()
	var out []string
	for _, e := range tl.lines()[n:] {
		ok := "ok"
		if !e.Success {
			ok = "failed"
		}
		out = append(out, e.Action+" "+e.Path+" "+ok)
	}
	return out
}

// breakAudit makes the audit log unwritable, even for root: the log's
// path is a directory.
func (tl *testLeak) breakAudit() {
	tl.t.Helper()
	dir := filepath.Join(tl.env["XDG_STATE_HOME"], "hush")
	os.Remove(filepath.Join(dir, "audit.jsonl"))
	if err := os.MkdirAll(filepath.Join(dir, "audit.jsonl"), 0o700); err != nil {
		tl.t.Fatal(err)
	}
}

func (tl *testLeak) fileBytes(rel string) []byte {
	tl.t.Helper()
	b, err := os.ReadFile(filepath.Join(tl.root, rel))
	if err != nil {
		tl.t.Fatal(err)
	}
	return b
}

func leakEqual(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
