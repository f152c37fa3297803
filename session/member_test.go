package session

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// leakAddBob makes a new identity a recipient of envs (a comma list) as bob.
func leakAddBob(t *testing.T, tl *testLeak, envs string) *crypt.Identity {
	t.Helper()
	bob, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	r, err := tl.session("member add", envs).AddMembers([]string{bob.Public}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range strings.Split(envs, ",") {
		if len(r.Added[e]) != 1 || r.Added[e][0].Key != bob.Public {
			t.Fatalf("added to %s: %v", e, r.Added[e])
		}
	}
	return bob
}

// TestAddMembersReencrypts: a new recipient can read the store at once;
// adding them again adds nothing; each environment is one member.add line.
func TestAddMembersReencrypts(t *testing.T) {
	tl, _ := newTestLeak(t, "dev", "prod")
	tl.set("dev", "A", "1")
	mark := len(tl.lines())
	bob := leakAddBob(t, tl, "dev")
	d, err := tl.doc("dev", bob)
	if err != nil || d.Secrets["A"].Value.Reveal() != "1" {
		t.Fatalf("bob reads dev: %v", err)
	}
	if _, err := tl.doc("prod", bob); !errors.Is(err, crypt.ErrNoIdentity) {
		t.Errorf("bob reads prod, not asked for: %v", err)
	}
	again, err := tl.session("member add", "dev").AddMembers([]string{bob.Public}, "bob")
	if err != nil || len(again.Added["dev"]) != 0 {
		t.Errorf("second add: %+v, %v", again, err)
	}
	leakEqual(t, tl.since(mark), "member.add proj/dev ok", "member.add proj/dev ok")

	// Bad input is refused before anything changes or is recorded.
	mark = len(tl.lines())
	for _, args := range [][]string{{"age1notakey"}, {filepath.Join(tl.home, "missing")}} {
		_, err := tl.session("member add", "dev").AddMembers(args, "eve")
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("AddMembers(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := tl.session("member add", "").AddMembers([]string{bob.Public}, "bob"); err == nil {
		t.Error("member add without --env was accepted")
	}
	leakEqual(t, tl.since(mark))
}

// TestRemoveMember is contract 5: the removed member's identity can no
// longer decrypt the store, every secret they could read (configuration
// aside) is marked exposed to them, an environment they were not in is
// untouched, and each environment is one member.remove line.
func TestRemoveMember(t *testing.T) {
	tl, _ := newTestLeak(t, "dev", "prod")
	tl.set("dev", "DB_PASSWORD", "pw")
	tl.set("dev", "API_TOKEN", "tok")
	if _, err := tl.session("set", "dev").Set("dev", store.Team, "LOG_LEVEL", store.Value("debug"), Meta{Type: leakPtr(store.TypeConfig)}); err != nil {
		t.Fatal(err)
	}
	tl.set("prod", "DB_PASSWORD", "prodpw")
	bob := leakAddBob(t, tl, "dev")
	prodBefore := tl.fileBytes(".hush/prod.age")
	if _, err := tl.doc("dev", bob); err != nil {
		t.Fatalf("bob cannot read dev before the removal: %v", err)
	}
	mark := len(tl.lines())
	r, err := tl.session("member rm", "").RemoveMember("bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Removals) != 1 || r.Removals[0].Env != "dev" || r.Remaining["dev"] != 1 {
		t.Fatalf("removals: %+v remaining %v", r.Removals, r.Remaining)
	}
	if got := strings.Join(r.Removals[0].Exposed, ","); got != "API_TOKEN,DB_PASSWORD" {
		t.Errorf("exposed = %s", got)
	}
	if len(r.Acknowledged()) != 1 {
		t.Errorf("acknowledged removals: %v", r.Acknowledged())
	}
	if _, err := tl.doc("dev", bob); !errors.Is(err, crypt.ErrNoIdentity) {
		t.Errorf("bob still reads dev after the removal: %v", err)
	}
	d := tl.mustDoc("dev")
	for _, k := range []string{"DB_PASSWORD", "API_TOKEN"} {
		if x := d.Secrets[k].Exposed; len(x) != 1 || x[0].To != "bob" {
			t.Errorf("%s exposure marks: %v", k, x)
		}
	}
	if len(d.Secrets["LOG_LEVEL"].Exposed) != 0 {
		t.Error("a configuration value was marked exposed")
	}
	if !bytes.Equal(prodBefore, tl.fileBytes(".hush/prod.age")) {
		t.Error("prod, which bob could not read, was rewritten")
	}
	leakEqual(t, tl.since(mark), "member.remove proj/dev ok")

	// Removing them again finds nobody, and records the failure.
	mark = len(tl.lines())
	_, err = tl.session("member rm", "").RemoveMember("bob")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}
	leakEqual(t, tl.since(mark), "member.remove proj/dev,prod failed")

	// The last recipient cannot be removed.
	before := tl.fileBytes(".hush/dev.age")
	if _, err := tl.session("member rm", "dev").RemoveMember("me"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("removing the last recipient: %v", err)
	}
	if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
		t.Error("a refused removal rewrote the store")
	}
}

