package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/scan/internal/corpusgen"
)

// fixtureCases splits a fixture file into its "--- pos" and "--- neg" cases.
func fixtureCases(t *testing.T, path string) (pos, neg []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cur *[]string
	var b strings.Builder
	flush := func() {
		if cur != nil {
			*cur = append(*cur, strings.TrimSuffix(b.String(), "\n"))
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		switch strings.TrimRight(line, "\n") {
		case "--- pos":
			flush()
			cur = &pos
		case "--- neg":
			flush()
			cur = &neg
		default:
			if cur != nil {
				b.WriteString(line)
			}
		}
	}
	flush()
	return pos, neg
}

func newTestScanner(t testing.TB, cfg Config) *Scanner {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scanString(t testing.TB, s *Scanner, text string) []Finding {
	t.Helper()
	fs, err := s.ScanReader(context.Background(), "fixture.txt", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestRuleFixtures runs every rule over its positive and negative fixtures
// in testdata/scan/rules.
func TestRuleFixtures(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	for _, r := range Rules() {
		t.Run(r.ID, func(t *testing.T) {
			pos, neg := fixtureCases(t, filepath.Join("..", "testdata", "scan", "rules", r.ID+".txt"))
			if len(pos) == 0 || len(neg) == 0 {
				t.Fatalf("want positive and negative fixtures, have %d and %d", len(pos), len(neg))
			}
			for _, c := range pos {
				fs := scanString(t, s, c)
				if !hasRule(fs, r.ID) {
					t.Errorf("not found by %s (got %v):\n%s", r.ID, fs, c)
				}
			}
			for _, c := range neg {
				if fs := scanString(t, s, c); hasRule(fs, r.ID) {
					t.Errorf("found by %s but should not be (%v):\n%s", r.ID, fs, c)
				}
			}
		})
	}
}

func hasRule(fs []Finding, id string) bool {
	for _, f := range fs {
		if f.Rule == id {
			return true
		}
	}
	return false
}

// TestRulesTable checks the tables: unique IDs, keywords, descriptions,
// and at least the 45 provider formats plus the generic rule.
func TestRulesTable(t *testing.T) {
	t.Parallel()
	rules := Rules()
	if len(rules) < 46 {
		t.Errorf("%d rules, want at least 46", len(rules))
	}
	for _, r := range rules {
		if r.Description == "" || len(r.Keywords) == 0 {
			t.Errorf("%s: missing description or keywords", r.ID)
		}
	}
	if rules[len(rules)-1].ID != "generic-secret" {
		t.Errorf("generic-secret must come last, to lose every overlap")
	}
}

// TestTokensCoverRules: the corpus generator knows every rule, so the
// benchmark's recall covers them all, and each recipe makes a secret its
// rule finds.
func TestTokensCoverRules(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
		if _, ok := corpusgen.Tokens[r.ID]; !ok {
			t.Errorf("no corpus recipe for rule %s", r.ID)
		}
	}
	for id := range corpusgen.Tokens {
		if !ids[id] {
			t.Errorf("corpus recipe for unknown rule %s", id)
		}
		for seed := range uint64(20) {
			tok := fakeToken(t, id, seed)
			text := tok
			if c := corpusgen.Tokens[id].Context; c != "" {
				text = strings.Replace(c, "%s", tok, 1)
			}
			if fs := scanString(t, s, text); !hasRule(fs, id) {
				t.Errorf("%s: recipe output not found (seed %d)", id, seed)
			}
		}
	}
}
