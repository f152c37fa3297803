// Package git is the one way hush runs git. Every call gets the same
// options: paths are never quoted in output (core.quotePath=false, so a
// file name is compared and escaped by hush, not by git) and pathspecs are
// literal (--literal-pathspecs, so a file called '*' or ':(glob)x' from a
// repository names that file only). Errors name the subcommand and carry
// git's first 200 bytes of stderr.
//
// It is a leaf: store, scan and cmd use it without importing each other.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Cmd is git args in dir with hush's fixed options, for a caller that
// streams its output (scan reads git log -p as it comes).
func Cmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	full := append([]string{"--literal-pathspecs", "-c", "core.quotePath=false"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	return cmd
}

// Output runs git and returns its standard output.
func Output(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := Cmd(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, Error(args, err, stderr.Bytes())
	}
	return out, nil
}

// Line runs git and returns its output without surrounding space.
func Line(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := Output(ctx, dir, args...)
	return strings.TrimSpace(string(out)), err
}

// OK runs git for its exit status only: true when it exited 0 (ls-files
// --error-unmatch). Not for check-ignore, which refuses literal pathspecs
// (exit 128): ask ls-files --ignored --exclude-standard instead.
func OK(ctx context.Context, dir string, args ...string) bool {
	return Cmd(ctx, dir, args...).Run() == nil
}

// Error is the error of a git run that failed: the subcommand, how it
// ended, and the start of what git said.
func Error(args []string, err error, stderr []byte) error {
	msg := strings.TrimSpace(string(stderr))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	sub := "git"
	if len(args) > 0 {
		sub = "git " + args[0]
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", sub, err)
	}
	return fmt.Errorf("%s: %w: %s", sub, err, msg)
}

// Top returns the top of the work tree containing dir, or "" outside git
// (or without git).
func Top(dir string) string {
	top, err := Line(context.Background(), dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return ""
	}
	return top
}

// Path returns the top of abs's work tree and abs relative to it (with
// forward slashes), or "" outside git. Links in abs's directory are
// resolved first, as git resolves them.
func Path(abs string) (top, rel string) {
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", ""
	}
	if top = Top(dir); top == "" {
		return "", ""
	}
	rel, err = filepath.Rel(top, filepath.Join(dir, filepath.Base(abs)))
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", ""
	}
	return top, filepath.ToSlash(rel)
}

// Ignored reports whether rel (relative to the work tree top, which need
// not exist) is ignored by git's exclude rules; a tracked file is never
// ignored. It is the one call without --literal-pathspecs, which
// check-ignore refuses: "./" keeps a name starting with ':' from being read
// as pathspec magic, and check-ignore matches its arguments as paths, not
// as globs.
func Ignored(ctx context.Context, top, rel string) (bool, error) {
	cmd := exec.CommandContext(ctx, "git", "-c", "core.quotePath=false", "check-ignore", "-q", "--", "./"+rel)
	cmd.Dir = top
	cmd.Env = append(cmd.Environ(), "GIT_LITERAL_PATHSPECS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, Error([]string{"check-ignore"}, err, stderr.Bytes())
}
