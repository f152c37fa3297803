package main

import (
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func inboxCommand(env *Env) *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}
	return &cli.Command{
		Name:  "inbox",
		Usage: "values proposed by contributors who are not members (hush set --contribute): list, accept, reject",
		Description: `A contributor encrypts a value to the environment's recipients into
.hush/inbox/ENV/ID.age and commits it. Anyone who can push can write a drop,
under any contributor label: nothing is applied until a member accepts it,
and an accept that would replace a key's value must name the key.

EXAMPLES:
   hush inbox --env prod                       # same as hush inbox ls
   hush inbox accept 3f2a9c1e --env prod
   hush inbox accept 3f2a9c1e --overwrite STRIPE_KEY --env prod
   hush inbox reject 3f2a9c1e --reason "not ours" --env prod`,
		Flags: []cli.Flag{jsonFlag},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q; hush inbox takes ls, accept or reject", "inbox "+c.Args().First())
			}
			return runInboxLs(s, c.Bool("json"))
		}),
		Subcommands: []*cli.Command{
			{
				Name:      "ls",
				Usage:     "list the drops of an environment: key, contributor, commit author, what an accept would do",
				ArgsUsage: " ",
				Description: `Decrypts each drop (one audit line) and shows its key, the contributor's
label (their claim), the author of the commit that added it (git's claim),
fingerprints of the proposed and the current value (as hush log shows
them), and warnings: the key exists (accept must name it), it is a loader
variable hush run refuses, the drop file was removed before (a replay?).

EXAMPLE:
   hush inbox ls --env prod --json`,
				Flags: []cli.Flag{jsonFlag},
				Action: withSession(env, func(c *cli.Context, s *ui) error {
					return runInboxLs(s, c.Bool("json"))
				}),
			},
			{
				Name:      "accept",
				Usage:     "apply drops to the team store (as hush set would) and remove their files",
				ArgsUsage: "ID...",
				Description: `Applies each drop's value through the rule for a new value, in one change,
with an audit line per key naming the contributor, then deletes the drop
files (commit that with the store). A drop for a key that holds another
value is refused (exit 6) unless --overwrite names that key.

EXAMPLES:
   hush inbox accept 3f2a9c1e --env prod
   hush inbox accept 3f2a 7b1c --overwrite API_TOKEN --env prod`,
				Flags: []cli.Flag{&cli.StringSliceFlag{Name: "overwrite", Usage: "replace `KEY`'s current value (repeat for each key)"}},
				Action: withSession(env, func(c *cli.Context, s *ui) error {
					return runInboxAccept(s, session.AcceptOptions{IDs: c.Args().Slice(), Overwrite: c.StringSlice("overwrite")})
				}),
			},
			{
				Name:      "reject",
				Usage:     "delete drops without applying them, with a reason kept in the audit log",
				ArgsUsage: "ID...",
				Description: `EXAMPLE:
   hush inbox reject 3f2a9c1e --reason "not a key we use" --env prod`,
				Flags: []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (`TEXT`, required; it goes to the audit log)"}},
				Action: withSession(env, func(c *cli.Context, s *ui) error {
					reason := strings.TrimSpace(c.String("reason"))
					if reason == "" {
						return usagef("reject needs --reason TEXT: the audit log keeps why a drop was refused")
					}
					return runInboxReject(s, c.Args().Slice(), reason)
				}),
			},
		},
	}
}

func runContribute(s *ui, key, label, fromFile string) error {
	if _, err := s.Project(); err != nil {
		return err
	}
	if err := store.ValidKeyName(key); err != nil {
		return err
	}
	if _, err := s.EnvName(); err != nil {
		return err
	}
	value, err := readValue(s, key, fromFile)
	if err != nil {
		return err
	}
	if err := store.ValidValue(value); err != nil {
		return err
	}
	rep, err := s.Contribute(session.ContributeOptions{Key: key, Value: store.Value(value), Label: label})
	if err != nil {
		return err
	}
	if len(rep.Ignored) > 0 {
		s.warnf("hush.yaml lists recipients of %s you have not acknowledged (%s): the drop is not encrypted to them; review with hush ack", rep.Env, strings.Join(rep.Ignored, ", "))
	}
	rel := rep.Path
	if p := s.Opened(); p != nil {
		if r, err := filepath.Rel(p.Root, rep.Path); err == nil {
			rel = filepath.ToSlash(r)
		}
	}
	s.infof("wrote drop %s for %s in %s as %q, readable by %s (recipients %s)", rep.ID, key, rep.Env, rep.Label, strings.Join(rep.Recipients, ", "), rep.Source)
	s.infof("commit and push it (git add %s); a member accepts it with: hush inbox accept %s --env %s", rel, rep.ID, rep.Env)
	return nil
}

