package git

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathspecsAreLiteral: a file a repository names '*' or ':(glob)*'
// stands for itself, never for every file (a question like "is this file
// tracked?" must not be answered yes by a pattern).
func TestPathspecsAreLiteral(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, args := range [][]string{{"init", "-q"}, {"config", "user.email", "t@example.test"}, {"config", "user.name", "T"}} {
		if _, err := Output(ctx, dir, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tracked.env"), []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Output(ctx, dir, "add", "tracked.env"); err != nil {
		t.Fatal(err)
	}
	if !OK(ctx, dir, "ls-files", "--error-unmatch", "--", "tracked.env") {
		t.Fatal("tracked.env is not tracked")
	}
	for _, p := range []string{"*", "*.env", ":(glob)*.env", "tracked.en?"} {
		if OK(ctx, dir, "ls-files", "--error-unmatch", "--", p) {
			t.Errorf("pathspec %q matched a file by pattern", p)
		}
	}
	// Errors name the subcommand and what git said.
	_, err := Output(ctx, dir, "rev-parse", "--verify", "no-such-rev")
	if err == nil || !strings.HasPrefix(err.Error(), "git rev-parse: ") {
		t.Errorf("error = %v", err)
	}
	if top := Top(filepath.Join(dir)); top == "" {
		t.Error("Top found no work tree")
	}
	if top, rel := Path(filepath.Join(dir, "tracked.env")); top == "" || rel != "tracked.env" {
		t.Errorf("Path = %q, %q", top, rel)
	}
	if top := Top(t.TempDir()); top != "" {
		t.Errorf("Top outside git = %q", top)
	}
}

// TestIgnored: check-ignore answers for a file that does not exist yet,
// says no for a tracked file even when a rule matches it, and a name
// that looks like a glob or pathspec magic stands for itself.
func TestIgnored(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, args := range [][]string{{"init", "-q"}, {"config", "user.email", "t@example.test"}, {"config", "user.name", "T"}} {
		if _, err := Output(ctx, dir, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.env\nout/\n:(glob)x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tracked.env"), []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Output(ctx, dir, "add", "-f", "tracked.env"); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"new.env": true, "out/app.yaml": true, "sub/dir/x.env": true, // not there yet
		"app.yaml": false, "tracked.env": false, "*": false, ":(glob)*": false, ":(glob)x": true,
	} {
		got, err := Ignored(ctx, dir, rel)
		if err != nil || got != want {
			t.Errorf("Ignored(%q) = %v, %v; want %v", rel, got, err, want)
		}
	}
}
