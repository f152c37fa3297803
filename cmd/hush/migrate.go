package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/session"
)

func migrateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move plaintext .env (or SOPS) files into an environment, leaving nothing behind",
		ArgsUsage: "FILE...",
		Description: `Imports every FILE (dotenv, JSON, YAML or SOPS, as hush import reads them)
into the environment's team store in one write, all or nothing: a key two
files set to different values, or one the environment holds with another value
(unless --overwrite), imports nothing. Then it:
  - reads the store back and checks every value, and reads each FILE
    again from disk with another parser (compose-go's, for dotenv);
  - makes git ignore each FILE (a line in the .gitignore at the top of its
    repository, or of the project outside git);
  - when a FILE is or ever was committed to git, says so and marks every
    secret imported from it exposed (to "git history"): its values stay in
    the history, so rotate them; hush status lists them;
  - with --to vault, pushes the environment to Vault (hush vault push);
  - with --remove, deletes each FILE (a FILE that is a symlink: the link,
    never the file it points to), but keeps (and says why) one whose
    values depend on variable expansion or on anything else dotenv readers
    do differently, or that the second reading does not match;
  - lists other plaintext env files in the project (.env*, *.env) that still
    hold an imported value of 6 bytes or more: file and key names only.
Running it again is harmless: unchanged keys are left as they are.

A FILE that is a symlink in the project leading out of it (a commit can make
.env a link to ~/.git-credentials), a FIFO or a device is refused unless
--follow.

EXAMPLES:
   hush migrate .env --env dev
   hush migrate .env .env.local --env dev --remove
   hush migrate config/prod.env --env prod --remove --to vault`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "remove", Usage: "delete each FILE once its values are verified in hush"},
			&cli.StringFlag{Name: "to", Usage: "then push the environment to `REMOTE` (vault)"},
			&cli.StringFlag{Name: "format", Usage: "`FORMAT` of plain FILEs: dotenv, json or yaml (default: from each name)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace existing keys that have other values"},
			followFlag,
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() == 0 {
				return usagef("migrate takes one or more FILEs")
			}
			return runMigrate(s, c.String("to"), session.MigrateOptions{Files: c.Args().Slice(), Remove: c.Bool("remove"),
				Format: c.String("format"), Overwrite: c.Bool("overwrite"), Follow: c.Bool("follow")})
		}),
	}
}

// runMigrate runs the migration (session.Migrate) and renders its report,
// as far as it got when it failed.
func runMigrate(s *ui, to string, o session.MigrateOptions) error {
	if to != "" && to != "vault" {
		return usagef("--to %q: hush migrates to vault only", to)
	}
	o.SOPS = s.sopsHelper
	if to == "vault" {
		o.Push = func() error { return runVaultPush(s.Ctx(), s, vaultOptions{}) }
	}
	rep, err := s.Migrate(o)
	if rep != nil {
		renderMigrate(s, rep, o.Remove)
	}
	return err
}

