package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
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
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usagef("export takes no arguments")
				}
				s, err := newSession(env, c)
				if err != nil {
					return err
				}
				return runExport(s, exportOptions{format: c.String("format"), output: c.String("output"), force: c.Bool("force"),
					name: c.String("name"), namespace: c.String("namespace"), only: splitList(c.StringSlice("only")), sopsType: c.String("sops-type")})
			},
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
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("import takes one FILE")
				}
				s, err := newSession(env, c)
				if err != nil {
					return err
				}
				return runImport(s, c.Args().First(), c.String("format"), c.Bool("overwrite"), c.Bool("follow"), scopeOf(c))
			},
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
	isSOPS := strings.EqualFold(o.format, "sops") // a SOPS file: see sops.go
	if o.sopsType != "" && !isSOPS {
		return usagef("--sops-type goes with --format sops")
	}
	format, err := inject.ParseFormat(o.format)
	if err != nil && !isSOPS {
		return usagef("%v", strings.TrimPrefix(err.Error(), "inject: "))
	}
	p, envName, id, err := s.OpenEnv()
	if err != nil {
		return err
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	entries, err := p.Layered(envName, id)
	if err != nil {
		return err
	}
	var secrets []inject.Secret
	var paths, personal []string
	allow := p.Config.AllowInject
	for _, e := range entries {
		if len(o.only) > 0 && !matchAny(o.only, e.Name) {
			continue
		}
		// The loader policy of hush run: an export that becomes an
		// environment (shell, github, dotenv, docker, k8s) leaves out what
		// run would not inject.
		if !isSOPS && format.SetsEnv() && !inject.Allowed(e.Name, allow) {
			s.warnf("not exporting %s: it can change what programs run, trust or write; allow it by name in hush.yaml (allow_inject)", e.Name)
			continue
		}
		secrets = append(secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Secret.Value.Reveal())})
		paths = append(paths, s.SecretPath(envName, e.Name))
		if e.Source == store.Personal {
			personal = append(personal, e.Name)
		}
	}
	name := o.name
	if name == "" {
		name = p.Config.Project
	}
	// Render first: a value the format cannot carry fails before anything
	// is written or audited as read.
	var buf strings.Builder
	if isSOPS {
		b, err := renderSOPS(s, p, envName, secrets, personal, o.sopsType)
		if err != nil {
			return err
		}
		buf.Write(b)
	} else if err := inject.Export(&buf, format, secrets, inject.ExportOptions{Name: strings.ToLower(name), Namespace: o.namespace, Allow: allow}); err != nil {
		return usagef("%v", err)
	}
	if err := s.Audit(audit.SecretRead, paths, nil); err != nil {
		return err
	}
	// On GitHub Actions the values are masked in the log before they can
	// reach it, on stderr: stdout is the export itself, often appended to
	// $GITHUB_ENV, where a workflow command would be a bad line and the
	// runner would never see it (see inject.WriteGitHubMasks).
	if !isSOPS && s.env.Getenv("GITHUB_ACTIONS") == "true" {
		if err := inject.WriteGitHubMasks(s.env.Stderr, secrets); err != nil {
			return err
		}
	}
	if o.output == "" {
		_, err := io.WriteString(s.env.Stdout, buf.String())
		return err
	}
	if err := writeExport(o.output, []byte(buf.String()), o.force); err != nil {
		return err
	}
	if isSOPS {
		s.infof("%s holds %d secrets, encrypted to the recipients of %s", o.output, len(secrets), envName)
		return nil
	}
	s.warnf("%s holds %d secrets in plaintext; delete it when done (hush run avoids the file)", o.output, len(secrets))
	return nil
}

// writeExport writes an export to a new file, 0600. With force an existing
// regular file is replaced atomically by a new 0600 file: never truncated
// and rewritten in place, so a 0644 file does not keep its mode, a hard
// link's other names keep their content and a reader holding the old file
// open never sees the new one. A symlink, a FIFO (whose reader would get
// the plaintext) or a device is refused, with or without force.
func writeExport(path string, data []byte, force bool) error {
	var err error
	if force {
		err = store.WriteFileAtomic(path, data)
	} else {
		err = store.CreateFileExclusive(path, data, 0o600)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return hint.With(fmt.Errorf("%s already exists", path), "pass --force to replace it")
	case errors.Is(err, store.ErrUnsafe):
		return hint.With(err, "write to a new regular file, or to stdout")
	}
	return err
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
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
