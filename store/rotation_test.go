package store

import (
	"strings"
	"testing"
	"time"
)

func TestInferType(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"STRIPE_API_KEY": "api-key", "AWS_SECRET_ACCESS_KEY": "api-key", "DB_PASSWORD": "database",
		"DATABASE_URL": "database", "PGPASSWORD": "database", "TLS_KEY": "tls", "JWT_SECRET": "signing-key",
		"GITHUB_TOKEN": "service-token", "ADMIN_PASSWORD": "password", "FEATURE_FLAG": "", "api_key": "api-key",
	} {
		if got := inferType(name); got != want {
			t.Errorf("inferType(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	d := NewDocument("dev")
	d.Secrets["DB_PASSWORD"] = &Secret{Type: "database", Rotated: now.Add(-31 * day)}
	d.Secrets["API_KEY"] = &Secret{Rotated: now.Add(-85 * day)}                                     // inferred api-key, 90d: due
	d.Secrets["FRESH_API_KEY"] = &Secret{Rotated: now.Add(-1 * day)}                                // ok
	d.Secrets["ADMIN_PASSWORD"] = &Secret{Rotated: now.Add(-3650 * day)}                            // no period
	d.Secrets["CUSTOM"] = &Secret{RotateEvery: "12h", Created: now.Add(-13 * time.Hour)}            // overdue from created
	d.Secrets["LEAKED"] = &Secret{Rotated: now, Compromised: now}                                   // compromised
	d.Secrets["SHARED_TOKEN"] = &Secret{Rotated: now, Exposed: []Exposure{{To: "bob", Since: now}}} // exposed
	cfg := &Config{Rotation: &RotationConfig{Types: map[string]string{"service-token": "30d"}}}
	got, err := cfg.Evaluate(d, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]State{"DB_PASSWORD": StateOverdue, "API_KEY": StateDue, "FRESH_API_KEY": StateOK,
		"ADMIN_PASSWORD": StateOK, "CUSTOM": StateOverdue, "LEAKED": StateCompromised, "SHARED_TOKEN": StateExposed}
	for _, s := range got {
		if s.State != want[s.Name] {
			t.Errorf("%s: state %s, want %s (due %v)", s.Name, s.State, want[s.Name], s.Due)
		}
	}
	bad := 0
	for _, s := range got {
		if s.Bad() {
			bad++
		}
	}
	if bad != 4 {
		t.Errorf("Bad() count %d, want 4", bad)
	}
	cfg.Rotation.Keys = map[string]string{"DB_PASSWORD": "1x"}
	if _, err := cfg.Evaluate(d, now); err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") {
		t.Errorf("bad override: %v", err)
	}
}

func TestGenerateValue(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for cs, set := range charsets {
		v, err := GenerateValue(64, cs)
		if err != nil || len(v) != 64 {
			t.Fatalf("%s: %q %v", cs, v, err)
		}
		for _, c := range v {
			if !strings.ContainsRune(set, c) {
				t.Fatalf("%s: %q outside the charset", cs, c)
			}
		}
		if seen[v] {
			t.Fatal("repeated value")
		}
		seen[v] = true
	}
	if _, err := GenerateValue(4, "alnum"); err == nil {
		t.Error("length 4 accepted")
	}
	if _, err := GenerateValue(32, "nope"); err == nil {
		t.Error("unknown charset accepted")
	}
}
