package scan

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanStaged: only added lines of the index count, numbered as in the
// new file; unstaged changes and old lines do not.
func TestScanStaged(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	old := fakeToken(t, "github-pat", 20)
	added := fakeToken(t, "slack-bot-token", 21)
	unstaged := fakeToken(t, "npm-access-token", 22)
	key := fakeToken(t, "private-key-ec", 23)
	writeFile(t, dir+"/app/config.yaml", "a: 1\nold: "+old+"\nb: 2\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-q", "-m", "first")

	writeFile(t, dir+"/app/config.yaml", "a: 1\nold: "+old+"\nnew: "+added+"\nb: 2\n")
	writeFile(t, dir+"/keys/ec.pem", "# key\n"+key+"\n")
	writeFile(t, dir+"/my file.txt", "x\ny "+added+"\n")
	runGit(t, dir, "add", ".")
	writeFile(t, dir+"/app/config.yaml", "a: 1\nold: "+old+"\nnew: "+added+"\nb: 2\nlater: "+unstaged+"\n")

	s := newTestScanner(t, Config{})
	fs, err := s.ScanStaged(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app/config.yaml:3:6 slack-bot-token", "keys/ec.pem:2:1 private-key-ec", "my file.txt:2:3 slack-bot-token"}
	if got := locations(fs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, f := range fs {
		if f.Commit != "" || f.Author != "" {
			t.Errorf("staged finding with a commit: %+v", f)
		}
	}

	// A sub-directory of the work tree works too; elsewhere is an error.
	if _, err := s.ScanStaged(context.Background(), filepath.Join(dir, "app")); err != nil {
		t.Errorf("from a sub-directory: %v", err)
	}
	if _, err := s.ScanStaged(context.Background(), t.TempDir()); !errors.Is(err, ErrNotRepository) {
		t.Errorf("outside a repository: %v, want ErrNotRepository", err)
	}
}

// TestScanHistory: a secret is reported once, at the commit that added it,
// with its author; --since limits the range; merges add nothing new.
func TestScanHistory(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	tok1 := fakeToken(t, "stripe-secret-key", 30)
	tok2 := fakeToken(t, "openai-api-key", 31)
	tok3 := fakeToken(t, "gitlab-pat", 32)
	writeFile(t, dir+"/a.env", "X=1\nSTRIPE="+tok1+"\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-q", "-m", "one")
	first := runGit(t, dir, "rev-parse", "HEAD")

	writeFile(t, dir+"/a.env", "X=1\n")
	writeFile(t, dir+"/src/b.py", "import os\n\nKEY = '"+tok2+"'\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "-c", "user.name=Other Dev", "-c", "user.email=other@example.test", "commit", "-q", "-m", "two")
	second := runGit(t, dir, "rev-parse", "HEAD")

	runGit(t, dir, "checkout", "-q", "-b", "side")
	writeFile(t, dir+"/side.txt", "t: "+tok3+"\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-q", "-m", "side")
	side := runGit(t, dir, "rev-parse", "HEAD")
	runGit(t, dir, "checkout", "-q", "main")
	runGit(t, dir, "merge", "-q", "--no-ff", "-m", "merge", "side")

	s := newTestScanner(t, Config{})
	fs, err := s.ScanHistory(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range fs {
		got[f.Rule] = f
	}
	if len(fs) != 3 {
		t.Fatalf("got %d findings, want 3: %v", len(fs), fs)
	}
	check := func(rule, file string, line int, commit, author string) {
		t.Helper()
		f := got[rule]
		if f.File != file || f.Line != line || f.Commit != commit || f.Author != author {
			t.Errorf("%s: got %+v, want %s:%d in %.8s by %s", rule, f, file, line, commit, author)
		}
	}
	check("stripe-secret-key", "a.env", 2, first, "Test User <test@example.test>")
	check("openai-api-key", "src/b.py", 3, second, "Other Dev <other@example.test>")
	check("gitlab-pat", "side.txt", 1, side, "Test User <test@example.test>")

	fs, err = s.ScanHistory(context.Background(), dir, first)
	if err != nil {
		t.Fatal(err)
	}
	if r := rules(fs); len(r) != 2 || !slices.Contains(r, "gitlab-pat") || !slices.Contains(r, "openai-api-key") {
		t.Errorf("since %s: got %v", first[:8], rules(fs))
	}
	if _, err := s.ScanHistory(context.Background(), dir, "--output=/tmp/x"); err == nil {
		t.Error("an option as a revision was accepted")
	}
}

// TestScanHistoryEmptyRepo: no commits, no findings, no error.
func TestScanHistoryEmptyRepo(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	fs, err := newTestScanner(t, Config{}).ScanHistory(context.Background(), dir, "")
	if err != nil || len(fs) != 0 {
		t.Errorf("got %v, %v", fs, err)
	}
}

// TestParseDiffNumbers checks new-file line numbers through hunks with
// context, removals and "no newline" markers.
func TestParseDiffNumbers(t *testing.T) {
	t.Parallel()
	diff := "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n ctx\n-gone\n+one\n+two\n\\ No newline at end of file\n" +
		"@@ -10 +11,0 @@\n-x\n@@ -20,0 +30 @@\n+three\n" +
		"diff --git a/\"q\\tx\" b/\"q\\tx\"\n--- /dev/null\n+++ \"b/q\\tx\"\n@@ -0,0 +1 @@\n+four\n"
	var got []string
	err := parseDiff(newBufReader(diff), &allowMatcher{}, func(b block) bool {
		got = append(got, b.file+":"+itoa(b.line)+":"+strings.ReplaceAll(string(b.data), "\n", "/"))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"f:2:one/two/", "f:30:three/", "q\tx:1:four/"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func locations(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.File+":"+itoa(f.Line)+":"+itoa(f.Column)+" "+f.Rule)
	}
	return out
}

func rules(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

// TestScanHistoryMergeResolution: a secret that only a merge commit adds
// (typed in while resolving a conflict) is found in that merge, at its line;
// what the parents brought is reported once, in the parents.
func TestScanHistoryMergeResolution(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	tokMain := fakeToken(t, "github-pat", 40)
	tokSide := fakeToken(t, "npm-access-token", 41)
	tokMerge := fakeToken(t, "stripe-secret-key", 42)
	writeFile(t, dir+"/conf.txt", "a\nb\nc\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-q", "-m", "base")
	runGit(t, dir, "checkout", "-q", "-b", "side")
	writeFile(t, dir+"/conf.txt", "a\nside "+tokSide+"\nc\n")
	runGit(t, dir, "commit", "-q", "-am", "side")
	runGit(t, dir, "checkout", "-q", "main")
	writeFile(t, dir+"/conf.txt", "a\nmain "+tokMain+"\nc\n")
	runGit(t, dir, "commit", "-q", "-am", "main")
	// The merge conflicts; it is resolved by hand below.
	_ = exec.Command("git", "-C", dir, "-c", "user.name=Test User", "-c", "user.email=test@example.test",
		"merge", "-q", "side").Run()
	writeFile(t, dir+"/conf.txt", "a\nresolved\nkey "+tokMerge+"\nc\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-q", "-m", "merge")
	merge := runGit(t, dir, "rev-parse", "HEAD")

	s := newTestScanner(t, Config{})
	fs, err := s.ScanHistory(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range fs {
		count[f.Rule]++
		if f.Rule == "stripe-secret-key" && (f.Commit != merge || f.File != "conf.txt" || f.Line != 3) {
			t.Errorf("merge's secret reported as %+v, want conf.txt:3 in %.8s", f, merge)
		}
	}
	if count["stripe-secret-key"] != 1 || count["github-pat"] != 1 || count["npm-access-token"] != 1 {
		t.Errorf("findings by rule %v, want one of each: %v", count, fs)
	}
}
