package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree writes the same files for the git and the plain-directory walks.
func tree(t *testing.T, dir string) {
	t.Helper()
	tok := func(n uint64) string { return fakeToken(t, "github-pat", n) }
	writeFile(t, dir+"/.gitignore", "*.log\nbuild/\n/only-root.txt\n!keep.log\n")
	writeFile(t, dir+"/src/main.go", "var t = \""+tok(60)+"\"\n")
	writeFile(t, dir+"/debug.log", tok(61)+"\n")
	writeFile(t, dir+"/keep.log", tok(62)+"\n")
	writeFile(t, dir+"/build/out.txt", tok(63)+"\n")
	writeFile(t, dir+"/only-root.txt", tok(64)+"\n")
	writeFile(t, dir+"/sub/only-root.txt", tok(65)+"\n")
	writeFile(t, dir+"/sub/.gitignore", "secret-*.txt\n")
	writeFile(t, dir+"/sub/secret-a.txt", tok(66)+"\n")
	writeFile(t, dir+"/image.bin", "\x89PNG\x00\x00"+tok(67)+"\n")
	if err := os.Symlink(dir+"/src/main.go", dir+"/link.go"); err != nil {
		t.Fatal(err)
	}
}

var wantTree = []string{"keep.log", "src/main.go", "sub/only-root.txt"}

func files(fs []Finding, root string) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.TrimPrefix(f.File, filepath.ToSlash(root)+"/"))
	}
	return out
}

// TestScanPathsGit lists through git: ignored files are skipped, tracked
// and untracked ones scanned, binaries and symbolic links skipped.
func TestScanPathsGit(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	tree(t, dir)
	runGit(t, dir, "add", "src")
	fs, err := newTestScanner(t, Config{}).ScanPaths(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := files(fs, dir); strings.Join(got, ",") != strings.Join(wantTree, ",") {
		t.Errorf("got %v, want %v", got, wantTree)
	}
}

// TestScanPathsWalk walks a plain directory with the .gitignore rules.
func TestScanPathsWalk(t *testing.T) {
	t.Setenv("GIT_CEILING_DIRECTORIES", os.TempDir())
	dir := t.TempDir()
	tree(t, dir)
	writeFile(t, dir+"/.git/config", fakeToken(t, "github-pat", 68)+"\n")
	fs, err := newTestScanner(t, Config{}).ScanPaths(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := files(fs, dir); strings.Join(got, ",") != strings.Join(wantTree, ",") {
		t.Errorf("got %v, want %v", got, wantTree)
	}
	// A file named directly is scanned whatever the ignore files say.
	fs, err = newTestScanner(t, Config{}).ScanPaths(context.Background(), dir+"/debug.log")
	if err != nil || len(fs) != 1 {
		t.Errorf("named file: %v, %v", fs, err)
	}
	if _, err := newTestScanner(t, Config{}).ScanPaths(context.Background(), dir+"/missing"); err == nil {
		t.Error("a missing path is not an error")
	}
}
