package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/session"
)

func memberCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "member",
			Usage: "add, remove, list and acknowledge the recipients of environments",
			Subcommands: []*cli.Command{
				{
					Name:      "add",
					Usage:     "make public keys recipients of environments, re-encrypting them",
					ArgsUsage: "RECIPIENT...",
					Description: `A RECIPIENT is an age public key (age1…), an SSH public key
("ssh-ed25519 AAAA…", quoted), or a file of them, one per line, as age -R reads.

EXAMPLE:
   hush member add age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --env dev,staging --label bob`,
					Flags: []cli.Flag{
						&cli.StringFlag{Name: "label", Usage: "the member's `NAME` (required)"},
					},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() == 0 {
							return usagef("member add needs at least one RECIPIENT")
						}
						if c.String("label") == "" {
							return usagef("member add needs --label NAME")
						}
						return runMemberAdd(s, c.Args().Slice(), c.String("label"))
					}),
				},
				{
					Name:      "rm",
					Usage:     "remove a member, re-encrypt what they could read, mark it exposed",
					ArgsUsage: "LABEL|RECIPIENT",
					Description: `Removal is not revocation: git history still holds the old files, which the
member can decrypt. Every secret they could read is marked exposed until rotated,
and hush prints the list. An interrupted removal is finished by running it again.

EXAMPLE:
   hush member rm bob --all`,
					Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "every environment (the default when --env is not given)"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() != 1 {
							return usagef("member rm takes one LABEL or RECIPIENT")
						}
						if c.Bool("all") && s.EnvFlag != "" {
							return usagef("use either --env or --all")
						}
						return runMemberRm(s, c.Args().First())
					}),
				},
				{
					Name:  "ls",
					Usage: "list members: labels, key fingerprints, environments",
					Description: `EXAMPLES:
   hush member ls
   hush member ls --env prod --json`,
					ArgsUsage: " ",
					Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						return runMemberLs(s, c.Bool("json"))
					}),
				},
				{
					Name:      "ack",
					Usage:     "accept recipient changes that arrived from elsewhere (git pull); see hush ack",
					ArgsUsage: " ",
					Description: `hush remembers the recipients it last encrypted each environment to and
refuses to write when hush.yaml names others (exit 6). Check the change
(git log -p .hush/hush.yaml), then acknowledge it. Without --env this is
hush ack: every pending change of hush.yaml, settings included.

EXAMPLE:
   hush member ack --env prod`,
					Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "acknowledge without asking"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						return runMemberAck(s, c.Bool("yes"))
					}),
				},
			},
		},
		{
			Name:      "ci-key",
			Usage:     "create a CI identity and make it a recipient of an environment",
			ArgsUsage: " ",
			Description: `The secret key is printed once, on stdout: put it in the CI's secret store as
HUSH_IDENTITY. Nothing else keeps it.

EXAMPLE:
   hush ci-key --env prod --label github-actions`,
			Flags: []cli.Flag{&cli.StringFlag{Name: "label", Value: "ci", Usage: "the key's `NAME`"}},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if s.EnvFlag == "" {
					return usagef("ci-key needs --env ENV")
				}
				return runCIKey(s, c.String("label"))
			}),
		},
	}
}

func runMemberAdd(s *ui, args []string, label string) error {
	r, err := s.AddMembers(args, label)
	if r == nil {
		return err
	}
	for _, e := range r.Envs {
		if len(r.Added[e]) > 0 {
			s.infof("added %s to %s (re-encrypted)", label, e)
		} else if err == nil {
			s.infof("%s was already a recipient of %s", label, e)
		}
	}
	return err
}

func runMemberRm(s *ui, who string) error {
	r, err := s.RemoveMember(who)
	if r == nil {
		return err
	}
	for _, x := range r.Removals {
		s.infof("removed %s from %s (re-encrypted to the remaining %d)", who, x.Env, r.Remaining[x.Env])
	}
	if len(r.Removals) > 0 {
		printChecklist(s, r)
	}
	return err
}

// printChecklist tells the team what removal cannot do: the member may
// still hold old files from git history, so every secret they could read
// must be rotated.
func printChecklist(s *ui, r *session.MemberRemoval) {
	w, who := s.env.Stderr, r.Who
	for _, x := range r.Removals {
		if x.Unacknowledged {
			printf(w, "hush: %s: %s was never acknowledged by you: hush encrypted nothing to it, so nothing is marked exposed\n", x.Env, who)
			printf(w, "hush: warning: whoever committed it could read %s anyway; if you do not know why it was added, rotate what they could read (git log -p .hush/hush.yaml)\n", x.Env)
		}
	}
	acked := r.Acknowledged()
	if len(acked) == 0 {
		return
	}
	printf(w, "hush: warning: removal is not revocation: git history still holds files %s can decrypt\n", who)
	printf(w, "hush: rotate these secrets (marked exposed until then):\n")
	for _, x := range acked {
		if len(x.Exposed) == 0 {
			printf(w, "  %s: (no secrets)\n", x.Env)
			continue
		}
		printf(w, "  %s: %s\n", x.Env, strings.Join(x.Exposed, ", "))
	}
	printf(w, "hush: hint: setting a new value (hush set KEY --env ENV) clears the mark; rotate at the provider first\n")
}

func runMemberLs(s *ui, asJSON bool) error {
	rows, err := s.Members(s.EnvFlag)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(s.env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	printf(tw, "LABEL\tKEY\tENVIRONMENTS\n")
	for _, m := range rows {
		printf(tw, "%s\t%s\t%s\n", m.Label, m.Fingerprint, strings.Join(m.Envs, ","))
	}
	return tw.Flush()
}

// runMemberAck is hush ack: with --env, for the recipients of those
// environments only.
func runMemberAck(s *ui, yes bool) error { return runAck(s, yes, false) }

func runCIKey(s *ui, label string) error {
	ci, err := s.AddCIKey(label)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.env.Stdout, ci.Identity.SecretText())
	s.infof("added CI key %s (%s) to %s", label, crypt.Fingerprint(ci.Identity.Public), strings.Join(ci.Envs, ", "))
	s.infof("hint: store the line above as HUSH_IDENTITY in your CI's secret settings; it is not kept anywhere else")
	return nil
}
