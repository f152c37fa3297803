package session

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// leakTree lists every file under dirs (path, mode, size), to see what an
// operation wrote.
func leakTree(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			out[p] = info.Mode().String()
			if !e.IsDir() {
				b, _ := os.ReadFile(p)
				out[p] += " " + string(b)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// changed names the paths that differ between two trees.
func leakChanged(a, b map[string]string) []string {
	var out []string
	for k, v := range b {
		if a[k] != v {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k+" (gone)")
		}
	}
	sort.Strings(out)
	return out
}

// TestExportWritesOnlyWhatWasAsked: an export to a file writes that file,
// 0600, and nothing else but the audit log; each key exported is one
// secret.read line; a key the loader policy leaves out is neither exported
// nor recorded; --only keeps to its keys.
func TestExportWritesOnlyWhatWasAsked(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "API_KEY", "v1")
	tl.set("dev", "DB_URL", "v2")
	tl.set("dev", "LD_PRELOAD", "/tmp/evil.so")
	out := filepath.Join(t.TempDir(), "out.env")
	stateDir := filepath.Join(tl.env["XDG_STATE_HOME"], "hush")
	before := leakTree(t, tl.root, tl.home, filepath.Dir(out))
	mark := len(tl.lines())
	x, err := tl.session("export", "").Export(ExportOptions{Format: "dotenv", Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if x.Data != nil || strings.Join(x.Skipped, ",") != "LD_PRELOAD" || len(x.Secrets) != 2 {
		t.Errorf("export: data %q skipped %v secrets %d", x.Data, x.Skipped, len(x.Secrets))
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("output: %v %v", st, err)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "API_KEY=") || strings.Contains(string(b), "LD_PRELOAD") {
		t.Errorf("output:\n%s", b)
	}
	for _, p := range leakChanged(before, leakTree(t, tl.root, tl.home, filepath.Dir(out))) {
		if p != out && !strings.HasPrefix(p, stateDir) && !strings.HasPrefix(p, filepath.Join(tl.env["XDG_DATA_HOME"], "hush", "audit.witness")) {
			t.Errorf("export wrote %s", p)
		}
	}
	leakEqual(t, tl.since(mark), "secret.read proj/dev/API_KEY ok", "secret.read proj/dev/DB_URL ok")

	// To stdout (Data), json carries every key; --only keeps to its own.
	mark = len(tl.lines())
	x, err = tl.session("export", "").Export(ExportOptions{Format: "json", Only: []string{"DB_*", "LD_*"}})
	if err != nil || !strings.Contains(string(x.Data), `"DB_URL"`) || !strings.Contains(string(x.Data), "LD_PRELOAD") || strings.Contains(string(x.Data), "API_KEY") {
		t.Errorf("json export: %s, %v", x.Data, err)
	}
	leakEqual(t, tl.since(mark), "secret.read proj/dev/DB_URL ok", "secret.read proj/dev/LD_PRELOAD ok")
}

// TestExportRefusals: an existing file is not replaced without force; a
// symlink is never written through, force or not; a value the format
// cannot carry and an unwritable audit log leave no file and, the former,
// no read line.
func TestExportRefusals(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "API_KEY", "v1")
	dir := t.TempDir()

	existing := filepath.Join(dir, "existing")
	os.WriteFile(existing, []byte("keep"), 0o644)
	if _, err := tl.session("export", "").Export(ExportOptions{Format: "dotenv", Output: existing}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("existing file: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Errorf("existing file now %q", b)
	}

	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("target"), 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		if _, err := tl.session("export", "").Export(ExportOptions{Format: "dotenv", Output: link, Force: force}); err == nil {
			t.Errorf("export through a symlink (force %v) accepted", force)
		}
		if b, _ := os.ReadFile(target); string(b) != "target" {
			t.Fatalf("export wrote through a symlink (force %v): %q", force, b)
		}
	}

	mark := len(tl.lines())
	bad := filepath.Join(dir, "bad.yaml")
	_, err := tl.session("export", "").Export(ExportOptions{Format: "k8s", Name: "Bad_Name", Output: bad})
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("k8s with a bad name: %v", err)
	}
	if _, err := tl.session("export", "").Export(ExportOptions{Format: "xml"}); !errors.As(err, &ue) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := tl.session("export", "").Export(ExportOptions{Format: "json", SOPSType: "yaml"}); !errors.As(err, &ue) {
		t.Errorf("--sops-type without sops: %v", err)
	}
	leakEqual(t, tl.since(mark))

	tl.breakAudit()
	if _, err := tl.session("export", "").Export(ExportOptions{Format: "dotenv", Output: bad}); err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Errorf("unwritable audit log: %v", err)
	}
	if _, err := os.Lstat(bad); err == nil {
		t.Error("an export that failed left a file")
	}
}