// TestMemberChangesRefusedWithoutAudit: with the audit log unwritable,
// adding, removing and CI keys change nothing: the removed member can
// still read, hush.yaml is as it was, and no CI key is handed out.
func TestMemberChangesRefusedWithoutAudit(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "A", "1")
	bob := leakAddBob(t, tl, "dev")
	storeBefore, cfgBefore := tl.fileBytes(".hush/dev.age"), tl.fileBytes(".hush/hush.yaml")
	tl.breakAudit()
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "could not be recorded") {
			t.Errorf("%s: err = %v", what, err)
		}
		if !bytes.Equal(storeBefore, tl.fileBytes(".hush/dev.age")) || !bytes.Equal(cfgBefore, tl.fileBytes(".hush/hush.yaml")) {
			t.Errorf("%s changed the project although nothing could be recorded", what)
		}
	}
	_, err := tl.session("member rm", "").RemoveMember("bob")
	check("member rm", err)
	if _, err := tl.doc("dev", bob); err != nil {
		t.Errorf("bob lost access without a record: %v", err)
	}
	eve, _ := crypt.Generate()
	_, err = tl.session("member add", "dev").AddMembers([]string{eve.Public}, "eve")
	check("member add", err)
	ci, err := tl.session("ci-key", "dev").AddCIKey("ci")
	check("ci-key", err)
	if ci != nil {
		t.Error("a CI key was handed out that is not a recipient")
	}
}

// TestAddCIKey: the new key reads the environment, and only it.
func TestAddCIKey(t *testing.T) {
	tl, _ := newTestLeak(t, "dev", "prod")
	tl.set("prod", "A", "1")
	mark := len(tl.lines())
	ci, err := tl.session("ci-key", "prod").AddCIKey("github")
	if err != nil {
		t.Fatal(err)
	}
	id, err := crypt.ParseIdentity([]byte(ci.Identity.SecretText()), "test")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := tl.doc("prod", id); err != nil || d.Secrets["A"].Value.Reveal() != "1" {
		t.Errorf("the CI key reads prod: %v", err)
	}
	if _, err := tl.doc("dev", id); err == nil {
		t.Error("the CI key reads dev")
	}
	rows, err := tl.session("member ls", "prod").Members("prod")
	if err != nil || len(rows) != 2 || rows[0].Label != "github" || rows[0].Fingerprint != crypt.Fingerprint(ci.Identity.Public) {
		t.Errorf("members of prod: %+v, %v", rows, err)
	}
	leakEqual(t, tl.since(mark), "member.add proj/prod ok")
}

func leakPtr[T any](v T) *T { return &v }
