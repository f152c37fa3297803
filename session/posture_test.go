package session

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
)

func entry(name, typ, value string) store.Entry {
	return store.Entry{Name: name, Secret: &store.Secret{Value: store.Value(value), Type: typ}}
}

func TestKeyedSum(t *testing.T) {
	t.Parallel()
	k1, k2 := []byte("key one, 32 bytes long, or so..."), []byte("key two, 32 bytes long, or so...")
	v1, v2 := "hunter2-hunter2", string([]byte("hunter2-hunter2"))
	if keyedSum(k1, v1) != keyedSum(k1, v2) {
		t.Fatal("equal values under one key give different sums")
	}
	if keyedSum(k1, "hunter2-hunter2") == keyedSum(k1, "hunter2-hunter3") {
		t.Fatal("different values give equal sums")
	}
	// Under another key the sum differs: a sum from one run cannot be
	// tested against guesses in another.
	if keyedSum(k1, "hunter2-hunter2") == keyedSum(k2, "hunter2-hunter2") {
		t.Fatal("the sum does not depend on the key")
	}
}

func TestSameValues(t *testing.T) {
	t.Parallel()
	k := []byte("k")
	refs := []valueRef{
		{Env: "prod", Key: "DB_PASSWORD", Sum: keyedSum(k, "a-long-password")},
		{Env: "dev", Key: "DB_PASSWORD", Sum: keyedSum(k, "a-long-password")},
		{Env: "dev", Key: "API_KEY", Sum: keyedSum(k, "another-value-1")},
		{Env: "dev", Key: "OLD_API_KEY", Sum: keyedSum(k, "another-value-1")},
		{Env: "prod", Key: "API_KEY", Sum: keyedSum(k, "unique-value-99")},
	}
	got := sameValues(refs)
	if len(got) != 2 {
		t.Fatalf("got %d groups, want 2: %+v", len(got), got)
	}
	names := func(g []valueRef) string {
		var s []string
		for _, r := range g {
			s = append(s, r.Env+"/"+r.Key)
		}
		return strings.Join(s, ",")
	}
	if n := names(got[0]); n != "dev/API_KEY,dev/OLD_API_KEY" {
		t.Errorf("group 0 = %s", n)
	}
	if n := names(got[1]); n != "dev/DB_PASSWORD,prod/DB_PASSWORD" {
		t.Errorf("group 1 = %s", n)
	}
}

func TestInShared(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    store.Entry
		want bool
	}{
		{entry("DB_PASSWORD", "", "c0rrect-h0rse"), true},
		{entry("DB_HOST", "config", "db.internal.example.com"), false}, // typed config
		{entry("DB_HOST", "", "db.internal.example.com"), false},       // evidently config
		{entry("LOG_LEVEL", "", "debug-verbose"), true},                // not a known word: a secret
		{entry("PIN", "", "1234"), false},                              // short
		{entry("EMPTY_TOKEN", "", ""), false},
	} {
		if got := inShared(tc.e.Name, tc.e.Secret); got != tc.want {
			t.Errorf("inShared(%s=%q, type %q) = %v, want %v", tc.e.Name, tc.e.Secret.Value.Reveal(), tc.e.Secret.Type, got, tc.want)
		}
	}
}

// The shared section finds a value in two environments and under two keys,
// skips config and short values, says which environments it could not
// compare, and holds no value or sum.
func TestPostureShared(t *testing.T) {
	t.Parallel()
	const pw, tok = "c0rrect-h0rse-battery", "tok-9f8e7d6c5b4a3210"
	envs := []postureEnv{
		{name: "dev", entries: []store.Entry{entry("DB_PASSWORD", "", pw), entry("DB_HOST", "config", "db.example.com"),
			entry("PIN", "", "1234"), entry("A_TOKEN", "", tok), entry("B_TOKEN", "", tok)}},
		{name: "prod", entries: []store.Entry{entry("DB_PASSWORD", "", pw), entry("DB_HOST", "config", "db.example.com"), entry("PIN", "", "1234")}},
		{name: "staging", err: errors.New("no identity can decrypt staging\nmore")},
	}
	sec, err := postureShared(envs)
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Findings) != 2 {
		t.Fatalf("findings = %+v", sec.Findings)
	}
	if f := sec.Findings[0]; f.Severity != SevMedium || f.Where != "dev/A_TOKEN, dev/B_TOKEN" || f.What != "the same value under 2 keys of dev" {
		t.Errorf("finding 0 = %+v", f)
	}
	if f := sec.Findings[1]; f.Severity != SevHigh || f.Where != "dev/DB_PASSWORD, prod/DB_PASSWORD" || f.What != "the same value in 2 environments (dev, prod)" {
		t.Errorf("finding 1 = %+v", f)
	}
	if len(sec.Notes) != 1 || sec.Notes[0] != "staging not compared: no identity can decrypt staging" {
		t.Errorf("notes = %q", sec.Notes)
	}
	b, _ := json.Marshal(sec)
	for _, v := range []string{pw, tok, pw[:4], tok[:4]} {
		if strings.Contains(string(b), v) {
			t.Errorf("the section holds %q: %s", v, b)
		}
	}
}

func TestPostureSeverityAndCI(t *testing.T) {
	t.Parallel()
	if PostureSeverity("high") <= PostureSeverity("medium") || PostureSeverity("critical") <= PostureSeverity("high") || PostureSeverity("nope") != -1 {
		t.Error("severity order")
	}
	for label, want := range map[string]bool{"ci": true, "github-actions": true, "ci-prod": true, "deploy-ci": true, "alice": false, "circe": false} {
		if isCIKey(label) != want {
			t.Errorf("isCIKey(%q) = %v", label, !want)
		}
	}
}
