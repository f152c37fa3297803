package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

// newProject makes a project with environments dev and prod readable by a
// fresh identity.
func newProject(t testing.TB) (*Project, *crypt.Identity) {
	t.Helper()
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p, err := Create(root, filepath.Join(root, "data"), &Config{Version: ConfigVersion, Project: "demo", Environments: map[string]*EnvConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	me := []Recipient{{Key: id.Public, Label: "me"}}
	for _, env := range []string{"dev", "prod"} {
		if err := p.CreateEnv(env, me, id); err != nil {
			t.Fatal(err)
		}
	}
	return p, id
}

func set(t testing.TB, p *Project, id *crypt.Identity, env string, scope Scope, key, value string) {
	t.Helper()
	err := p.Update(env, scope, id, func(d *Document) error {
		d.Secrets[key] = &Secret{Value: Value(value), Updated: time.Now().UTC()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadWriteLayered(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "A", "team-a")
	set(t, p, id, "dev", Team, "B", "team-b")
	set(t, p, id, "dev", Personal, "A", "mine-a")
	set(t, p, id, "dev", Personal, "C", "mine-c")
	entries, err := p.Layered("dev", id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s=%s/%s/%v", e.Name, e.Secret.Value.Reveal(), e.Source, e.Shadows))
	}
	want := "A=mine-a/personal/true B=team-b/team/false C=mine-c/personal/false"
	if strings.Join(got, " ") != want {
		t.Fatalf("Layered = %v, want %s", got, want)
	}
	// prod is untouched and the personal file lives outside the repo.
	d, err := p.Read("prod", Team, id)
	if err != nil || len(d.Secrets) != 0 {
		t.Fatalf("prod = %v, %v", d, err)
	}
	if !strings.HasPrefix(p.PersonalPath("dev"), filepath.Join(p.DataDir, "projects", "demo")) {
		t.Fatalf("personal path %s", p.PersonalPath("dev"))
	}
	// Another identity reads the team store only if it is a recipient.
	other, _ := crypt.Generate()
	if _, err := p.Read("dev", Team, other); !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "recipients: me") {
		t.Fatalf("other identity: %v", err)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "A", "1")
	before, _ := os.ReadFile(p.TeamPath("dev"))
	boom := errors.New("boom")
	err := p.Update("dev", Team, id, func(d *Document) error {
		d.Secrets["B"] = &Secret{Value: "2"}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p.TeamPath("dev"))
	if string(before) != string(after) {
		t.Fatal("a failed update changed the file")
	}
	if m, _ := filepath.Glob(filepath.Join(p.Dir(), ".*.tmp-*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestDecodeDocument(t *testing.T) {
	t.Parallel()
	good := `{"version":1,"environment":"dev","secrets":{"A":{"value":"x"}}}`
	if d, err := DecodeDocument([]byte(good), "dev"); err != nil || d.Secrets["A"].Value.Reveal() != "x" {
		t.Fatalf("good: %v, %v", d, err)
	}
	bad := map[string]string{
		"version 3":      `{"version":3,"environment":"dev","secrets":{}}`,
		"version 0":      `{"environment":"dev","secrets":{}}`,
		"other env":      `{"version":1,"environment":"prod","secrets":{}}`,
		"trailing":       good + `{}`,
		"trailing text":  good + ` x`,
		"bad name":       `{"version":1,"environment":"dev","secrets":{"1A":{"value":"x"}}}`,
		"path name":      `{"version":1,"environment":"dev","secrets":{"../A":{"value":"x"}}}`,
		"nul":            `{"version":1,"environment":"dev","secrets":{"A":{"value":"a\u0000b"}}}`,
		"null secret":    `{"version":1,"environment":"dev","secrets":{"A":null}}`,
		"wrong type":     `{"version":1,"environment":"dev","secrets":{"A":{"value":5}}}`,
		"not json":       `A=supersecretvalue`,
		"truncated json": good[:30],
	}
	for name, in := range bad {
		_, err := DecodeDocument([]byte(in), "dev")
		if !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: err = %v, want ErrIntegrity", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "supersecretvalue") {
			t.Errorf("%s: error quotes the input: %v", name, err)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	d := NewDocument("dev")
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	d.Secrets["DB"] = &Secret{Value: "p\"w\n<&>\u2028", Type: "database", Created: now, Updated: now, RotateEvery: "30d",
		Exposed: []Exposure{{To: "bob", Since: now}}}
	d.Secrets["A"] = &Secret{Value: ""}
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeDocument(b, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if back.Secrets["DB"].Value != d.Secrets["DB"].Value || back.Secrets["DB"].Exposed[0].To != "bob" || !back.Secrets["DB"].Created.Equal(now) {
		t.Fatalf("round trip lost data: %s", b)
	}
	if _, ok := back.Secrets["A"]; !ok {
		t.Fatal("empty value lost")
	}
}

func TestValueNeverFormats(t *testing.T) {
	t.Parallel()
	v := Value("hunter2-secret")
	s := &Secret{Value: v}
	for _, out := range []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v), fmt.Sprintf("%v %+v", *s, s)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("formatted value leaks: %s", out)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"dev", "prod-eu", "a_1", "0"} {
		if err := ValidEnvName(n); err != nil {
			t.Error(err)
		}
	}
	for _, n := range []string{"", "Dev", "-x", "../x", "a/b", "a.b", ".", strings.Repeat("a", 65)} {
		if err := ValidEnvName(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("env %q accepted", n)
		}
	}
	for _, n := range []string{"A", "_x", "DB_PASSWORD", "a1"} {
		if err := ValidKeyName(n); err != nil {
			t.Error(err)
		}
	}
	for _, n := range []string{"", "1A", "A-B", "A B", "../A", "A=B", "Ä"} {
		if err := ValidKeyName(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("key %q accepted", n)
		}
	}
	if err := ValidValue(strings.Repeat("x", MaxValueSize)); err != nil {
		t.Error(err)
	}
	if err := ValidValue(strings.Repeat("x", MaxValueSize+1)); !errors.Is(err, ErrInvalid) {
		t.Error("over-size value accepted")
	}
}

func TestSymlinksRefused(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "A", "1")
	real := filepath.Join(t.TempDir(), "real.age")
	if err := os.Rename(p.TeamPath("dev"), real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, p.TeamPath("dev")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read("dev", Team, id); !errors.Is(err, ErrUnsafe) {
		t.Errorf("read through symlink: %v", err)
	}
	if err := p.Update("dev", Team, id, func(*Document) error { return nil }); !errors.Is(err, ErrUnsafe) {
		t.Errorf("update through symlink: %v", err)
	}
	os.Remove(p.TeamPath("dev"))
	os.Rename(real, p.TeamPath("dev"))
	lock := filepath.Join(p.Dir(), ".lock")
	os.Remove(lock)
	os.Symlink(real, lock)
	if err := p.Update("dev", Team, id, func(*Document) error { return nil }); !errors.Is(err, ErrUnsafe) {
		t.Errorf("symlinked lock: %v", err)
	}
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"12h": 12 * time.Hour, "30d": 720 * time.Hour, "2w": 336 * time.Hour, "1y": 8760 * time.Hour} {
		if got, err := ParsePeriod(in); err != nil || got != want {
			t.Errorf("ParsePeriod(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1d", "1x", "1.5d", "90"} {
		if _, err := ParsePeriod(in); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", in)
		}
	}
}
