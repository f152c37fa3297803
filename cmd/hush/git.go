package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
)

// gitAttributes routes hush's stores through its diff and merge drivers.
const gitAttributes = ".hush/*.age diff=hush merge=hush\n"

// gitDriverConfig is the local git configuration of both drivers. git runs
// them with the repository's top level as working directory.
var gitDriverConfig = [][2]string{
	{"diff.hush.textconv", "hush git textconv"},
	{"diff.hush.cachetextconv", "false"},
	{"merge.hush.name", "hush: three-way merge per key of encrypted stores"},
	{"merge.hush.driver", "hush git merge %O %A %B %P"},
}

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

// writeGitAttributes adds hush's line to the project's .gitattributes. The
// file comes from the repository: a symlink, a hard link or anything but a
// regular file is refused, never written through, and the file is replaced
// atomically, keeping its mode.
func writeGitAttributes(root string) error {
	path := filepath.Join(root, ".gitattributes")
	_, err := store.UpdateFile(path, 1<<20, 0o644, func(old []byte, _ bool) ([]byte, error) {
		if bytes.Contains(old, []byte(strings.TrimSpace(gitAttributes))) {
			return nil, nil
		}
		if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
			old = append(old, '\n')
		}
		return append(old, gitAttributes...), nil
	})
	if errors.Is(err, store.ErrUnsafe) {
		return hint.With(err, "look at what the repository put there (ls -l %s); replace it with a regular file, then run: hush git setup", safe.ShellWord(path))
	}
	return err
}

// checkGitAttributes fails as writeGitAttributes would, changing nothing.
func checkGitAttributes(root string) error {
	path := filepath.Join(root, ".gitattributes")
	_, err := store.UpdateFile(path, 1<<20, 0o644, func([]byte, bool) ([]byte, error) { return nil, nil })
	if errors.Is(err, store.ErrUnsafe) {
		return hint.With(err, "look at what the repository put there (ls -l %s); replace it with a regular file, then run hush init again", safe.ShellWord(path))
	}
	return err
}

// configureGit sets the drivers in the repository's local config.
func configureGit(top string) error {
	for _, kv := range gitDriverConfig {
		if _, err := git.Output(context.Background(), top, "config", "--local", kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	return nil
}

// gitDriversMissing reports whether the project is in a git work tree
// whose local config lacks hush's drivers. It reads the config file
// instead of running git, to stay cheap enough for every write.
func gitDriversMissing(root string) bool {
	dir := root
	for {
		gitPath := filepath.Join(dir, ".git")
		st, err := os.Stat(gitPath)
		if err == nil {
			if !st.IsDir() {
				return false // a worktree or submodule: do not guess
			}
			b, err := os.ReadFile(filepath.Join(gitPath, "config"))
			return err == nil && !bytes.Contains(b, []byte(`[merge "hush"]`))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

func (s *ui) warnGitDrivers() {
	if s.Opened() != nil && gitDriversMissing(s.Opened().Root) {
		s.warnf("git diff and merge drivers for .hush/*.age are not configured in this clone; run: hush git setup")
	}
}

func runGitSetup(s *ui) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	top := git.Top(p.Root)
	if top == "" {
		return fmt.Errorf("%s is not in a git work tree", p.Root)
	}
	if err := writeGitAttributes(p.Root); err != nil {
		return err
	}
	if err := configureGit(top); err != nil {
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
