package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
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
Secret manifest), github ($GITHUB_ENV heredocs). Every exported key is audited.
-o writes a new file with mode 0600; it is plaintext, so prefer hush run.

EXAMPLES:
   eval "$(hush export --format shell)"
   hush export --env prod --format k8s --name app --namespace web | kubectl apply -f -
   hush export --format github >> "$GITHUB_ENV"`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "dotenv", Usage: "`FORMAT`: dotenv, json, yaml, shell, docker, k8s, github"},
				&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a new `FILE` (0600) instead of stdout"},
				&cli.BoolFlag{Name: "force", Usage: "with -o, replace an existing file"},
				&cli.StringFlag{Name: "name", Usage: "k8s: the Secret's `NAME` (default: the project's name)"},
				&cli.StringFlag{Name: "namespace", Usage: "k8s: the Secret's `NAMESPACE`"},
				&cli.StringSliceFlag{Name: "only", Usage: "export only these `KEYS` (comma-separated, globs allowed)"},
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
					name: c.String("name"), namespace: c.String("namespace"), only: splitList(c.StringSlice("only"))})
			},
		},
		{
			Name:      "import",
			Usage:     "import secrets from a dotenv, JSON or YAML file (all or nothing)",
			ArgsUsage: "FILE",
			Description: `FILE is read with godotenv's rules (a byte-order mark stripped, CRLF
handled); nothing in it is executed or expanded from your shell's environment.
A bad line is reported by number, never with its value, and nothing is
imported. A key that exists with another value is a conflict (exit 6) unless
--overwrite. "-" reads stdin.

