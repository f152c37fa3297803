package scan

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseAllowlist(t *testing.T) {
	t.Parallel()
	a, err := ParseAllowlist([]byte("paths:\n  - testdata/**\n  - \"*.lock\"\nrules: [generic-secret, known-value]\nfingerprints:\n  - ABCDEF\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Paths, ",") != "testdata/**,*.lock" || len(a.Rules) != 2 || a.Fingerprints[0] != "ABCDEF" {
		t.Errorf("got %+v", a)
	}
	if a, err := ParseAllowlist(nil); err != nil || len(a.Paths)+len(a.Rules)+len(a.Fingerprints) != 0 {
		t.Errorf("empty: %+v, %v", a, err)
	}
	for name, bad := range map[string]string{
		"unknown field": "path: [x]\n",
		"unknown rule":  "rules: [no-such-rule]\n",
		"bad glob":      "paths: ['[abc']\n",
		"not yaml":      "paths: [\n",
	} {
		if _, err := ParseAllowlist([]byte(bad)); !errors.Is(err, ErrAllowlist) {
			t.Errorf("%s: got %v, want ErrAllowlist", name, err)
		}
	}
}

func TestGlobs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		glob, path string
		want       bool
	}{
		{"testdata/**", "testdata/a/b.txt", true},
		{"testdata/**", "pkg/testdata/b.txt", true},
		{"testdata/**", "mytestdata/b.txt", false},
		{"*.lock", "a/b/yarn.lock", true},
		{"*.lock", "a/lock", false},
		{"docs/", "docs/x/y.md", true},
		{"**/fixtures/*.json", "a/b/fixtures/x.json", true},
		{"**/fixtures/*.json", "fixtures/x.json", true},
		{"**/fixtures/*.json", "fixtures/sub/x.json", false},
		{"file?.txt", "file1.txt", true},
		{"[!a]*.go", "b.go", true},
		{"[!a]*.go", "a.go", false},
	}
	for _, c := range cases {
		re, err := globRegexp(c.glob, `(?:^|/)`)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(c.path); got != c.want {
			t.Errorf("%s ~ %s = %v, want %v", c.glob, c.path, got, c.want)
		}
	}
}

// TestAllowlistApplied: paths, rules, fingerprints and the baseline each
// drop what they name and nothing else.
func TestAllowlistApplied(t *testing.T) {
	t.Parallel()
	gh := fakeToken(t, "github-pat", 50)
	npm := fakeToken(t, "npm-access-token", 51)
	text := "a " + gh + "\nb " + npm + "\npassword = \"Zr8!kLm2#Qp\"\n"
	scan := func(cfg Config, file string) []string {
		fs, err := newTestScanner(t, cfg).ScanReader(context.Background(), file, strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return rules(fs)
	}
	all, err := newTestScanner(t, Config{}).ScanReader(context.Background(), "x", strings.NewReader(text))
	if err != nil || len(all) != 3 {
		t.Fatalf("got %v, %v", all, err)
	}
	if got := scan(Config{Allow: Allowlist{Paths: []string{"fixtures/"}}}, "a/fixtures/x.txt"); len(got) != 0 {
		t.Errorf("path allowed, got %v", got)
	}
	if got := scan(Config{Allow: Allowlist{Rules: []string{"generic-secret"}}}, "x"); strings.Join(got, ",") != "github-pat,npm-access-token" {
		t.Errorf("rule allowed, got %v", got)
	}
	if got := scan(Config{Allow: Allowlist{Fingerprints: []string{strings.ToUpper(all[0].Fingerprint)}}}, "x"); strings.Join(got, ",") != "npm-access-token,generic-secret" {
		t.Errorf("fingerprint allowed, got %v", got)
	}
	if got := scan(Config{Baseline: []string{all[1].Fingerprint, all[2].Fingerprint}}, "x"); strings.Join(got, ",") != "github-pat" {
		t.Errorf("baseline, got %v", got)
	}
	// Fingerprints are per location: the baseline of file x does not
	// accept the same secrets pasted into file y; a secret fingerprint in
	// the allowlist accepts its secret in every file.
	if got := scan(Config{Baseline: []string{all[1].Fingerprint, all[2].Fingerprint}}, "y"); len(got) != 3 {
		t.Errorf("baseline of x applied to y, got %v", got)
	}
	if got := scan(Config{Allow: Allowlist{Fingerprints: []string{all[0].SecretFingerprint}}}, "y"); strings.Join(got, ",") != "npm-access-token,generic-secret" {
		t.Errorf("secret fingerprint allowed in y, got %v", got)
	}
	if all[0].Fingerprint == all[0].SecretFingerprint || all[0].SecretFingerprint == "" {
		t.Errorf("fingerprints %q and %q", all[0].Fingerprint, all[0].SecretFingerprint)
	}
}
