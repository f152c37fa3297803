package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HookOptions configures InstallHook.
type HookOptions struct {
	// Command is the hush executable the hook runs: a path, or a name
	// looked up in PATH when the hook runs. "" means "hush".
	Command string
}

// HookResult says what InstallHook did.
type HookResult struct {
	// Path is the pre-commit hook written.
	Path string
	// Chained is the earlier hook, renamed, that the new hook runs first;
	// "" if there is none.
	Chained string
	// Updated is true when hush's hook was already there and was rewritten.
	Updated bool
}

// ErrHookConflict is returned when a foreign pre-commit hook cannot be
// chained because the chained name is taken too.
var ErrHookConflict = errors.New("pre-commit hook conflict")

const (
	hookMarker    = "# hush-hook: v1"
	chainedSuffix = ".hush-chained"
)

// hooksDir is the hooks directory git uses for the repository at dir
// (core.hooksPath respected), absolute.
func hooksDir(ctx context.Context, dir string) (string, error) {
	if err := checkRepo(ctx, dir); err != nil {
		return "", err
	}
	out, err := gitOutput(ctx, dir, "rev-parse", "--git-path", "hooks")
	if err != nil {
		return "", err
	}
	hooks := strings.TrimRight(string(out), "\r\n")
	if !filepath.IsAbs(hooks) {
		hooks = filepath.Join(dir, hooks)
	}
	return hooks, nil
}

// InstallHook installs a git pre-commit hook running `hush scan --staged` in
// the repository at dir, in the hooks directory git uses (core.hooksPath is
// respected). A pre-commit hook that is not hush's is kept: it is renamed to
// pre-commit.hush-chained and the new hook runs it first, stopping if it
// fails. Installing again rewrites hush's hook and chains nothing new.
func InstallHook(ctx context.Context, dir string, opts HookOptions) (HookResult, error) {
	hooks, err := hooksDir(ctx, dir)
	if err != nil {
		return HookResult{}, err
	}
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return HookResult{}, fmt.Errorf("scan: hook: %w", err)
	}
	res := HookResult{Path: filepath.Join(hooks, "pre-commit")}
	chained := res.Path + chainedSuffix

	old, err := os.ReadFile(res.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return HookResult{}, fmt.Errorf("scan: hook: %w", err)
	case strings.Contains(string(old), hookMarker):
		res.Updated = true
	default:
		if _, err := os.Lstat(chained); err == nil {
			return HookResult{}, fmt.Errorf("scan: hook: %w: both %s and %s exist and neither is hush's",
				ErrHookConflict, res.Path, chained)
		}
		if err := os.Rename(res.Path, chained); err != nil {
			return HookResult{}, fmt.Errorf("scan: hook: %w", err)
		}
	}
	if _, err := os.Lstat(chained); err == nil {
		res.Chained = chained
	}
	if err := writeExecutable(res.Path, hookScript(opts.Command)); err != nil {
		return HookResult{}, fmt.Errorf("scan: hook: %w", err)
	}
	return res, nil
}

// hookScript is the pre-commit hook's text.
func hookScript(command string) string {
	if command == "" {
		command = "hush"
	}
	return `#!/bin/sh
# Installed by hush: refuses a commit whose staged changes add a secret.
# A pre-commit hook that was here before runs first, as pre-commit` + chainedSuffix + `.
# Bypass once with: git commit --no-verify
` + hookMarker + `
hook_dir=$(dirname -- "$0")
if [ -x "$hook_dir/pre-commit` + chainedSuffix + `" ]; then
	"$hook_dir/pre-commit` + chainedSuffix + `" "$@" || exit $?
fi
exec ` + shellQuote(command) + ` scan --staged
`
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeExecutable writes a file atomically with mode 0755: a temp file in
// the same directory, synced, then renamed over the target.
func writeExecutable(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".pre-commit-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o755); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ErrNoHook is returned by UninstallHook when the pre-commit hook is
// missing or is not hush's.
var ErrNoHook = errors.New("no hush pre-commit hook")

// UninstallHook removes hush's pre-commit hook from the repository at dir
// and puts back the hook it chained, if any. A pre-commit hook that is not
// hush's is left alone (ErrNoHook): uninstalling never deletes a hook hush
// did not write. Path is the hook removed, Chained the one restored.
func UninstallHook(ctx context.Context, dir string) (HookResult, error) {
	hooks, err := hooksDir(ctx, dir)
	if err != nil {
		return HookResult{}, err
	}
	res := HookResult{Path: filepath.Join(hooks, "pre-commit")}
	chained := res.Path + chainedSuffix
	cur, err := os.ReadFile(res.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return HookResult{}, fmt.Errorf("scan: hook: %w in %s", ErrNoHook, hooks)
	case err != nil:
		return HookResult{}, fmt.Errorf("scan: hook: %w", err)
	case !strings.Contains(string(cur), hookMarker):
		return HookResult{}, fmt.Errorf("scan: hook: %w: %s is another tool's, left alone", ErrNoHook, res.Path)
	}
	if _, err := os.Lstat(chained); err == nil {
		// The rename replaces hush's hook with the chained one in one step.
		if err := os.Rename(chained, res.Path); err != nil {
			return HookResult{}, fmt.Errorf("scan: hook: %w", err)
		}
		res.Chained = chained
		return res, nil
	}
	if err := os.Remove(res.Path); err != nil {
		return HookResult{}, fmt.Errorf("scan: hook: %w", err)
	}
	return res, nil
}
