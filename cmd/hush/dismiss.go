package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/store"
)

func dismissCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "dismiss",
		Usage:     "settle a secret's exposure mark without a new value, with a reason kept in the audit log",
		ArgsUsage: "KEY...",
		Description: `For a mark that needs no rotation: the value is configuration, or whoever it
was exposed to never had it. The value is unchanged; the marks go, and one
audit line per key records which marks, who and why (hush audit --action
secret.dismiss). A compromise mark stays: only a new value settles it.
For configuration, set its type once (hush set KEY --type config): such
values are never marked exposed again.

EXAMPLES:
   hush dismiss DB_HOST PORT --env dev --reason "configuration, not secret"
   hush dismiss API_KEY --to bob --env prod --reason "bob never pulled after joining"`,
		Flags: []cli.Flag{
			personalFlag,
			&cli.StringFlag{Name: "reason", Usage: "why the mark needs no rotation (`TEXT`, required; it goes to the audit log)"},
			&cli.StringFlag{Name: "to", Usage: "dismiss only the mark naming `NAME` (a removed member, or git history)"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() == 0 {
				return usagef("dismiss takes one or more KEYs")
			}
			reason := strings.TrimSpace(c.String("reason"))
			if reason == "" {
				return usagef("dismiss needs --reason TEXT: the audit log keeps why a mark was settled")
			}
			return runDismiss(s, c.Args().Slice(), scopeOf(c), c.String("to"), reason)
		}),
	}
}

func runDismiss(s *ui, keys []string, scope store.Scope, to, reason string) error {
	envName, err := s.EnvName()
	if err != nil {
		return err
	}
	gone, err := s.Dismiss(envName, scope, keys, to, reason)
	if err != nil {
		return err
	}
	for _, k := range keys {
		var to []string
		for _, x := range gone[k] {
			to = append(to, x.To)
		}
		s.infof("dismissed the exposure of %s in %s to %s (recorded in the audit log)", k, envName, strings.Join(to, ", "))
	}
	return nil
}
