package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
)

func exampleCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "example",
		Usage:     "write a .env.example of an environment (names, types, notes; never values) or check one",
		ArgsUsage: " ",
		Description: `Prints, or writes with -o, a dotenv file naming every key the environment's
team stores give it (its own and those it inherits), each as KEY= with its
type and note as a comment. No value is ever written: not a value, not a line
of a multi-line or binary one, not a note that holds the value (that note is
left out, with a warning). Your personal overrides are yours and stay out.

--check FILE compares FILE's keys with the environment's and exits 1 naming
the keys missing from FILE and those FILE has that the environment does not.
FILE's values may be defaults (PORT=3000); one that is the key's stored value
(8 bytes or more) is a leak about to be committed: exit 7, naming the key.
Use it in CI (with a key that can read the environment) and as a git
pre-commit hook.

Reading the keys is audited as a listing, as hush ls is.

EXAMPLES:
   hush example --env dev -o .env.example
   hush example --env dev --check .env.example
   # .git/hooks/pre-commit:
   #   hush example --env dev --check .env.example`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (0644; replaces an example hush wrote)"},
			&cli.BoolFlag{Name: "force", Usage: "with -o, replace a file hush did not write"},
			&cli.StringFlag{Name: "check", Usage: "compare the keys of `FILE` with the environment's; exit 1 when they differ"},
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() > 0 {
				return usagef("example takes no arguments")
			}
			if c.IsSet("check") && c.IsSet("output") {
				return usagef("use either --check or -o")
			}
			o := exampleOptions{output: c.String("output"), force: c.Bool("force"), check: c.String("check"), json: c.Bool("json")}
			if o.check != "" {
				return runExampleCheck(s, o)
			}
			return runExample(s, o)
		}),
	}
}

type exampleOptions struct {
	output, check string
	force, json   bool
}

// exampleHeader starts every example hush writes: -o replaces a file that
// starts with it, and refuses any other (a .env with values) unless --force.
const exampleHeader = "# The variables "

func runExample(s *ui, o exampleOptions) error {
	env, err := s.EnvName()
	if err != nil {
		return err
	}
	x, err := s.Example(env)
	if err != nil {
		return err
	}
	for _, k := range x.Dropped {
		s.warnf("left out the note of %s: it holds the value", k)
	}
	switch {
	case o.json:
		return writeJSON(s.env.Stdout, x.Keys)
	case o.output == "":
		_, err := s.env.Stdout.Write(x.Data)
		return err
	}
	if err := writeExample(o.output, x.Data, o.force); err != nil {
		return err
	}
	s.infof("wrote %s: %d keys of %s, no values", o.output, len(x.Keys), env)
	return nil
}

// writeExample replaces path atomically (never through a link) with an
// example, refusing a file hush did not write unless force.
func writeExample(path string, data []byte, force bool) error {
	if !force {
		old, err := store.ReadFileNoFollow(path, 1<<20)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !bytes.HasPrefix(old, []byte(exampleHeader)):
			return hint.With(fmt.Errorf("%s exists and is not an example hush wrote", path), "pass --force to replace it")
		}
	}
	if err := store.WriteFileAtomicMode(path, data, 0o644); err != nil {
		if errors.Is(err, store.ErrUnsafe) {
			return hint.With(err, "write to a regular file, or to stdout")
		}
		return err
	}
	return nil
}

func runExampleCheck(s *ui, o exampleOptions) error {
	env, err := s.EnvName()
	if err != nil {
		return err
	}
	c, err := s.CheckExample(env, o.check)
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(s.env.Stdout, map[string]any{"env": c.Env, "file": c.File, "in_step": c.InStep(),
			"missing": nonNil(c.Missing), "extra": nonNil(c.Extra), "holds_stored_value": nonNil(c.Leaked)}); err != nil {
			return err
		}
		switch {
		case len(c.Leaked) > 0:
			return &exitCodeError{code: exitPolicy}
		case !c.InStep():
			return &exitCodeError{code: exitError}
		}
		return nil
	}
	if len(c.Leaked) > 0 {
		// A policy failure, as a scan finding is: the file is committed.
		return &exitCodeError{code: exitPolicy, err: hint.With(fmt.Errorf("%s holds the stored value of %s", o.check, strings.Join(c.Leaked, ", ")),
			"take it out (KEY= is enough), and if it was ever committed, rotate it (hush rotate)")}
	}
	if c.InStep() {
		s.infof("%s is in step with %s (%d keys)", o.check, env, c.Keys)
		return nil
	}
	var parts []string
	if len(c.Missing) > 0 {
		parts = append(parts, "missing from it: "+strings.Join(c.Missing, ", "))
	}
	if len(c.Extra) > 0 {
		parts = append(parts, fmt.Sprintf("not in %s: %s", env, strings.Join(c.Extra, ", ")))
	}
	return hint.With(fmt.Errorf("%s is out of step with %s: %s", o.check, env, strings.Join(parts, "; ")),
		"regenerate it: hush example --env %s -o %s", env, safe.ShellWord(o.check))
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
