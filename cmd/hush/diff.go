package main

import (
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// exitDiffers is hush diff's code when the file and the environment
// differ, as diff(1) and git diff --exit-code use 1. Failures keep their
// own codes and always print a "hush:" line; a difference prints none.
const exitDiffers = 1

func diffCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "name the keys that differ between an environment and a file (never values)",
		ArgsUsage: "FILE",
		Description: `FILE is a dotenv, JSON or YAML file, or a SOPS file of any of its formats
(decrypted in memory, MAC verified), read as hush import reads it. It is
compared with what hush run would inject for the environment (team store and
your personal overrides). Output, one key a line, sorted:
   + KEY   only in FILE (hush import would add it)
   - KEY   only in the environment
   ~ KEY   in both, with different values
Values are compared, never printed; every key of the environment read for the
comparison is audited.

EXIT STATUS (as diff(1) and git diff --exit-code):
   0 same keys and values
   1 they differ
   any failure exits with its code from hush --help; one without a more
   specific code also exits 1: --json prints "same" only when it compared

EXAMPLES:
   hush diff .env --env dev
   hush diff secrets.enc.yaml --env prod --json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "`FORMAT` of a plain FILE: dotenv, json or yaml (default: from the file name)"},
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			followFlag,
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() != 1 {
				return usagef("diff takes one FILE")
			}
			return runDiff(s, c.Args().First(), c.String("format"), c.Bool("json"), c.Bool("follow"))
		}),
	}
}

// keyDiff is the names that differ, each list sorted.
type keyDiff struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

func (d keyDiff) empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

func runDiff(s *ui, path, formatFlag string, asJSON, follow bool) error {
	_, envName, _, err := s.OpenEnv()
	if err != nil {
		return err
	}
	imp, err := readImportFile(s, path, formatFlag, follow)
	if err != nil {
		return err
	}
	if len(imp.Duplicates) > 0 {
		s.warnf("%s sets %s more than once; the last value counts", path, strings.Join(imp.Duplicates, ", "))
	}
	entries, err := s.ReadAll(envName)
	if err != nil {
		return err
	}
	d := keyDiff{Added: []string{}, Removed: []string{}, Changed: []string{}}
	inFile := map[string]string{}
	for _, sec := range imp.Secrets {
		inFile[sec.Name] = sec.Value.Reveal()
	}
	for _, e := range entries {
		v, ok := inFile[e.Name]
		switch {
		case !ok:
			d.Removed = append(d.Removed, e.Name)
		case v != e.Secret.Value.Reveal():
			d.Changed = append(d.Changed, e.Name)
		}
		delete(inFile, e.Name)
	}
	for name := range inFile {
		d.Added = append(d.Added, name)
	}
	sort.Strings(d.Added)
	if asJSON {
		out := struct {
			Env  string `json:"environment"`
			File string `json:"file"`
			Same bool   `json:"same"`
			keyDiff
		}{envName, path, d.empty(), d}
		if err := writeJSON(s.env.Stdout, out); err != nil {
			return err
		}
	} else {
		type line struct{ mark, name string }
		var lines []line
		for _, n := range d.Added {
			lines = append(lines, line{"+", n})
		}
		for _, n := range d.Removed {
			lines = append(lines, line{"-", n})
		}
		for _, n := range d.Changed {
			lines = append(lines, line{"~", n})
		}
		sort.Slice(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
		for _, l := range lines {
			printf(s.env.Stdout, "%s %s\n", l.mark, l.name)
		}
	}
	if d.empty() {
		s.infof("%s and %s hold the same %d keys and values", envName, path, len(entries))
		return nil
	}
	s.infof("%s and %s differ: %d only in the file, %d only in %s, %d changed", envName, path, len(d.Added), len(d.Removed), envName, len(d.Changed))
	return &exitCodeError{code: exitDiffers}
}
