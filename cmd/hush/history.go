package main

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func historyCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "log",
			Usage:     "a secret's history from git: who changed it, when, how, and a fingerprint of each value (never the value)",
			ArgsUsage: "KEY",
			Description: `Walks the git history of the environment's team store (.hush/ENV.age) and
shows every change of KEY: the commit, its author and date, what happened
(added, changed, rotated, removed, marked exposed, exposure dismissed, type
changed…) and a fingerprint of the value. A version you cannot decrypt
(from before you were a member) is reported for its commit; the log goes on.
A merge appears only when it made the key what no side had.

The fingerprint is an HMAC keyed by a random value inside the encrypted
store, so every member sees the same fingerprint for the same value and
nobody else can test a guess against one. Author and date are what the
committer wrote; "lineage unknown" marks a version no reader of the store
wrote. A KEY in no version you can read exits 3. Recorded as one read in the
audit log.

EXAMPLES:
   hush log DB_PASSWORD --env prod
   hush log API_TOKEN --json | jq -r '.changes[].commit'
   hush rollback API_TOKEN --to 1a2b3c4 --env prod   # restore a value it shows`,
			Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() != 1 {
					return usagef("log takes one KEY")
				}
				return runLog(s, c.Args().First(), c.Bool("json"))
			}),
		},
		{
			Name:      "rollback",
			Usage:     "set a secret back to its value at a commit (the commit's store, decrypted)",
			ArgsUsage: "KEY",
			Description: `Takes KEY's value from the team store as commit REV holds it and sets it as
the current value, like hush set (the audit line names the rollback). The
commit must be in HEAD's history and its store must continue the lineage
you know (written by a reader of the environment, not by anyone who can
push). A value that was marked exposed or compromised at REV or since, or
that a former recipient could read, is refused: rolling back to a leaked
credential is the usual mistake; --force restores it anyway and keeps it
marked exposed, so hush status --fail goes on asking for a new value.
A REV where KEY did not exist exits 3.

EXAMPLES:
   hush log API_TOKEN --env prod               # find the commit
   hush rollback API_TOKEN --to 1a2b3c4 --env prod
   hush rollback API_TOKEN --to HEAD~2 --env prod --force`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "to", Usage: "the commit (`REV`) whose value to restore"},
				&cli.BoolFlag{Name: "force", Usage: "restore a value that was exposed, keeping its marks"},
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() != 1 {
					return usagef("rollback takes one KEY")
				}
				if c.String("to") == "" {
					return usagef("rollback needs --to REV (a commit; hush log KEY lists them)")
				}
				return runRollback(s, session.RollbackOptions{Key: c.Args().First(), To: c.String("to"), Force: c.Bool("force")})
			}),
		},
	}
}

func runLog(s *ui, key string, asJSON bool) error {
	rep, err := s.Log(key)
	if err != nil {
		return err
	}
	if asJSON {
		if rep.Entries == nil {
			rep.Entries = []session.LogEntry{}
		}
		return writeJSON(s.env.Stdout, rep)
	}
	if len(rep.Entries) == 0 {
		s.infof("no commit changed %s in %s", key, rep.Env)
		return nil
	}
	for _, e := range rep.Entries {
		commit := e.Commit
		if commit != session.Worktree {
			commit = commit[:min(12, len(commit))]
		}
		line := commit
		if !e.Date.IsZero() {
			line += "  " + e.Date.Format("2006-01-02 15:04")
		}
		if e.Author != "" {
			line += "  " + e.Author
			if e.Email != "" {
				line += " <" + e.Email + ">"
			}
		}
		if e.Subject != "" {
			line += "  " + e.Subject
		}
		printf(s.env.Stdout, "%s\n", line)
		switch {
		case e.Unreadable != "":
			printf(s.env.Stdout, "    version %s\n", e.Unreadable)
		default:
			what := strings.Join(e.Events, ", ")
			if e.Merge {
				what += " (in the merge)"
			}
			if e.Fingerprint != "" {
				what += "  value " + e.Fingerprint
			}
			printf(s.env.Stdout, "    %s\n", what)
		}
		if e.Untrusted {
			printf(s.env.Stdout, "    warning: lineage unknown: this version was not written by a reader of the store you know\n")
		}
	}
	if rep.Keyed == "identity" {
		s.infof("this store has no lineage yet: fingerprints are keyed by your identity and comparable only with your own")
	}
	return nil
}

func runRollback(s *ui, o session.RollbackOptions) error {
	rep, err := s.Rollback(o)
	var le *session.LeakedError
	if errors.As(err, &le) {
		return &exitCodeError{code: exitPolicy, err: err}
	}
	if err != nil {
		return err
	}
	for _, f := range rep.Forced {
		s.warnf("%s restored although its value was %s; it stays marked exposed: rotate it (hush rotate %s --env %s)", rep.Key, f, rep.Key, rep.Env)
	}
	switch rep.Change {
	case store.Unchanged:
		s.infof("%s in %s already holds the value of %s (value %s); nothing changed", rep.Key, rep.Env, rep.Commit[:12], rep.Fingerprint)
	default:
		s.infof("rolled %s in %s back to the value of %s (value %s); commit .hush/%s.age to share it", rep.Key, rep.Env, rep.Commit[:12], rep.Fingerprint, rep.Env)
	}
	s.warnGitDrivers()
	return nil
}
