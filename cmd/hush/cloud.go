package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
)

// cloudCommands is one command group per kind hush-cloud serves (hush
// ssm…), each with push, pull, diff and status: the flags, output, exit
// codes and audit lines of hush vault's.
func cloudCommands(env *Env) []*cli.Command {
	var cmds []*cli.Command
	for _, k := range session.CloudKinds {
		cmds = append(cmds, cloudCommand(env, k))
	}
	return cmds
}

func cloudCommand(env *Env, k session.CloudKind) *cli.Command {
	flags := func(more ...cli.Flag) []cli.Flag {
		fs := []cli.Flag{&cli.StringFlag{Name: k.LocationFlag, Usage: k.LocationUsage}}
		if k.Region {
			fs = append(fs, &cli.StringFlag{Name: "region", Usage: fmt.Sprintf("`REGION` (default: hush.yaml's %s.region, then AWS_REGION or the profile's)", k.Name)})
		}
		return append(fs, more...)
	}
	action := func(run func(context.Context, *ui, vaultOptions) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("%s takes no arguments", c.Command.Name)
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			o := vaultOptions{cloud: &session.CloudOptions{Kind: k.Name, Location: c.String(k.LocationFlag), Region: c.String("region")},
				prefer: c.String("prefer"), json: c.Bool("json"), fail: c.Bool("fail")}
			return session.CloudHint(k.Name, run(c.Context, s, o))
		}
	}
	n := k.Name
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}
	return &cli.Command{
		Name:  n,
		Usage: "sync environments with " + k.Title + ", both ways",
		Description: fmt.Sprintf(`%[3]s

hush runs the hush-cloud companion for it. hush remembers what it last
synced, so it tells a local change from a remote one; a key both sides
changed differently stops a push or pull (exit 6) until --prefer says which
side wins; an unreachable or denied remote is exit 8 and changes nothing.

EXAMPLES:
   hush %[1]s diff --env prod
   hush %[1]s push --env prod
   hush %[1]s pull --env dev --prefer remote
   hush %[1]s status --env prod --fail`, n, k.Title, k.About),
		Subcommands: []*cli.Command{
			{Name: "diff", Usage: "list keys changed on each side since the last sync (names only)", Description: fmt.Sprintf(`EXAMPLE:
   hush %s diff --env prod      # exit 1 when the sides differ`, n),
				Flags: flags(jsonFlag), Action: action(runVaultDiff)},
			{Name: "status", Usage: "say whether an environment is in step, ahead, behind or diverged (--fail: exit 1 unless in step)", Description: fmt.Sprintf(`EXAMPLE:
   hush %s status --env prod --fail`, n),
				Flags: flags(jsonFlag, &cli.BoolFlag{Name: "fail", Usage: "exit 1 when the sides are not in step, as diff does"}), Action: action(runVaultStatus)},
			{Name: "push", Usage: "write local changes to " + k.Title + " (checked against the versions read)", Description: fmt.Sprintf(`EXAMPLE:
   hush %[1]s push --env prod
   hush %[1]s push --env prod --prefer local   # settle a conflict with the local values`, n),
				Flags: flags(preferFlag), Action: action(runVaultPush)},
			{Name: "pull", Usage: "write " + k.Title + "'s changes to the team store", Description: fmt.Sprintf(`EXAMPLE:
   hush %[1]s pull --env prod
   hush %[1]s pull --env prod --prefer remote`, n),
				Flags: flags(preferFlag), Action: action(runVaultPull)},
		},
	}
}