EXAMPLES:
   hush import .env --env dev
   hush import secrets.json --env prod --overwrite`,
			Flags: []cli.Flag{
				personalFlag,
				&cli.StringFlag{Name: "format", Usage: "`FORMAT`: dotenv, json or yaml (default: from the file name)"},
				&cli.BoolFlag{Name: "overwrite", Usage: "replace existing keys that have other values"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("import takes one FILE")
				}
				s, err := newSession(env, c)
				if err != nil {
					return err
				}
				return runImport(s, c.Args().First(), c.String("format"), c.Bool("overwrite"), scopeOf(c))
			},
		},
	}
}

type exportOptions struct {
	format, output, name, namespace string
	force                           bool
	only                            []string
}

func runExport(s *session, o exportOptions) error {
	format, err := inject.ParseFormat(o.format)
	if err != nil {
		return usagef("%v", strings.TrimPrefix(err.Error(), "inject: "))
	}
	p, envName, id, err := s.openEnv()
	if err != nil {
		return err
	}
	if err := s.auditReady(); err != nil {
		return err
	}
	entries, err := p.Layered(envName, id)
	if err != nil {
		return err
	}
	var secrets []inject.Secret
	var paths []string
	for _, e := range entries {
		if len(o.only) > 0 && !matchAny(o.only, e.Name) {
			continue
		}
		secrets = append(secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Secret.Value.Reveal())})
		paths = append(paths, s.secretPath(envName, e.Name))
	}
	name := o.name
	if name == "" {
		name = p.Config.Project
	}
	// Render first: a value the format cannot carry fails before anything
	// is written or audited as read.
	var buf strings.Builder
	if err := inject.Export(&buf, format, secrets, inject.ExportOptions{Name: strings.ToLower(name), Namespace: o.namespace}); err != nil {
		return usagef("%v", err)
	}
	if err := s.audit(audit.SecretRead, paths, nil); err != nil {
		return err
	}
	if o.output == "" {
		_, err := io.WriteString(s.env.Stdout, buf.String())
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL | store.ONoFollow
	if o.force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC | store.ONoFollow
	}
	f, err := os.OpenFile(o.output, flags, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return withHint(fmt.Errorf("%s already exists", o.output), "pass --force to replace it")
		}
		return err
	}
	_, err = io.WriteString(f, buf.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(o.output)
		return err
	}
	s.warnf("%s holds %d secrets in plaintext; delete it when done (hush run avoids the file)", o.output, len(secrets))
	return nil
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// importFormat picks the format from --format or the file name.
func importFormat(path, flag string) (inject.Format, error) {
	if flag != "" {
		f, err := inject.ParseFormat(flag)
		if err != nil || (f != inject.FormatDotenv && f != inject.FormatJSON && f != inject.FormatYAML) {
			return "", usagef("--format %q: import reads dotenv, json or yaml", flag)
		}
		return f, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return inject.FormatJSON, nil
	case ".yaml", ".yml":
		return inject.FormatYAML, nil
	}
	return inject.FormatDotenv, nil
}

func runImport(s *session, path, formatFlag string, overwrite bool, scope store.Scope) error {
	p, err := s.openProject()
	if err != nil {
		return err
	}
	envName, err := s.envName()
	if err != nil {
		return err
	}
	format, err := importFormat(path, formatFlag)
	if err != nil {
		return err
	}
	var r io.Reader = s.env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	imp, err := inject.Import(io.LimitReader(r, 64<<20), format)
	if err != nil {
		return fmt.Errorf("%w: %s: %v; nothing imported", store.ErrInvalid, path, err)
	}
	if len(imp.Duplicates) > 0 {
		s.warnf("%s sets %s more than once; the last value wins", path, strings.Join(imp.Duplicates, ", "))
	}
	for _, sec := range imp.Secrets {
		if err := store.ValidKeyName(sec.Name); err != nil {
			return fmt.Errorf("%v; nothing imported", err)
		}
		if err := store.ValidValue(sec.Value.Reveal()); err != nil {
			return fmt.Errorf("%s: %v; nothing imported", sec.Name, err)
		}
	}
	id, err := s.identityOrErr()
	if err != nil {
		return err
	}
	if err := s.auditReady(); err != nil {
		return err
	}
	now := s.env.Now().UTC().Truncate(time.Second)
	var added, updated, same []string
	err = p.Update(envName, scope, id, func(d *store.Document) error {
		var conflicts []string
		for _, sec := range imp.Secrets {
			if old, ok := d.Secrets[sec.Name]; ok && old.Value.Reveal() != sec.Value.Reveal() && !overwrite {
				conflicts = append(conflicts, sec.Name)
			}
		}
		if len(conflicts) > 0 {
			sort.Strings(conflicts)
			return withHint(fmt.Errorf("%w: %s already hold other values in %s; nothing imported", store.ErrConflict, strings.Join(conflicts, ", "), envName),
				"pass --overwrite to replace them")
		}
		for _, sec := range imp.Secrets {
			v := sec.Value.Reveal()
			old, ok := d.Secrets[sec.Name]
			switch {
			case !ok:
				d.Secrets[sec.Name] = &store.Secret{Value: store.Value(v), Type: store.InferType(sec.Name), Created: now, Updated: now, Rotated: now}
				added = append(added, sec.Name)
			case old.Value.Reveal() != v:
				old.Value, old.Updated, old.Rotated, old.Exposed, old.Compromised = store.Value(v), now, now, nil, time.Time{}
				updated = append(updated, sec.Name)
			default:
				same = append(same, sec.Name)
			}
		}
		return nil
	})
	var paths []string
	for _, n := range append(append([]string{}, added...), updated...) {
		paths = append(paths, s.secretPath(envName, n))
	}
	if err != nil {
		paths = []string{s.secretPath(envName, "")}
	}
	if aerr := s.audit(audit.SecretWrite, paths, err); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	s.infof("imported into %s: %d added, %d updated, %d unchanged", envName, len(added), len(updated), len(same))
	if refs, _ := inject.FindSecretRefs(imp.Secrets); len(refs) > 0 {
		s.warnf("%d imported values are hush:// references, stored as text; hush run resolves references in --env-file, not in stores", len(refs))
	}
	return nil
}
