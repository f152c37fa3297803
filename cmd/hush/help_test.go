package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryCommandHasAnExample: every command a user can run shows an
// example in its --help (a group's own help lists its subcommands, so a
// group with subcommands needs none of its own).
func TestEveryCommandHasAnExample(t *testing.T) {
	app := newApp(&Env{}, nil)
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			if c.Hidden {
				continue
			}
			if len(c.Subcommands) > 0 {
				walk(name, c.Subcommands)
				continue
			}
			if !strings.Contains(c.Description, "EXAMPLE") {
				t.Errorf("hush %s --help has no example", name)
			}
		}
	}
	walk("", app.Commands)
}

// TestHotCommandIsTheFullAppsRun: a command line Main builds with the run
// command alone reads exactly as it would with every command (the same
// reordering, the same redactions, and the same result when run), and
// one asking for help or completion, which list the other commands, gets
// them all.
func TestHotCommandIsTheFullAppsRun(t *testing.T) {
	env := &Env{}
	hot := [][]string{
		{"hush", "run", "--", "true"},
		{"hush", "run", "true"},
		{"hush", "-e", "prod", "-C", "/p", "run", "--env-file", ".env", "--only", "DB_*", "--", "prog", "-x"},
		{"hush", "--env=prod", "run", "-q", "prog", "--help"},
		{"hush", "run", "--command", "echo $X --help"},
		{"hush", "run", "--env-file=--help", "prog"},
	}
	for _, args := range hot {
		c := hotCommand(env, args)
		if c == nil {
			t.Errorf("%q: not built alone", args)
			continue
		}
		trimmed, full := newApp(env, []*cli.Command{c}), newApp(env, nil)
		if a, b := strings.Join(reorderArgs(trimmed, args), " "), strings.Join(reorderArgs(full, args), " "); a != b {
			t.Errorf("%q: reordered %q alone, %q with every command", args, a, b)
		}
		if a, b := fmt.Sprint(argvRedactions(trimmed, args)), fmt.Sprint(argvRedactions(full, args)); a != b {
			t.Errorf("%q: redactions %s alone, %s with every command", args, a, b)
		}
	}
	cold := [][]string{
		{"hush", "run", "--help"},
		{"hush", "run", "-h"},
		{"hush", "--help", "run"},
		{"hush", "run", "--env-file", ".env", "--help", "--", "x"},
		{"hush", "run", "--generate-bash-completion"},
		{"hush", "get", "X"},
		{"hush", "-e", "run", "get", "X"},
		{"hush"},
		{"hush", "help", "run"},
	}
	for _, args := range cold {
		if c := hotCommand(env, args); c != nil {
			t.Errorf("%q: built with %s alone", args, c.Name)
		}
	}
	// The same answers through Main, both ways.
	for _, args := range [][]string{{"hush", "run", "--nosuch", "--", "true"}, {"hush", "run"}} {
		var a, b strings.Builder
		codeA := Main(context.Background(), args, &Env{Stdout: &a, Stderr: &a, Getenv: func(string) string { return "" }, Environ: func() []string { return nil }})
		full := newApp(&Env{Stdout: &b, Stderr: &b}, nil)
		errB := full.RunContext(context.Background(), reorderArgs(full, args))
		if errB != nil {
			printError(&Env{Stdout: &b, Stderr: &b}, errB)
		}
		if codeA != exitCode(errB) || a.String() != b.String() {
			t.Errorf("%q: alone %d %q, with every command %d %q", args, codeA, a.String(), exitCode(errB), b.String())
		}
	}
}
