package session

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// coreSession is a project with environments dev and prod encrypted to a
// fresh identity, and a session on it whose XDG directories are the
// test's own.
func coreSession(t *testing.T) (*Session, *crypt.Identity) {
	t.Helper()
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	root := filepath.Join(home, "proj")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": home, "HUSH_KEYRING": "off", "HUSH_IDENTITY": id.SecretText()}
	s := New(Options{Dir: root, Command: "test", Getenv: func(k string) string { return vars[k] }})
	cfg := &store.Config{Version: store.ConfigVersion, Project: "demo", DefaultEnv: "dev", Environments: map[string]*store.EnvConfig{}}
	if cfg.ID, err = store.NewProjectID(); err != nil {
		t.Fatal(err)
	}
	p, err := store.Create(root, s.DataDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterInit(time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"dev", "prod"} {
		if err := p.CreateEnv(e, []store.Recipient{{Key: id.Public, Label: "me"}}, id); err != nil {
			t.Fatal(err)
		}
	}
	return s, id
}

// auditLines is the session's audit log as entries.
func auditLines(t *testing.T, s *Session) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	_, err := s.AuditLog().VerifyAll(nil, func(_ int, e audit.Entry) error {
		out = append(out, e)
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// breakAudit makes the audit log unwritable: its directory is a file.
func breakAudit(t *testing.T, s *Session) {
	t.Helper()
	if err := os.RemoveAll(s.StateDir()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(s.StateDir()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.StateDir(), []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestValuesAreAuditedTogether(t *testing.T) {
	s, _ := coreSession(t)
	typ := "api-key"
	ch, err := s.Set("dev", store.Team, "API_TOKEN", store.Value("v1"), Meta{Type: &typ})
	if err != nil || ch != store.Created {
		t.Fatalf("Set = %v, %v", ch, err)
	}
	sec, err := s.Get("dev", "API_TOKEN", false)
	if err != nil || sec.Value.Reveal() != "v1" || sec.Type != "api-key" {
		t.Fatalf("Get = %+v, %v", sec, err)
	}
	if _, err := s.Get("dev", "MISSING", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(MISSING) = %v, want not found", err)
	}
	if err := s.Remove("dev", store.Team, []string{"API_TOKEN", "MISSING"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Remove with a missing key = %v, want not found", err)
	}
	if _, err := s.Get("dev", "API_TOKEN", false); err != nil {
		t.Fatalf("a refused Remove removed something: %v", err)
	}
	want := []struct {
		action, path string
		ok           bool
	}{
		{audit.SecretWrite, "demo/dev/API_TOKEN", true},
		{audit.SecretRead, "demo/dev/API_TOKEN", true},
		{audit.SecretRead, "demo/dev/MISSING", false},
		{audit.SecretDelete, "demo/dev/API_TOKEN", false},
		{audit.SecretDelete, "demo/dev/MISSING", false},
		{audit.SecretRead, "demo/dev/API_TOKEN", true},
	}
	got := auditLines(t, s)
	if len(got) != len(want) {
		t.Fatalf("%d audit lines, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Path != w.path || g.Success != w.ok || g.Command != "test" {
			t.Errorf("line %d = %s %s ok=%v (%s), want %s %s ok=%v", i+1, g.Action, g.Path, g.Success, g.Command, w.action, w.path, w.ok)
		}
		if strings.Contains(g.Error, "v1") {
			t.Errorf("line %d carries the value: %q", i+1, g.Error)
		}
	}
}

// TestNoChangeWithoutItsAuditLine: with the audit log unwritable, a
// change is refused before it happens and a read returns no value.
func TestNoChangeWithoutItsAuditLine(t *testing.T) {
	s, _ := coreSession(t)
	if _, err := s.Set("dev", store.Team, "KEY", store.Value("old"), Meta{}); err != nil {
		t.Fatal(err)
	}
	breakAudit(t, s)
	if _, err := s.Set("dev", store.Team, "KEY", store.Value("new"), Meta{}); err == nil {
		t.Fatal("Set succeeded without an audit log")
	}
	if err := s.Remove("dev", store.Team, []string{"KEY"}); err == nil {
		t.Fatal("Remove succeeded without an audit log")
	}
	if _, err := s.Dismiss("dev", store.Team, []string{"KEY"}, "", "why"); err == nil {
		t.Fatal("Dismiss succeeded without an audit log")
	}
	if _, err := s.AddEnv("staging", ""); err == nil {
		t.Fatal("AddEnv succeeded without an audit log")
	}
	if sec, err := s.Get("dev", "KEY", false); err == nil || sec != nil {
		t.Fatalf("Get = %v, %v without an audit log", sec, err)
	}
	if _, err := s.List("dev", false); err == nil {
		t.Fatal("List succeeded without an audit log")
	}
	if _, err := s.Survey([]string{"dev"}, time.Now()); err == nil {
		t.Fatal("Survey succeeded without an audit log")
	}
	// Nothing changed underneath.
	p, _ := s.Project()
	id, _ := s.Identity()
	sec, err := p.ReadKey("dev", store.Team, id, "KEY")
	if err != nil || sec == nil || sec.Value.Reveal() != "old" {
		t.Fatalf("store holds %+v, %v; want the old value", sec, err)
	}
	if _, err := p.Config.Env("staging"); err == nil {
		t.Fatal("staging was created without its audit line")
	}
}

// TestSetFollowsTheRuleForANewValue: a changed value clears the exposure
// and compromise marks, the same value changes nothing, a new key gets
// the type its name suggests.
func TestSetFollowsTheRuleForANewValue(t *testing.T) {
	s, _ := coreSession(t)
	if _, err := s.Set("dev", store.Team, "DATABASE_URL", store.Value("postgres://a"), Meta{}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Project()
	id, _ := s.Identity()
	err := p.Update("dev", store.Team, id, func(d *store.Document) error {
		d.Secrets["DATABASE_URL"].Exposed = []store.Exposure{{To: "bob", Since: time.Now()}}
		d.Secrets["DATABASE_URL"].Compromised = time.Now()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := s.Set("dev", store.Team, "DATABASE_URL", store.Value("postgres://a"), Meta{}); err != nil || ch != store.Unchanged {
		t.Fatalf("same value: %v, %v", ch, err)
	}
	sec, _ := s.Get("dev", "DATABASE_URL", false)
	if len(sec.Exposed) == 0 || sec.Compromised.IsZero() {
		t.Fatal("the same value cleared the marks")
	}
	if ch, err := s.Set("dev", store.Team, "DATABASE_URL", store.Value("postgres://b"), Meta{}); err != nil || ch != store.Replaced {
		t.Fatalf("new value: %v, %v", ch, err)
	}
	sec, _ = s.Get("dev", "DATABASE_URL", false)
	if len(sec.Exposed) != 0 || !sec.Compromised.IsZero() {
		t.Fatalf("a new value kept the marks: %+v", sec)
	}
	if sec.Type == "" {
		t.Error("a new key got no inferred type")
	}
}

func TestSurveyReportsUnreadableAndListsTheRest(t *testing.T) {
	s, _ := coreSession(t)
	other, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Project()
	if err := p.CreateEnv("ops", []store.Recipient{{Key: other.Public, Label: "ops"}}, other); err != nil {
		t.Fatal(err)
	}
	sv, err := s.Survey([]string{"dev", "ops"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(sv) != 2 || sv[0].ReadErr != nil || sv[1].ReadErr == nil {
		t.Fatalf("survey = %+v", sv)
	}
	lines := auditLines(t, s)
	if len(lines) != 1 || lines[0].Action != audit.SecretList || lines[0].Path != "demo/dev" {
		t.Fatalf("audit = %+v, want one listing of dev", lines)
	}
}
