package rotate

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// TestJournalSealed: a journal on disk holds no value in plaintext
// (DESIGN.md contract 1), opens with the identity that wrote it, and only
// with it; its open fields are what status shows.
func TestJournalSealed(t *testing.T) {
	id, _ := crypt.Generate()
	other, _ := crypt.Generate()
	js := JournalsIn(t.TempDir())
	set, err := ParseSettings("API_KEY", map[string]any{"provider": "command", "grace": "1h"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	j, err := NewJournal("dev", "API_KEY", set, `{"provider":"command"}`, "old-value-in-plain", now)
	if err != nil {
		t.Fatal(err)
	}
	j.SetResult(&Result{Value: "new-value-in-plain", Also: map[string]store.Value{"OTHER": "also-value-in-plain"}, State: map[string]string{"role": "app_b"}})
	j.Phase = PhaseVerify
	if err := js.Save(j, id, now); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(js.path("dev", "API_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"old-value-in-plain", "new-value-in-plain", "also-value-in-plain", j.Proposed().Reveal()} {
		if strings.Contains(string(b), v) {
			t.Fatalf("the journal holds a value in plaintext: %s", b)
		}
	}
	if st, _ := os.Stat(js.path("dev", "API_KEY")); st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", st.Mode().Perm())
	}
	list, err := js.List()
	if err != nil || len(list) != 1 || list[0].Phase != PhaseVerify || list[0].State["role"] != "app_b" || list[0].Provider != "command" {
		t.Fatalf("list: %v %+v", err, list)
	}
	if err := list[0].Open(other); err == nil {
		t.Fatal("another identity opened the journal")
	}
	if err := list[0].Open(id); err != nil {
		t.Fatal(err)
	}
	if list[0].Old() != "old-value-in-plain" || list[0].Result().Value != "new-value-in-plain" || list[0].Proposed() != j.Proposed() {
		t.Fatal("the sealed part did not round-trip")
	}
	if err := js.Remove("dev", "API_KEY"); err != nil {
		t.Fatal(err)
	}
	if list, _ := js.List(); len(list) != 0 {
		t.Fatalf("after remove: %+v", list)
	}
	// A damaged journal is an integrity error, not a silent "none".
	os.WriteFile(js.path("dev", "BROKEN"), []byte("{not json"), 0o600)
	if _, err := js.Load("dev", "BROKEN"); err == nil {
		t.Fatal("a damaged journal loaded")
	}
}

func TestSettingsDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "10m": 10 * time.Minute, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour} {
		s, err := ParseSettings("K", map[string]any{"provider": "x", "grace": in})
		if err != nil || s.Grace != want {
			t.Errorf("grace %s: %v %v", in, s.Grace, err)
		}
	}
	for _, bad := range []any{"3mo", "-1s", 5, "1y"} {
		if _, err := ParseSettings("K", map[string]any{"provider": "x", "grace": bad}); err == nil {
			t.Errorf("grace %v accepted", bad)
		}
	}
	if _, err := ParseSettings("K", map[string]any{"grace": "1s"}); err == nil {
		t.Error("no provider accepted")
	}
	s, err := ParseSettings("K", map[string]any{"provider": "x", "role": "app"})
	if err != nil {
		t.Fatal(err)
	}
	var into struct {
		Role string `yaml:"role"`
	}
	if err := s.Decode(&into); err != nil || into.Role != "app" {
		t.Fatalf("decode: %v %q", err, into.Role)
	}
	var strict struct{}
	if err := s.Decode(&strict); err == nil {
		t.Fatal("an unknown field decoded")
	}
}

func TestLookupEnvFirst(t *testing.T) {
	src := map[string]map[string]any{
		"DB_URL":      {"provider": "postgres", "role": "any"},
		"prod/DB_URL": {"provider": "postgres", "role": "prod"},
		"stage/OTHER": {"provider": "command"},
	}
	if s, ok, _ := Lookup(src, "prod", "DB_URL"); !ok || s.Raw["role"] != "prod" || s.Name != "prod/DB_URL" {
		t.Errorf("prod: %+v", s)
	}
	if s, ok, _ := Lookup(src, "dev", "DB_URL"); !ok || s.Raw["role"] != "any" {
		t.Errorf("dev: %+v", s)
	}
	if _, ok, _ := Lookup(src, "dev", "OTHER"); ok {
		t.Error("stage/OTHER applies to dev")
	}
	if got := Names(src, "stage"); len(got) != 2 || got[0] != "DB_URL" || got[1] != "OTHER" {
		t.Errorf("names of stage: %v", got)
	}
}
