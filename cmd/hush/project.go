package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func projectCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "init",
			Usage:     "make the current directory a hush project",
			ArgsUsage: " ",
			Description: `Creates .hush/hush.yaml and an empty encrypted store per environment, readable
by your identity. With no identity yet, hush creates one and keeps it in the OS
keyring, or where no keyring answers, in $XDG_CONFIG_HOME/hush/identity.txt.

To join a project that exists already, do not init: make a key with
hush keygen -o ~/.config/hush/identity.txt, print its recipient with
hush whoami, and send that to a member, who runs hush member add.

EXAMPLE:
   hush init --env dev,staging,prod`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "name", Usage: "project `NAME` (default: the directory's name)"},
				&cli.StringFlag{Name: "label", Usage: "your `LABEL` as a recipient (default: your user name)"},
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() > 0 {
					return usagef("init takes no arguments; use -C DIR to init elsewhere")
				}
				return runInit(s, initOptions{envs: envOption(c, env), name: c.String("name"), label: c.String("label")})
			}),
		},
		{
			Name:  "env",
			Usage: "add, remove and list environments",
			Subcommands: []*cli.Command{
				{
					Name:      "add",
					Usage:     "add an environment, readable by you (and the members of --from)",
					ArgsUsage: "NAME",
					Description: `With --inherits, the new environment sees the parent's values wherever it
sets none (see hush env inherit).

EXAMPLES:
   hush env add staging --from dev
   hush env add staging --from dev --inherits dev`,
					Flags: []cli.Flag{
						&cli.StringFlag{Name: "from", Usage: "copy the recipients of `ENV`"},
						&cli.StringFlag{Name: "inherits", Usage: "inherit the values of `ENV` wherever this one sets none"},
					},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() != 1 {
							return usagef("env add takes one environment name")
						}
						return runEnvAdd(s, c.Args().First(), c.String("from"), c.String("inherits"))
					}),
				},
				{
					Name:      "inherit",
					Usage:     "make an environment inherit the values of another wherever it sets none",
					ArgsUsage: "NAME PARENT | NAME --none",
					Description: `Reads of NAME (get, run, export, ls, status) see PARENT's values for the
keys NAME does not set, in a chain (staging -> dev -> base); your personal
store of NAME stays on top. A change of NAME (set, rm, rotate, edit) writes
NAME's store only, never PARENT's. An inherited value keeps PARENT's type,
rotation and exposure marks, and reading it is audited as a read of PARENT.
A reader of NAME who cannot read PARENT gets an error naming PARENT (exit 4),
never NAME's values without PARENT's.

The setting is environments.NAME.inherits in hush.yaml, pinned: the members
of PARENT can set values NAME's programs receive, so a change of it that
arrives by git pull is refused until you acknowledge it (hush ack).

EXAMPLES:
   hush env inherit staging dev
   hush env inherit staging --none`,
					Flags: []cli.Flag{&cli.BoolFlag{Name: "none", Usage: "inherit from no environment"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						switch {
						case c.Bool("none") && c.NArg() == 1:
							return runEnvInherit(s, c.Args().First(), "")
						case !c.Bool("none") && c.NArg() == 2:
							return runEnvInherit(s, c.Args().Get(0), c.Args().Get(1))
						}
						return hint.With(usagef("env inherit takes NAME and PARENT, or NAME and --none"), "hush env inherit staging dev")
					}),
				},
				{
					Name:      "rm",
					Usage:     "remove an environment and delete its secrets",
					ArgsUsage: "NAME",
					Description: `EXAMPLE:
   hush env rm staging --yes`,
					Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() != 1 {
							return usagef("env rm takes one environment name")
						}
						return runEnvRm(s, c.Args().First(), c.Bool("yes"))
					}),
				},
				{
					Name:  "ls",
					Usage: "list environments and their recipients",
					Description: `EXAMPLE:
   hush env ls --json`,
					ArgsUsage: " ",
					Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						return runEnvLs(s, c.Bool("json"))
					}),
				},
			},
		},
	}
}

type initOptions struct {
	envs, name, label string
}

func runInit(s *ui, o initOptions) error {
	var envs []string
	if o.envs != "" {
		envs = strings.Split(o.envs, ",")
	}
	rep, err := s.Init(session.InitOptions{Envs: envs, Name: o.name, Label: o.label})
	if err != nil {
		return err
	}
	if rep.GitConfig != nil {
		s.warnf("%v; run hush git setup later", rep.GitConfig)
	}
	s.infof("initialised project %s in %s with environments %s", rep.Project.Config.Project, rep.Project.Dir(), strings.Join(rep.Envs, ", "))
	return nil
}

func runEnvAdd(s *ui, name, from, inherits string) error {
	if inherits != "" {
		if _, err := s.Project(); err != nil {
			return err
		}
		// Refused before the environment is made, not after.
		if _, err := s.Opened().Config.Env(inherits); err != nil {
			return err
		}
	}
	ec, err := s.AddEnv(name, from)
	if err != nil {
		return err
	}
	s.infof("added environment %s (recipients: %s)", name, strings.Join(ec.Labels(), ", "))
	if inherits == "" {
		return nil
	}
	return runEnvInherit(s, name, inherits)
}

func runEnvInherit(s *ui, name, parent string) error {
	rep, err := s.SetInherits(name, parent)
	if err != nil {
		return err
	}
	if parent == "" {
		s.infof("%s inherits from no environment now", name)
		return nil
	}
	s.infof("%s inherits from %s now: reads of %s see %s's values wherever %s sets none", name, parent, name, parent, name)
	if len(rep.Writers) > 0 {
		s.warnf("%s can set values %s's programs receive (members of %s, not of %s)", strings.Join(rep.Writers, ", "), name, parent, name)
	}
	if len(rep.Blind) > 0 {
		s.warnf("%s cannot read %s: their reads of %s fail until they are members of it (hush member add KEY --env %s --label NAME)", strings.Join(rep.Blind, ", "), parent, name, parent)
	}
	return nil
}

func runEnvRm(s *ui, name string, yes bool) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if _, err := p.Config.Env(name); err != nil {
		return err
	}
	if !yes {
		ok, err := confirm(fmt.Sprintf("delete environment %s and all its secrets?", name))
		if errors.Is(err, errNoTTY) {
			return hint.With(usagef("refusing to delete environment %s without confirmation", name), "pass --yes")
		}
		if !ok {
			return errors.New("not confirmed; nothing deleted")
		}
	}
	if err := s.RemoveEnv(name); err != nil {
		return err
	}
	s.infof("removed environment %s; git history still holds its old encrypted file", name)
	return nil
}

func runEnvLs(s *ui, asJSON bool) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	type row struct {
		Name       string            `json:"name"`
		Default    bool              `json:"default"`
		Inherits   string            `json:"inherits,omitempty"`
		Recipients []store.Recipient `json:"recipients"`
	}
	var rows []row
	for _, n := range p.Config.EnvNames() {
		ec := p.Config.Environments[n]
		rows = append(rows, row{Name: n, Default: n == p.Config.DefaultEnv, Inherits: ec.Inherits, Recipients: ec.Recipients})
	}
	if asJSON {
		return writeJSON(s.env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	printf(tw, "ENVIRONMENT\tDEFAULT\tRECIPIENTS\n")
	for _, r := range rows {
		def := ""
		if r.Default {
			def = "*"
		}
		name := r.Name
		if r.Inherits != "" {
			name += " (inherits " + r.Inherits + ")"
		}
		printf(tw, "%s\t%s\t%s\n", name, def, strings.Join(p.Config.Environments[r.Name].Labels(), ", "))
	}
	return tw.Flush()
}
