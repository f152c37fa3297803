package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func exportCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "export",
			Usage:     "print an environment's secrets in a format other tools read",
			ArgsUsage: " ",
			Description: `Formats: dotenv, json, yaml, shell (eval-safe), docker (--env-file), k8s (a
Secret manifest), github ($GITHUB_ENV heredocs), sops (a SOPS file encrypted to the
environment's recipients; --sops-type yaml, json or dotenv). Every exported key
is audited. The formats that become an environment (shell, github, dotenv,
docker, k8s) leave out, with a warning, the names hush run would not inject
(LD_*, PATH, MAKEFLAGS, *_PROXY…; see hush run --help) unless hush.yaml's
allow_inject names them. With GITHUB_ACTIONS=true the values are masked in the
log first (::add-mask:: on stderr). -o writes a new file with mode 0600; it is plaintext (but for sops),
so prefer hush run.

EXAMPLES:
   eval "$(hush export --format shell)"
   hush export --env prod --format k8s --name app --namespace web | kubectl apply -f -
   hush export --format github >> "$GITHUB_ENV"`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "dotenv", Usage: "`FORMAT`: dotenv, json, yaml, shell, docker, k8s, github, sops"},
				&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a new `FILE` (0600) instead of stdout"},
				&cli.BoolFlag{Name: "force", Usage: "with -o, replace an existing file"},
				&cli.StringFlag{Name: "name", Usage: "k8s: the Secret's `NAME` (default: the project's name)"},
				&cli.StringFlag{Name: "namespace", Usage: "k8s: the Secret's `NAMESPACE`"},
				&cli.StringSliceFlag{Name: "only", Usage: "export only these `KEYS` (comma-separated, globs allowed)"},
				&cli.StringFlag{Name: "sops-type", Usage: "with --format sops: the file's `TYPE`, yaml (default), json or dotenv"},
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() > 0 {
					return usagef("export takes no arguments")
				}
				return runExport(s, exportOptions{format: c.String("format"), output: c.String("output"), force: c.Bool("force"),
					name: c.String("name"), namespace: c.String("namespace"), only: splitList(c.StringSlice("only")), sopsType: c.String("sops-type")})
			}),
		},
		{
			Name:      "import",
			Usage:     "import secrets from a dotenv, JSON, YAML or SOPS file (all or nothing)",
			ArgsUsage: "FILE",
			Description: `FILE is read in the dotenv dialect the mainstream readers share (see the
README); nothing in it is executed or expanded from your shell's environment,
and a $NAME not defined earlier in the file is kept as written. Values whose
reading depends on what readers do differently are named in a warning.
A bad line is reported by number, never with its value, and nothing is
imported. A key that exists with another value is a conflict (exit 6) unless
--overwrite. "-" reads stdin.

FILE must be a regular file. A symlink in the project (or a directory link on
the way) must lead to a file inside it: a commit can make .env a link to
~/.git-credentials. --follow reads such a file, a FIFO or a device anyway.

A SOPS file (YAML, JSON, dotenv or INI, recognised by its sops metadata) is
decrypted in memory with your identity, or any key source sops itself uses,
and refused if its MAC does not verify (exit 5). Nested keys become names:
db: {password: …} → DB_PASSWORD, lists → HOSTS_0, HOSTS_1; a top-level key
that is already a valid name is kept as written; a collision or a key that
cannot become a name is refused, naming its path.

EXAMPLES:
   hush import .env --env dev
   hush import secrets.enc.yaml --env prod
   hush import secrets.json --env prod --overwrite`,
			Flags: []cli.Flag{
				personalFlag,
				&cli.StringFlag{Name: "format", Usage: "`FORMAT`: dotenv, json or yaml (default: from the file name)"},
				&cli.BoolFlag{Name: "overwrite", Usage: "replace existing keys that have other values"},
				followFlag,
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() != 1 {
					return usagef("import takes one FILE")
				}
				return runImport(s, c.Args().First(), c.String("format"), c.Bool("overwrite"), c.Bool("follow"), scopeOf(c))
			}),
		},
	}
}

type exportOptions struct {
	format, output, name, namespace string
	sopsType                        string
	force                           bool
	only                            []string
}

func runExport(s *ui, o exportOptions) error {
	x, err := s.Export(session.ExportOptions{Format: o.format, SOPSType: o.sopsType, Name: o.name, Namespace: o.namespace, Only: o.only,
		Output: o.output, Force: o.force, SOPS: s.sopsHelper})
	if err != nil {
		return err
	}
	for _, k := range x.Skipped {
		s.warnf("not exporting %s: it can change what programs run, trust or write; allow it by name in hush.yaml (allow_inject)", k)
	}
	if len(x.Personal) > 0 {
		s.warnf("%s come from your personal store; the SOPS file shows them to every recipient of %s (use --only to leave them out)", strings.Join(x.Personal, ", "), x.Env)
	}
	if len(x.SSHRecipients) > 0 {
		s.infof("note: %s are SSH recipients, which sops reads from version 3.10 on", strings.Join(x.SSHRecipients, ", "))
	}
	// On GitHub Actions the values are masked in the log before they can
	// reach it, on stderr: stdout is the export itself, often appended to
	// $GITHUB_ENV, where a workflow command would be a bad line and the
	// runner would never see it (see inject.WriteGitHubMasks).
	if x.Mask {
		if err := inject.WriteGitHubMasks(s.env.Stderr, x.Secrets); err != nil {
			return err
		}
	}
	if o.output == "" {
		_, err := s.env.Stdout.Write(x.Data)
		return err
	}
	if x.SOPS {
		s.infof("%s holds %d secrets, encrypted to the recipients of %s", o.output, len(x.Secrets), x.Env)
		return nil
	}
	s.warnf("%s holds %d secrets in plaintext; delete it when done (hush run avoids the file)", o.output, len(x.Secrets))
	return nil
}

// runImport imports one file (session.Import) and renders what it did.
func runImport(s *ui, path, formatFlag string, overwrite, follow bool, scope store.Scope) error {
	rep, err := s.Import(session.ImportOptions{Scope: scope, Overwrite: overwrite,
		Source: session.Source{Path: path, Stdin: s.env.Stdin, Format: formatFlag, Follow: follow, SOPS: s.sopsHelper}})
	if rep == nil {
		return err
	}
	if len(rep.Duplicates) > 0 {
		s.warnf("%s sets %s more than once; the last value wins", path, strings.Join(rep.Duplicates, ", "))
	}
	if !rep.Applied {
		return err
	}
	s.infof("imported into %s: %d added, %d updated, %d unchanged", rep.Env, len(rep.Added), len(rep.Updated), len(rep.Same))
	warnDisputed(s, path, rep.Disputed)
	if rep.Refs > 0 {
		s.warnf("%d imported values are hush:// references, stored as text; hush run resolves references in --env-file, not in stores", rep.Refs)
	}
	return err
}