func renderMigrate(s *ui, rep *session.MigrateReport, remove bool) {
	for _, f := range rep.Files {
		if len(f.Duplicates) > 0 {
			s.warnf("%s sets %s more than once; the last value wins", f.Path, strings.Join(f.Duplicates, ", "))
		}
	}
	if !rep.Applied {
		return
	}
	s.infof("migrated %d keys into %s: %d added, %d updated, %d unchanged", rep.Keys, rep.Env, len(rep.Added), len(rep.Updated), len(rep.Same))
	if !rep.Verified {
		return
	}
	s.infof("verified: %s holds all %d values", rep.Env, rep.Keys)
	for _, f := range rep.Files {
		if f.Checked {
			s.infof("checked: %s, read again from disk by another reader, gives the %d stored values byte for byte", f.Path, len(f.Names))
		}
		if len(f.Kept) > 0 {
			s.warnf("%s: what hush stored may not be what every reader of it gets:", f.Path)
			for _, k := range f.Kept {
				printf(s.env.Stderr, "hush:   %s\n", k)
			}
		}
	}
	for _, f := range rep.Files {
		if f.Ignore == nil {
			break
		}
		if f.Tracked != "" {
			renderTracked(s, rep.Env, f)
		}
		switch ig := f.Ignore; {
		case ig.Outside:
			s.warnf("%s is outside the project and any git work tree: make sure it is never committed", f.Path)
		case ig.LineBreak:
			s.warnf("%s has a line break in its name: add it to .gitignore yourself", f.Path)
		default:
			if ig.Line != "" {
				s.infof("added %s to %s", ig.Line, ig.File)
			}
			if ig.NotIgnored {
				s.warnf("git still does not ignore %s (a later rule in a .gitignore re-includes it?)", f.Path)
			}
		}
	}
	if remove {
		for _, f := range rep.Files {
			switch f.Removal {
			case session.KeptUnsure:
				s.warnf("kept %s: it was not removed, since what hush stored may not be what the file means to every reader", f.Path)
				printf(s.env.Stderr, "hush: hint: check each key named above (hush get KEY), fix the file or the value, then delete %s yourself\n", shellPath(f.Path))
			case session.KeptLinkedDir:
				s.warnf("%s is reached through a directory link in the project (it is %s): not deleted, hush never deletes through a link; delete it yourself", f.Path, f.Real)
			case session.RemovedLink:
				s.infof("removed the link %s", f.Path)
				s.warnf("%s was a link to %s, which still holds the values: hush deletes the link, never the file it points to", f.Path, f.Real)
			case session.Removed:
				s.infof("removed %s", f.Path)
			}
		}
	}
	if !rep.Searched {
		return
	}
	if len(rep.Leftovers) == 0 {
		s.infof("no other .env file in the project holds an imported value")
		return
	}
	s.warnf("%d other plaintext files still hold imported values; migrate or delete them:", len(rep.Leftovers))
	for _, l := range rep.Leftovers {
		printf(s.env.Stderr, "hush:   %s: %s\n", l.File, strings.Join(l.Keys, ", "))
	}
}

// renderTracked says what it means that git holds a migrated file.
func renderTracked(s *ui, env string, f *session.MigratedFile) {
	s.warnf("%s %s: its values stay in the git history, readable by anyone with a clone", f.Path, f.Tracked)
	if len(f.Config) > 0 {
		s.infof("not marked, as they are configuration (type config): %s", strings.Join(f.Config, ", "))
	}
	if len(f.Exposed) > 0 {
		s.warnf("marked exposed, rotate them: %s", strings.Join(f.Exposed, ", "))
		printf(s.env.Stderr, "hush: hint: rotate each at its provider, then record it (hush rotate KEY --env %s), or settle a mark with a reason (hush dismiss KEY --env %s --reason TEXT); then untrack the file: git rm --cached %s\n",
			safe.ShellWord(env), safe.ShellWord(env), shellPath(f.Path))
	} else {
		printf(s.env.Stderr, "hush: hint: untrack the file: git rm --cached %s\n", shellPath(f.Path))
	}
}

// shellPath is a file name for a command line in a hint: quoted when it
// must be, and never taken for an option (-rf.env is ./-rf.env).
func shellPath(p string) string {
	if strings.HasPrefix(p, "-") {
		p = "./" + p
	}
	return safe.ShellWord(p)
}

// warnDisputed names, for hush import, the keys whose stored value some
// dotenv reader would read otherwise.
func warnDisputed(s *ui, path string, disputed []inject.Dispute) {
	if len(disputed) == 0 {
		return
	}
	s.warnf("%s: %d values were read in a way not every dotenv reader shares; check them (hush get KEY):", path, len(disputed))
	for _, d := range disputed {
		printf(s.env.Stderr, "hush:   %s (line %d): %s\n", d.Key, d.Line, d.Reason)
	}
}
