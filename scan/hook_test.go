package scan

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInstallHookFresh writes an executable hook that runs hush scan
// --staged, and rewrites it in place when installed again.
func TestInstallHookFresh(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	res, err := InstallHook(context.Background(), dir, HookOptions{Command: "/opt/it's/hush"})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, ".git", "hooks", "pre-commit")
	if res.Path != want || res.Chained != "" || res.Updated {
		t.Errorf("got %+v, want a new hook at %s", res, want)
	}
	script := readFile(t, want)
	for _, s := range []string{"#!/bin/sh\n", hookMarker, `exec '/opt/it'\''s/hush' scan --staged`, "pre-commit.hush-chained"} {
		if !strings.Contains(script, s) {
			t.Errorf("hook lacks %q:\n%s", s, script)
		}
	}
	if fi, _ := os.Stat(want); fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("hook not executable: %v", fi.Mode())
	}
	res, err = InstallHook(context.Background(), dir, HookOptions{})
	if err != nil || !res.Updated || res.Chained != "" {
		t.Errorf("second install: %+v, %v", res, err)
	}
	if !strings.Contains(readFile(t, want), "exec 'hush' scan --staged") {
		t.Errorf("second install did not rewrite the command")
	}
}

// TestInstallHookHooksPath respects core.hooksPath.
func TestInstallHookHooksPath(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	runGit(t, dir, "config", "core.hooksPath", "tools/hooks")
	res, err := InstallHook(context.Background(), dir, HookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "tools", "hooks", "pre-commit"); res.Path != want {
		t.Errorf("hook at %s, want %s", res.Path, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "hooks", "pre-commit")); err == nil {
		t.Error("hook also written to .git/hooks")
	}
}

// TestInstallHookChains keeps a foreign hook, runs it first, and never
// chains twice; a second foreign hook is a conflict, not a loss.
func TestInstallHookChains(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	hooks := filepath.Join(dir, ".git", "hooks")
	foreign := "#!/bin/sh\necho lint >> \"$HOOK_LOG\"\nexit \"${LINT_EXIT:-0}\"\n"
	if err := os.WriteFile(filepath.Join(hooks, "pre-commit"), []byte(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := InstallHook(context.Background(), dir, HookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chained := filepath.Join(hooks, "pre-commit.hush-chained")
	if res.Chained != chained || readFile(t, chained) != foreign {
		t.Fatalf("foreign hook not chained: %+v", res)
	}
	script := readFile(t, res.Path)
	if !strings.Contains(script, `"$hook_dir/pre-commit.hush-chained" "$@" || exit $?`) {
		t.Errorf("hook does not run the chained one first:\n%s", script)
	}
	res, err = InstallHook(context.Background(), dir, HookOptions{})
	if err != nil || !res.Updated || res.Chained != chained || readFile(t, chained) != foreign {
		t.Errorf("reinstall: %+v, %v", res, err)
	}

	// Someone put another foreign hook in place: refuse, keep both.
	other := "#!/bin/sh\nexit 0\n"
	if err := os.WriteFile(res.Path, []byte(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallHook(context.Background(), dir, HookOptions{}); !errors.Is(err, ErrHookConflict) {
		t.Errorf("got %v, want ErrHookConflict", err)
	}
	if readFile(t, res.Path) != other || readFile(t, chained) != foreign {
		t.Error("a conflict changed the hooks")
	}
}

// TestHookRuns commits for real through the installed hook, with a stub
// hush first in PATH: the chained hook runs first, then `hush scan
// --staged`; a failure of either refuses the commit.
func TestHookRuns(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "log")
	stub := "#!/bin/sh\necho \"hush $*\" >> \"$HOOK_LOG\"\nexit \"${HUSH_EXIT:-0}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "hush"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	foreign := "#!/bin/sh\necho lint >> \"$HOOK_LOG\"\nexit \"${LINT_EXIT:-0}\"\n"
	if err := os.WriteFile(filepath.Join(dir, ".git", "hooks", "pre-commit"), []byte(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallHook(context.Background(), dir, HookOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HOOK_LOG", log)

	commit := func(name string, env ...string) error {
		writeFile(t, filepath.Join(dir, name), name+"\n")
		runGit(t, dir, "add", name)
		cmd := exec.Command("git", "-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.test", "commit", "-q", "-m", name)
		cmd.Env = append(os.Environ(), env...)
		return cmd.Run()
	}
	if err := commit("ok.txt"); err != nil {
		t.Fatalf("clean commit refused: %v", err)
	}
	if got := readFile(t, log); got != "lint\nhush scan --staged\n" {
		t.Errorf("hook log %q", got)
	}
	os.Remove(log)
	if err := commit("leak.txt", "HUSH_EXIT=7"); err == nil {
		t.Error("commit went through although hush scan failed")
	}
	os.Remove(log)
	if err := commit("lint.txt", "LINT_EXIT=3"); err == nil {
		t.Error("commit went through although the chained hook failed")
	}
	if got := readFile(t, log); got != "lint\n" {
		t.Errorf("hush ran after the chained hook failed: %q", got)
	}
}

// TestUninstallHook: uninstalling removes hush's hook, restores a chained
// one under its own name, and never touches a hook that is not hush's.
func TestUninstallHook(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	hook := filepath.Join(dir, ".git", "hooks", "pre-commit")
	if _, err := UninstallHook(ctx, dir); !errors.Is(err, ErrNoHook) {
		t.Errorf("no hook: got %v, want ErrNoHook", err)
	}
	// Alone: removed.
	if _, err := InstallHook(ctx, dir, HookOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := UninstallHook(ctx, dir)
	if err != nil || res.Path != hook || res.Chained != "" {
		t.Fatalf("got %+v, %v", res, err)
	}
	if _, err := os.Lstat(hook); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("hook still there: %v", err)
	}
	// Chained: the earlier hook is back, byte for byte.
	mine := "#!/bin/sh\necho mine\n"
	if err := os.WriteFile(hook, []byte(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallHook(ctx, dir, HookOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err = UninstallHook(ctx, dir)
	if err != nil || res.Chained != hook+chainedSuffix {
		t.Fatalf("got %+v, %v", res, err)
	}
	if got := readFile(t, hook); got != mine {
		t.Errorf("restored hook is %q, want %q", got, mine)
	}
	if _, err := os.Lstat(hook + chainedSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("chained copy left behind: %v", err)
	}
	// Not hush's: left alone.
	if _, err := UninstallHook(ctx, dir); !errors.Is(err, ErrNoHook) {
		t.Errorf("foreign hook: got %v, want ErrNoHook", err)
	}
	if got := readFile(t, hook); got != mine {
		t.Errorf("foreign hook changed to %q", got)
	}
}
