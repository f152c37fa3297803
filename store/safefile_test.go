//go:build unix

package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestResolveSource(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	proj := filepath.Join(base, "proj")
	home := filepath.Join(base, "home")
	for _, d := range []string{proj, home, filepath.Join(proj, "sub")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("K=v\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, at string) {
		if err := os.Symlink(target, at); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(proj, "real.env"))
	write(filepath.Join(home, ".git-credentials"))
	link("real.env", filepath.Join(proj, "in.env"))                            // inside → inside
	link("../home/.git-credentials", filepath.Join(proj, "out.env"))           // inside → outside
	link(home, filepath.Join(proj, "dir"))                                     // directory link out
	link(filepath.Join(base, "hop"), filepath.Join(proj, "chain.env"))         // inside → outside link → inside
	link(filepath.Join(proj, "real.env"), filepath.Join(base, "hop"))          //
	link(filepath.Join(base, "hop2"), filepath.Join(proj, "chain-out.env"))    // inside → outside link → outside
	link(filepath.Join(home, ".git-credentials"), filepath.Join(base, "hop2")) //
	link(proj, filepath.Join(home, "proj-link"))                               // the user's own link into the project
	link(filepath.Join(home, ".git-credentials"), filepath.Join(home, "mine")) // the user's own link, outside
	link("loop", filepath.Join(proj, "loop"))                                  // a loop
	if err := syscall.Mkfifo(filepath.Join(proj, "fifo.env"), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := []string{proj}
	for _, tt := range []struct {
		path    string
		ok      bool
		link    bool
		planted bool
	}{
		{path: "proj/real.env", ok: true},
		{path: "proj/in.env", ok: true, link: true, planted: true},
		{path: "proj/out.env", link: true, planted: true},
		{path: "proj/dir/.git-credentials", planted: true},
		{path: "proj/chain.env", ok: true, link: true, planted: true},
		{path: "proj/chain-out.env", link: true, planted: true},
		{path: "proj/sub/../out.env", link: true, planted: true},
		{path: "home/proj-link/real.env", ok: true},
		{path: "home/proj-link/out.env", link: true, planted: true},
		{path: "home/mine", ok: true, link: true},
		{path: "home/.git-credentials", ok: true},
		{path: "proj/fifo.env"},
		{path: "proj/loop", link: true},
		{path: "proj/missing.env"},
	} {
		src, err := ResolveSource(filepath.Join(base, tt.path), roots)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.path, err, tt.ok)
		}
		if err != nil && tt.path != "proj/loop" && tt.path != "proj/missing.env" && !errors.Is(err, ErrOutside) {
			t.Errorf("%s: err = %v, want ErrOutside", tt.path, err)
		}
		w, werr := WalkSource(filepath.Join(base, tt.path), roots)
		if werr == nil && (w.Link != tt.link || (w.Planted != "") != tt.planted) {
			t.Errorf("%s: link %v planted %q, want %v %v", tt.path, w.Link, w.Planted, tt.link, tt.planted)
		}
		if err == nil {
			f, err := src.Open()
			if err != nil {
				t.Errorf("%s: open: %v", tt.path, err)
				continue
			}
			f.Close()
		}
	}
}

func TestUpdateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	victim := filepath.Join(dir, "bashrc")
	if err := os.WriteFile(victim, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	appendLine := func(old []byte, _ bool) ([]byte, error) { return append(old, "line\n"...), nil }

	// New file: newPerm.
	p := filepath.Join(dir, "new")
	if changed, err := UpdateFile(p, 1<<20, 0o644, appendLine); err != nil || !changed {
		t.Fatalf("new: %v %v", changed, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v", st.Mode())
	}
	// Existing: mode kept.
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateFile(p, 1<<20, 0o644, appendLine); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode not kept: %v", st.Mode())
	}
	if b, _ := os.ReadFile(p); string(b) != "line\nline\n" {
		t.Errorf("content %q", b)
	}
	// Links and special files: refused, the victim untouched.
	sym := filepath.Join(dir, "sym")
	dangling := filepath.Join(dir, "dangling")
	hard := filepath.Join(dir, "hard")
	fifo := filepath.Join(dir, "fifo")
	for _, err := range []error{os.Symlink(victim, sym), os.Symlink(filepath.Join(dir, "nowhere"), dangling),
		os.Link(victim, hard), syscall.Mkfifo(fifo, 0o600)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{sym, dangling, hard, fifo, dir} {
		if _, err := UpdateFile(p, 1<<20, 0o644, appendLine); !errors.Is(err, ErrUnsafe) {
			t.Errorf("%s: err = %v, want ErrUnsafe", filepath.Base(p), err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine\n" {
		t.Errorf("written through: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling link target created")
	}
}

func TestWriteFileAtomicReplacesHardLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other, p := filepath.Join(dir, "other"), filepath.Join(dir, "out")
	if err := os.WriteFile(other, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(other, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != "old" {
		t.Errorf("written through the hard link: %q", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode())
	}
}

// TestResolveSourceRepoLinks: in a monorepo the hush project is a
// subdirectory; a link elsewhere in the repository is the repository's too,
// and a link must land inside the project.
func TestResolveSourceRepoLinks(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	proj := filepath.Join(repo, "services", "api")
	if err := os.MkdirAll(proj, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "shared.env"), []byte("K=v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../shared.env", filepath.Join(proj, ".env")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("shared.env", filepath.Join(repo, "top.env")); err != nil {
		t.Fatal(err)
	}
	roots := []string{proj, repo}
	if _, err := ResolveSource(filepath.Join(proj, ".env"), roots); !errors.Is(err, ErrOutside) {
		t.Errorf("link out of the project into the repo: err = %v, want ErrOutside", err)
	}
	if _, err := ResolveSource(filepath.Join(repo, "top.env"), roots); !errors.Is(err, ErrOutside) {
		t.Errorf("link in the repo, outside the project: err = %v, want ErrOutside", err)
	}
	// Named directly (no link), a file outside the project is the user's
	// choice.
	if _, err := ResolveSource(filepath.Join(repo, "shared.env"), roots); err != nil {
		t.Errorf("plain file: %v", err)
	}
}

// TestCreateFileAtomic: a new 0600 file appears whole; anything at the
// path (a file, a dangling link) is left alone with fs.ErrExist, and no
// temporary file stays behind either way.
func TestCreateFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "app.yaml")
	if err := CreateFileAtomic(out, []byte("a: 1\n")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(out); err != nil || st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
		t.Fatalf("%v %v", st.Mode(), err)
	}
	if err := CreateFileAtomic(out, []byte("b: 2\n")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("existing: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "a: 1\n" {
		t.Fatalf("existing file changed: %q", b)
	}
	link := filepath.Join(dir, "link.yaml")
	target := filepath.Join(dir, "target")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := CreateFileAtomic(link, []byte("c: 3\n")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("dangling link: %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Fatalf("written through the link: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("left behind: %v", ents)
	}
}