func runInboxLs(s *ui, asJSON bool) error {
	rep, err := s.Inbox()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(s.env.Stdout, rep)
	}
	for _, n := range rep.Other {
		s.warnf("%s in the inbox of %s is not a drop; left alone", n, rep.Env)
	}
	if len(rep.Drops) == 0 {
		s.infof("the inbox of %s is empty", rep.Env)
		return nil
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	printf(tw, "ID\tKEY\tCONTRIBUTOR\tCOMMITTED BY\tVALUE\tACCEPT WOULD\n")
	for _, d := range rep.Drops {
		author := d.Author
		if d.Commit == "" {
			author = "(not committed)"
		}
		if d.Problem != "" {
			printf(tw, "%s\t-\t-\t%s\t-\tnothing: %s\n", d.ID, author, d.Problem)
			continue
		}
		would := "add it"
		switch {
		case d.Same:
			would = "change nothing (same value)"
		case d.Overwrites:
			would = "overwrite " + d.Current + " (needs --overwrite " + d.Key + ")"
		}
		printf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Key, d.Contributor, author, d.Fingerprint, would)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range rep.Drops {
		if d.Loader {
			s.warnf("drop %s sets %s, a variable that changes what programs load or where they connect: hush run refuses it unless allow_inject names it", d.ID, d.Key)
		}
		if d.Replayed != "" {
			s.warnf("drop %s was removed before (commit %s) and is back: a replay of an old drop?", d.ID, d.Replayed[:min(12, len(d.Replayed))])
		}
		if len(d.Former) > 0 {
			s.warnf("drop %s was committed when %s could read %s: an accepted value stays marked exposed to them until rotated", d.ID, strings.Join(d.Former, ", "), rep.Env)
		}
		if d.Stale {
			s.warnf("drop %s: %s changed after the drop was made", d.ID, d.Key)
		}
	}
	s.infof("contributor labels and commit authors are claims: anyone who can push can write a drop; check with the contributor before accepting")
	return nil
}

func runInboxAccept(s *ui, o session.AcceptOptions) error {
	rep, err := s.Accept(o)
	if err != nil {
		return err
	}
	for _, d := range rep.Accepted {
		what := "added"
		switch {
		case rep.Changes[d.Key] == store.Unchanged:
			what = "unchanged (it already held that value)"
		case d.Overwrites || rep.Changes[d.Key] == store.Replaced:
			what = "overwrote its value " + d.Current
		}
		s.infof("accepted %s in %s from %s (drop %s, value %s): %s", d.Key, rep.Env, d.Contributor, d.ID, d.Fingerprint, what)
		if len(d.Former) > 0 {
			s.warnf("%s is marked exposed to %s, who could read the drop: rotate it (hush rotate %s --env %s)", d.Key, strings.Join(d.Former, ", "), d.Key, rep.Env)
		}
		if d.Loader {
			s.warnf("%s changes what programs load or where they connect: hush run refuses to inject it unless allow_inject names it", d.Key)
		}
	}
	if rep.RemoveErr != nil {
		s.warnf("the values are in the store but a drop file could not be removed: %v; remove it by hand", rep.RemoveErr)
	} else {
		s.infof("removed the drop files; commit them with the store: git add -A .hush && git commit")
	}
	s.warnGitDrivers()
	return nil
}

func runInboxReject(s *ui, ids []string, reason string) error {
	rep, err := s.Reject(ids, reason)
	if err != nil {
		return err
	}
	for _, d := range rep.Drops {
		what := d.ID
		if d.Key != "" {
			what += " (" + d.Key + " from " + d.Contributor + ")"
		}
		s.infof("rejected drop %s in %s; the file is removed, commit that", what, rep.Env)
	}
	return nil
}
