package session

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// The values read are one read line per environment, naming its keys.
	var reads []string
	for _, e := range auditLines(t, s) {
		if e.Action == "secret.read" {
			reads = append(reads, fmt.Sprintf("%s:%d", e.Path, len(e.Keys)))
		}
	}
	if got := strings.Join(reads, " "); got != "bench/env0:20 bench/env1:20 bench/env2:20" {
		t.Errorf("read lines = %s", got)
	}
	// No section is without its id, title or findings list.
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

// postureImage writes a docker-save tarball of about size bytes: two
// layers of text files, a key planted in the first after all the others
// (so the whole layer is read to find it), deleted by the second.
func postureImage(tb testing.TB, size int) string {
	tb.Helper()
	layer := func(files map[string][]byte) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, name := range slices.Sorted(maps.Keys(files)) {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
				tb.Fatal(err)
			}
			_, _ = tw.Write(files[name])
		}
		_ = tw.Close()
		return b.Bytes()
	}
	line := []byte("lorem ipsum dolor sit amet, consectetur adipiscing elit = 42 // a line of a build artifact\n")
	chunk := bytes.Repeat(line, (1<<20)/len(line))
	files := map[string][]byte{"app/zz_creds.txt": []byte("AWS_ACCESS_KEY_ID=AKIAQ3EGRJSWK7NCXP2M\n")}
	// Each file its own bytes, so nothing is skipped as seen before.
	for i := 0; i < size/len(chunk); i++ {
		c := bytes.Clone(chunk)
		for off := 0; off+len(line) <= len(c); off += len(line) {
			copy(c[off+52:], fmt.Sprintf("%4d%6d", i%10000, off%1000000))
		}
		files[fmt.Sprintf("app/lib/%04d.txt", i)] = c
	}
	l1 := layer(files)
	l2 := layer(map[string][]byte{"app/.wh.zz_creds.txt": nil})
	manifest := []byte(`[{"Config":"cfg.json","RepoTags":["app:1"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}]`)
	img := layer(map[string][]byte{"manifest.json": manifest, "cfg.json": []byte("{}"), "aaa/layer.tar": l1, "bbb/layer.tar": l2})
	path := filepath.Join(tb.TempDir(), "image.tar")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkPostureImage is the report on 10 x 1,000 secrets with a 200 MB
// docker-save image given as --path.
func BenchmarkPostureImage(b *testing.B) {
	s := postureProject(b, 10, 1000)
	img := postureImage(b, 200<<20)
	b.ResetTimer()
	for b.Loop() {
		rep, err := s.Posture(PostureOptions{Paths: []string{img}})
		if err != nil {
			b.Fatal(err)
		}
		found := false
		for _, f := range rep.Sections[3].Findings {
			found = found || strings.Contains(f.Where, "app/zz_creds.txt")
		}
		if !found {
			b.Fatalf("the planted key was not found: %+v", rep.Sections[3])
		}
	}
}
