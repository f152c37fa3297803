package main

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
)

func trustCommands(env *Env) []*cli.Command {
	yes := &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask; for scripts, after reviewing the change"}
	return []*cli.Command{
		{
			Name:      "ack",
			Usage:     "review and accept changes of hush.yaml that arrived from elsewhere (git pull)",
			ArgsUsage: " ",
			Description: `hush pins, per user, everything in .hush/hush.yaml that decides where secrets
or credentials go or what runs: the recipients of every environment, the
vault: section, allow_inject, ssh_identities, the project's id and name, and
every section this hush does not know. A command that would use a setting
that changed since you acknowledged it refuses (exit 6). ack lists every
pending change and pins exactly what it showed: if hush.yaml changes while
you review it, nothing is pinned.

The first time hush meets a checkout it pins hush.yaml as it is (trust on
first use): review a fresh clone's .hush/hush.yaml before using it.

EXAMPLE:
   git log -p .hush/hush.yaml
   hush ack`,
			Flags: []cli.Flag{yes},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				return runAck(s, c.Bool("yes"), false)
			}),
		},
		{
			Name:      "link",
			Usage:     "let this checkout use the personal store of its project id",
			ArgsUsage: " ",
			Description: `The first checkout of a project (by hush's project id) keeps your personal
overrides. Another checkout with the same id shares its pins but not the
personal store, whose values hush run would inject into this checkout's
programs: a repository can copy any id. Link it when it is really a clone
of the same project.

EXAMPLE:
   hush link`,
			Flags: []cli.Flag{yes},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				return runLink(s, c.Bool("yes"))
			}),
		},
	}
}

func runAck(s *ui, yes, recipientsOnly bool) error {
	var envs []string
	if recipientsOnly || s.EnvFlag != "" {
		var err error
		if envs, err = s.MemberEnvs(true); err != nil {
			return err
		}
	}
	plan, err := s.PlanAck(envs)
	if err != nil {
		return err
	}
	for _, pe := range plan.Recipients {
		for _, r := range pe.Added {
			printf(s.env.Stderr, "hush: %s: + %s %s\n", pe.Env, r.Label, r.Key)
		}
		for _, r := range pe.Removed {
			printf(s.env.Stderr, "hush: %s: - %s %s\n", pe.Env, r.Label, r.Key)
		}
	}
	for _, c := range plan.Settings {
		printf(s.env.Stderr, "hush: setting %s\n", c)
	}
	for _, e := range plan.ScanNew {
		printf(s.env.Stderr, "hush: scan.yaml allows %s\n", e)
	}
	for _, e := range plan.Refused {
		printf(s.env.Stderr, "hush: %s: the team store does not continue the one you last read (recreated, written by an older hush, or replaced by someone who could not read it)\n", e)
	}
	if plan.Empty() {
		what := "hush.yaml is as you last acknowledged it"
		if envs != nil {
			what = "recipients of " + strings.Join(envs, ", ") + " are as you last encrypted them"
		}
		s.infof("%s; nothing to acknowledge", what)
		return nil
	}
	if !yes {
		ok, err := confirm("accept these changes of .hush/hush.yaml?")
		if errors.Is(err, errNoTTY) {
			return hint.With(usagef("no terminal to confirm on"), "review the change, then pass --yes")
		}
		if !ok {
			return errors.New("not acknowledged; commands that use these settings stay refused")
		}
	}
	changed, err := s.ApplyAck(plan)
	if err != nil {
		return err
	}
	if len(plan.Refused) > 0 {
		s.infof("took the team store of %s as it is now", strings.Join(plan.Refused, ", "))
	}
	if len(plan.ScanNew) > 0 {
		s.infof("acknowledged %d allowlist entr(ies) of .hush/scan.yaml", len(plan.ScanNew))
	}
	if len(changed) > 0 {
		s.infof("acknowledged the recipients of %s", strings.Join(changed, ", "))
	}
	if len(plan.Settings) > 0 {
		s.infof("acknowledged %d setting change(s) of .hush/hush.yaml", len(plan.Settings))
	}
	return nil
}

func runLink(s *ui, yes bool) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if p.Linked() && p.Legacy() == "" {
		s.infof("this checkout already uses the personal store of project %s (%s)", p.ProjectKey(), p.PersonalDir())
		return nil
	}
	if p.Legacy() != "" {
		printf(s.env.Stderr, "hush: personal data kept before project ids under the name %s: %s\n", store.Printable(p.Config.Project), store.Printable(p.Legacy()))
	} else {
		others, err := p.OtherCheckouts()
		if err != nil {
			return err
		}
		sort.Strings(others)
		printf(s.env.Stderr, "hush: project id %s is also checked out in: %s\n", p.ProjectKey(), store.Printable(strings.Join(others, ", ")))
	}
	if !yes {
		ok, err := confirm("use its personal store here? hush run will inject its values into this checkout's programs")
		if errors.Is(err, errNoTTY) {
			return hint.With(usagef("no terminal to confirm on"), "check this is a clone of the same project, then pass --yes")
		}
		if !ok {
			return errors.New("not linked")
		}
	}
	before, err := s.Link()
	if err != nil {
		return err
	}
	if left, _ := filepath.Glob(filepath.Join(before, "*.age")); len(left) > 0 && before != p.PersonalDir() {
		s.warnf("this checkout's own personal secrets stay in %s, unused from now on", before)
	}
	s.infof("linked this checkout to the personal store of project %s", p.ProjectKey())
	return nil
}
