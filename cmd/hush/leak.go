package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store/audit"
)

func leakCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "leak",
		Usage:     "walk the leak runbook for a secret: revoke, rotate, deploy, audit, investigate, monitor",
		ArgsUsage: "KEY",
		Description: `Records the leak (audit action secret.leak). On a terminal it asks for the new
value (or generates one with --generate); elsewhere it marks the secret
compromised, which hush status --fail reports until it is rotated.

EXAMPLE:
   hush leak STRIPE_API_KEY --env prod`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "generate", Aliases: []string{"g"}, Usage: "generate the new value now (crypto/rand, 32 alnum)"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() != 1 {
				return usagef("leak takes one KEY")
			}
			return runLeak(s, c.Args().First(), c.Bool("generate"))
		}),
	}
}

func runLeak(s *ui, key string, generate bool) error {
	l, err := s.RecordLeak(key)
	if err != nil {
		return err
	}
	w := s.env.Stderr
	printf(w, "hush: leak of %s/%s recorded; the runbook:\n", l.Env, key)
	printf(w, "\n1. revoke: %s\n", l.Revoke)
	o := session.LeakRotation{Generate: generate}
	if !generate && s.env.StdinTTY {
		printf(w, "\n2. rotate: enter the new value from the provider (empty: mark compromised, rotate later)\n")
		if o.Value, err = promptSecret(fmt.Sprintf("new value for %s: ", key)); err != nil {
			return err
		}
	}
	r, err := s.RotateLeaked(l, o)
	if err != nil {
		return err
	}
	if r.Rotated {
		printf(w, "\n2. rotate: done; %s has a new value\n", key)
	} else {
		printf(w, "\n2. rotate: not done here; %s is marked compromised until hush rotate %s --env %s\n", key, key, r.Env)
	}

	printf(w, "\n3. deploy: these must pick up the new value:\n")
	printf(w, "   - environment %s (recipients: %s)\n", r.Env, strings.Join(r.Recipients, ", "))
	for _, other := range r.AlsoIn {
		printf(w, "   - environment %s also has a %s: check it is not the same value\n", other, key)
	}
	printf(w, "   - running deployments and CI jobs that read %s: redeploy them\n", key)

	printf(w, "\n4. audit: every recorded access of %s/%s:\n", r.Env, key)
	printAccesses(w, key, r.Accesses)
	if r.AccessErr != nil {
		printf(w, "   (audit log unreadable: %v)\n", r.AccessErr)
	}

	printf(w, "\n5. investigate: look for the old value in code and history: hush scan --history\n")
	printf(w, "\n6. monitor: hush status --fail reports %s until it is rotated\n", key)
	return nil
}

// printAccesses lists the audit lines of one secret.
func printAccesses(w io.Writer, key string, entries []audit.Entry) {
	for _, e := range entries {
		ok := "ok"
		if !e.Success {
			ok = "failed"
		}
		printf(w, "   %s  %-13s %-16s %s %s (%s)\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Action, e.Command, e.User, shortID(e.Identity), ok)
	}
	if len(entries) == 0 {
		printf(w, "   (none recorded on this machine; ask every member to run hush audit --key %s)\n", key)
	}
}
