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
					Description: `EXAMPLE:
   hush env add staging --from dev`,
					Flags: []cli.Flag{&cli.StringFlag{Name: "from", Usage: "copy the recipients of `ENV`"}},
					Action: withSession(env, func(c *cli.Context, s *ui) error {
						if c.NArg() != 1 {
							return usagef("env add takes one environment name")
						}
						return runEnvAdd(s, c.Args().First(), c.String("from"))
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

func runEnvAdd(s *ui, name, from string) error {
	ec, err := s.AddEnv(name, from)
	if err != nil {
		return err
	}
	s.infof("added environment %s (recipients: %s)", name, strings.Join(ec.Labels(), ", "))
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
		Recipients []store.Recipient `json:"recipients"`
	}
	var rows []row
	for _, n := range p.Config.EnvNames() {
		rows = append(rows, row{Name: n, Default: n == p.Config.DefaultEnv, Recipients: p.Config.Environments[n].Recipients})
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
		printf(tw, "%s\t%s\t%s\n", r.Name, def, strings.Join(p.Config.Environments[r.Name].Labels(), ", "))
	}
	return tw.Flush()
}
