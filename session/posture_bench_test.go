package session

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// postureProject is a project (not in git) of envs environments of n
// secrets each, every value random but KEY_0 equal in all of them.
func postureProject(tb testing.TB, envs, n int) *Session {
	tb.Helper()
	id, err := crypt.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	home := tb.TempDir()
	root := filepath.Join(home, "proj")
	if err := os.Mkdir(root, 0o700); err != nil {
		tb.Fatal(err)
	}
	vars := map[string]string{"HOME": home, "HUSH_KEYRING": "off", "HUSH_IDENTITY": id.SecretText()}
	s := New(Options{Dir: root, Command: "test", Getenv: func(k string) string { return vars[k] }})
	cfg := &store.Config{Version: store.ConfigVersion, Project: "bench", DefaultEnv: "env0", Environments: map[string]*store.EnvConfig{}}
	if cfg.ID, err = store.NewProjectID(); err != nil {
		tb.Fatal(err)
	}
	p, err := store.Create(root, s.DataDir(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.RegisterInit(time.Now()); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 16)
	for e := range envs {
		env := fmt.Sprintf("env%d", e)
		if err := p.CreateEnv(env, []store.Recipient{{Key: id.Public, Label: "me"}}, id); err != nil {
			tb.Fatal(err)
		}
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("KEY_%d_API_KEY", i)
		}
		err := s.Update(env, store.Team, keys, func(d *store.Document, now time.Time) error {
			for i, k := range keys {
				v := "shared-across-every-environment"
				if i > 0 {
					_, _ = rand.Read(buf)
					v = hex.EncodeToString(buf)
				}
				d.SetValue(k, store.Value(v), now)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

func TestPostureOnAProject(t *testing.T) {
	t.Parallel()
	s := postureProject(t, 3, 20)
	rep, err := s.Posture(PostureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ages) != 60 {
		t.Errorf("%d secrets by age, want 60", len(rep.Ages))
	}
	shared := rep.Sections[0]
	if len(shared.Findings) != 1 || shared.Findings[0].Where != "env0/KEY_0_API_KEY, env1/KEY_0_API_KEY, env2/KEY_0_API_KEY" {
		t.Errorf("shared = %+v", shared.Findings)
	}
	// Every value read is one read line, and no section is empty of a title.
	for _, sec := range rep.Sections {
		if sec.ID == "" || sec.Title == "" || sec.Findings == nil {
			t.Errorf("section %+v", sec)
		}
	}
}

// BenchmarkPosture is the whole report on 10 environments of 1,000
// secrets each (no git: the scan walks the project directory).
func BenchmarkPosture(b *testing.B) {
	s := postureProject(b, 10, 1000)
	b.ResetTimer()
	for b.Loop() {
		rep, err := s.Posture(PostureOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Ages) != 10000 {
			b.Fatalf("%d secrets", len(rep.Ages))
		}
	}
}
