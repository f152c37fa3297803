package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
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
					Action: func(c *cli.Context) error {
						s, err := newSession(env, c)
						if err != nil {
							return err
						}
						return runGitSetup(s)
					},
				},
				{
					Name:      "textconv",
					Usage:     "print a store as one line per key with a keyed hash of its value (git's diff driver)",
					ArgsUsage: "FILE",
					Description: `git runs it (hush git setup configures diff.hush.textconv); by hand:

EXAMPLE:
   hush git textconv .hush/dev.age`,
					Action: func(c *cli.Context) error {
						if c.NArg() != 1 {
							return usagef("textconv takes one FILE")
						}
						s, err := newSession(env, c)
						if err != nil {
							return err
						}
						return runTextconv(s, c.Args().First())
					},
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
					Action: func(c *cli.Context) error {
						if c.NArg() != 4 {
							return usagef("merge takes BASE OURS THEIRS PATH (git's %%O %%A %%B %%P)")
						}
						s, err := newSession(env, c)
						if err != nil {
							return err
						}
						a := c.Args().Slice()
						return runGitMerge(s, a[0], a[1], a[2], a[3])
					},
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
			Action: func(c *cli.Context) error {
				s, err := newSession(env, c)
				if err != nil {
					return err
				}
				if c.Bool("list") {
					return runResolveList(s, c.Bool("json"))
				}
				if c.Bool("ours") == c.Bool("theirs") {
					return usagef("choose one of --ours and --theirs (or --list)")
				}
				return runResolve(s, c.Args().Slice(), c.Bool("theirs"))
			},
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

// runTextconv prints a store for git diff: names, types, rotation dates and
// a short hash of each value keyed from the user's identity, so a value
// cannot be guessed from its hash. Never values. A store this identity
// cannot read prints one line saying so: git diff must go on working.
func runTextconv(s *ui, path string) error {
	w := s.env.Stdout
	id, err := s.Identity()
	if err != nil {
		printf(w, "# hush: no identity to decrypt this store\n")
		return nil
	}
	doc, err := store.DecryptFile(path, "", id)
	if err != nil {
		printf(w, "# hush: cannot decrypt: %s\n", firstLine(err.Error()))
		return nil
	}
	key, err := id.DeriveKey("git textconv")
	if err != nil {
		return err
	}
	printf(w, "# hush environment %s: %d secrets\n", doc.Environment, len(doc.Secrets))
	for _, n := range doc.Names() {
		sec := doc.Secrets[n]
		m := hmac.New(sha256.New, key)
		m.Write([]byte(doc.Environment + "\x00" + n + "\x00" + sec.Value.Reveal()))
		line := fmt.Sprintf("%s hash=%s", n, hex.EncodeToString(m.Sum(nil))[:12])
		if sec.Type != "" {
			line += " type=" + sec.Type
		}
		if !sec.Rotated.IsZero() {
			line += " rotated=" + sec.Rotated.Format("2006-01-02")
		}
		if sec.RotateEvery != "" {
			line += " rotate_every=" + sec.RotateEvery
		}
		if len(sec.Exposed) > 0 {
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
