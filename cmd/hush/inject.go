package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/session"
)

func injectCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "inject",
		Usage:     "render a config template's references to secrets, to stdout or a new 0600 file",
		ArgsUsage: "[TEMPLATE]",
		Description: `TEMPLATE (stdin when absent or "-") is a config file with references, in Go's
template syntax cut down to naming secrets:

   {{ hush "KEY" }}                  KEY of the environment (--env)
   {{ .KEY }}                        the same, shorter
   {{ hush "hush://ENV/KEY" }}       KEY of another environment (--allow-env ENV)
   {{ hush "vault://MOUNT/PATH#F" }} field F of a Vault secret (hush vault's settings)
   {{ hush "KEY" | json }}           quoted for the file's language: json, yaml,
                                     shell or dotenv; raw (the default) as it is
   {{ "{{" }}                        a literal {{

Nothing else is accepted: no if, range, with, template, define, variables, nor
any function but hush and the escapes, so a template from the repository can
read the secrets it names and nothing more (no file, program or network). Every
reference is checked before anything is written: an unknown key is exit 3
naming it, and nothing is written. The render is one audit line naming its
keys (a hush:// reference and a Vault read have their own). A reference to
another environment than the one rendered is refused (exit 7) unless
--allow-env names it: the template is the repository's, which environments
it reads is yours (a dev member's template must not make a prod member's
render for dev read prod).

-o writes a new file, mode 0600, whole or not at all, never through a link;
--force replaces an existing regular file atomically. Inside a git work tree
the file must be ignored by git: a tracked or unignored file is refused
(exit 7) whatever the flags, since the next commit would hold the secrets;
add it to .gitignore first. Prefer hush run --mount or --file where the
program can read its configuration from a path hush gives it.

EXAMPLES:
   hush inject config.yaml.tmpl -o config.yaml   # config.yaml in .gitignore
   hush inject --env prod nginx.conf.tmpl > /run/app/nginx.conf
   hush inject --env staging --allow-env prod app.tmpl   # it reads hush://prod/… too
   echo 'postgres://app:{{ hush "DB_PASSWORD" }}@db/app' | hush inject`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a new `FILE` (0600, git-ignored) instead of stdout"},
			&cli.BoolFlag{Name: "force", Usage: "with -o, replace an existing file"},
			&cli.StringSliceFlag{Name: "allow-env", Usage: "let hush://ENV/KEY references read `ENV` besides the environment rendered (comma-separated)"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() > 1 {
				return usagef("inject takes one TEMPLATE")
			}
			return runInject(c, s, session.InjectOptions{Path: c.Args().First(), Output: c.String("output"), Force: c.Bool("force"),
				AllowEnvs: splitList(c.StringSlice("allow-env"))})
		}),
	}
}

// runInject renders a template (session.Inject) and shows what it did.
func runInject(c *cli.Context, s *ui, o session.InjectOptions) error {
	o.Stdin = s.env.Stdin
	output := o.Output
	r, err := s.Inject(c.Context, o)
	if errors.Is(err, session.ErrCommittable) || errors.Is(err, session.ErrOtherEnv) {
		return &exitCodeError{code: exitPolicy, err: err}
	}
	if err != nil {
		return err
	}
	// Masks first, on stderr, as hush export does.
	if r.Mask {
		if err := inject.WriteGitHubMasks(s.env.Stderr, r.Secrets); err != nil {
			return err
		}
	}
	if output == "" {
		_, err := s.env.Stdout.Write(r.Data)
		return err
	}
	if !s.quiet {
		s.infof("wrote %s (0600) with %d secrets in plaintext; delete it when done", output, len(r.Secrets))
	}
	return nil
}
