package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
)

func gitCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "git",
			Usage: "git integration: diff and merge drivers for encrypted stores",
			Subcommands: []*cli.Command{
				{
					Name:  "setup",
					Usage: "configure the diff and merge drivers in this clone (after git clone)",
					Description: `Every clone needs it once: without the drivers git merges stores as text.

EXAMPLE:
   git clone URL app && cd app && hush git setup`,
					ArgsUsage: " ",
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						return runGitSetup(s)
					}),
				},
				{
					Name:      "textconv",
					Usage:     "print a store as one line per key with a keyed hash of its value (git's diff driver)",
					ArgsUsage: "FILE",
					Description: `git runs it (hush git setup configures diff.hush.textconv); by hand:

EXAMPLE:
   hush git textconv .hush/dev.age`,
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() != 1 {
							return usagef("textconv takes one FILE")
						}
						return runTextconv(s, c.Args().First())
					}),
				},
				{
					Name:      "merge",
					Usage:     "three-way merge of a store, key by key (git's merge driver)",
					ArgsUsage: "BASE OURS THEIRS PATH",
					Description: `git runs it for .hush/*.age (hush git setup configures it as merge.hush.driver
"hush git merge %O %A %B %P"); a conflict exits 6 and hush resolve settles it.

EXAMPLE:
   git pull              # the driver merges .hush/dev.age key by key
   hush resolve --list`,
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() != 4 {
							return usagef("merge takes BASE OURS THEIRS PATH (git's %%O %%A %%B %%P)")
						}
						a := c.Args().Slice()
						return runGitMerge(s, a[0], a[1], a[2], a[3])
					}),
				},
			},
		},
		{
			Name:      "resolve",
			Usage:     "settle keys a merge left in conflict, taking our or their version",
			ArgsUsage: "[KEY...]",
			Description: `Without KEY, every conflicting key of the environment is settled the same way.

EXAMPLES:
   hush resolve --env dev --list
   hush resolve DB_PASSWORD --theirs --env dev`,
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "ours", Usage: "keep our version"},
				&cli.BoolFlag{Name: "theirs", Usage: "take their version"},
				&cli.BoolFlag{Name: "list", Usage: "list the keys in conflict"},
				&cli.BoolFlag{Name: "json", Usage: "with --list: machine-readable output"},
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.Bool("list") {
					return runResolveList(s, c.Bool("json"))
				}
				if c.Bool("ours") == c.Bool("theirs") {
					return usagef("choose one of --ours and --theirs (or --list)")
				}
				return runResolve(s, c.Args().Slice(), c.Bool("theirs"))
			}),
		},
	}
}

func (s *ui) warnGitDrivers() {
	if s.Opened() != nil && session.GitDriversMissing(s.Opened().Root) {
		s.warnf("git diff and merge drivers for .hush/*.age are not configured in this clone; run: hush git setup")
	}
}

func runGitSetup(s *ui) error {
	top, err := s.GitSetup()
	if err != nil {
		return err
	}
	s.infof("configured git diff and merge drivers for .hush/*.age in %s", top)
	return nil
}

// runTextconv prints a store for git diff (session.Textconv): names,
// types, rotation dates and a keyed hash of each value, never values. A
// store this identity cannot read prints one line saying so.
func runTextconv(s *ui, path string) error {
	w := s.env.Stdout
	rep, err := s.Textconv(path)
	if err != nil {
		return err
	}
	if rep.Unreadable != "" {
		printf(w, "# hush: %s\n", rep.Unreadable)
		return nil
	}
	printf(w, "# hush environment %s: %d secrets\n", rep.Env, len(rep.Keys))
	for _, k := range rep.Keys {
		line := fmt.Sprintf("%s hash=%s", k.Name, k.Hash)
		if k.Type != "" {
			line += " type=" + k.Type
		}
		if k.Rotated != "" {
			line += " rotated=" + k.Rotated
		}
		if k.RotateEvery != "" {
			line += " rotate_every=" + k.RotateEvery
		}
		if k.Exposed {
			line += " exposed"
		}
		printf(w, "%s\n", line)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
