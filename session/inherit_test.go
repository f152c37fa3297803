package session

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// TestInheritedReadsAuditTheParent: prod inheriting from dev, a value
// read through prod is a read of dev's path, hush run's line per
// environment names its own keys, a listing lists both, and a change of
// prod never writes dev.
func TestInheritedReadsAuditTheParent(t *testing.T) {
	s, _ := coreSession(t)
	for _, kv := range [][3]string{{"dev", "SHARED", "from-dev"}, {"dev", "HOST", "dev-host"}, {"prod", "HOST", "prod-host"}} {
		if _, err := s.Set(kv[0], store.Team, kv[1], store.Value(kv[2]), Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetInherits("prod", "dev"); err != nil {
		t.Fatal(err)
	}
	before := len(auditLines(t, s))
	sec, err := s.Get("prod", "SHARED", false)
	if err != nil || sec.Value.Reveal() != "from-dev" {
		t.Fatalf("Get = %v, %v", sec, err)
	}
	if sec, err := s.Get("prod", "HOST", false); err != nil || sec.Value.Reveal() != "prod-host" {
		t.Fatalf("Get(HOST) = %v, %v", sec, err)
	}
	if _, err := s.List("prod", false); err != nil {
		t.Fatal(err)
	}
	s.EnvFlag = "prod"
	pl, err := s.PrepareRun(s.Ctx(), RunOptions{Parent: []string{"PATH=/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	pl.Close()
	var got []string
	for _, e := range auditLines(t, s)[before:] {
		got = append(got, e.Action+" "+e.Path+" "+strings.Join(e.Keys, ","))
	}
	want := []string{
		audit.SecretRead + " demo/dev/SHARED ",
		audit.SecretRead + " demo/prod/HOST ",
		audit.SecretList + " demo/prod ",
		audit.SecretList + " demo/dev ",
		audit.SecretRead + " demo/prod HOST",
		audit.SecretRead + " demo/dev SHARED",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("audit lines\n got %q\nwant %q", got, want)
	}
	// A change of prod writes prod.
	p := s.Opened()
	devBefore, err := p.Read("dev", store.Team, s.Known())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set("prod", store.Team, "SHARED", store.Value("prod-own"), Meta{}); err != nil {
		t.Fatal(err)
	}
	devAfter, err := p.Read("dev", store.Team, s.Known())
	if err != nil || devAfter.Secrets["SHARED"].Value.Reveal() != "from-dev" || !devAfter.Secrets["SHARED"].Updated.Equal(devBefore.Secrets["SHARED"].Updated) {
		t.Fatalf("dev after a write of prod: %v, %v", devAfter.Secrets["SHARED"], err)
	}
	if err := s.Remove("prod", store.Team, []string{"SHARED"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("prod", store.Team, []string{"SHARED"}); err == nil || !strings.Contains(err.Error(), "not found in prod") {
		t.Fatalf("second Remove = %v", err)
	}
	if sec, err := s.Get("prod", "SHARED", false); err != nil || sec.Value.Reveal() != "from-dev" {
		t.Fatalf("after rm, Get = %v, %v", sec, err)
	}
}
