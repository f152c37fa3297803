package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func runCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a program with the environment's secrets in its environment",
		ArgsUsage: "[--] CMD [ARGS...]",
		Description: `The child's environment is hush's plus the secrets (personal over team). Its
argv is run as given, never through a shell. With nothing to supervise, hush
replaces itself with the child, so signals, job control and the exit code are
exactly the child's. The exit code is the child's, 128+N when signal N killed
it, 125 when hush failed before starting it, 126 when CMD cannot be run and
127 when it is not found.

Names that change which code programs run, which servers they trust or where
they write (LD_*, PATH, BASH_ENV, MAKEFLAGS, CC, GIT_DIR, NODE_OPTIONS,
PYTHON*, *_PROXY, SSL_CERT_FILE, npm_config_*, HUSH_*…, in any case) are
never injected from a store or an --env-file unless hush.yaml's allow_inject
names them; the same policy applies to hush export. HUSH_IDENTITY and
HUSH_IDENTITY_FILE never reach the child. Values of the form hush://ENV/KEY
in hush's environment or in an --env-file are resolved; a store value is
passed as written. With GITHUB_ACTIONS=true every injected value is masked in
the Actions log first (the ::add-mask:: commands go to stderr).

With --env-file the file is the environment: an environment's store is added
only when named (--env, HUSH_ENV) or needed (--file). A file of vault://
references needs no hush project and no age identity, only VAULT_ADDR and a
Vault login, as the vault CLI does.

EXAMPLES:
   hush run -- npm start
   hush run --env prod --only DATABASE_URL -- ./migrate
   hush run --mask -- make deploy
   hush run --file GOOGLE_APPLICATION_CREDENTIALS=GCP_SA_JSON -- terraform plan
   hush run --env-file app.env -- ./server     # app.env: DB_PASSWORD=vault://secret/app#db_password`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-override", Usage: "keep a variable already in the environment instead of the secret"},
			&cli.BoolFlag{Name: "pristine", Usage: "start from an empty environment (keeping PATH HOME USER LOGNAME SHELL LANG LC_* TERM TZ)"},
			&cli.StringSliceFlag{Name: "only", Usage: "inject only these `KEYS` (comma-separated, globs allowed)"},
			&cli.StringSliceFlag{Name: "except", Usage: "do not inject these `KEYS` (comma-separated, globs allowed)"},
			&cli.BoolFlag{Name: "mask", Usage: "replace secret values in the child's output with [hush:KEY]"},
			&cli.StringSliceFlag{Name: "file", Usage: "hand secret KEY as an in-memory file whose path goes in VAR (`VAR=KEY`)"},
			&cli.StringSliceFlag{Name: "env-file", Usage: "add the variables of `FILE` (dotenv), resolving hush:// and vault:// references"},
			&cli.StringSliceFlag{Name: "vault-lease", Usage: "inject a Vault dynamic secret as NAME_FIELD, renewed while the child runs and revoked after (`NAME=PATH[?k=v&...]`)"},
			&cli.StringFlag{Name: "on-lease-end", Value: leaseEndTerm, Usage: "when a Vault lease or hush's token ends (max TTL, renewal failed): `term` stops the child and exits 8, warn lets it run"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return hint.With(usagef("run needs a command"), "hush run -- CMD ARGS...")
			}
			s, err := newSession(env, c)
			if err != nil {
				return &exitCodeError{code: inject.CodeFailed, err: err}
			}
			return runRun(c.Context, s, runOptions{
				argv: c.Args().Slice(), noOverride: c.Bool("no-override"), pristine: c.Bool("pristine"),
				only: splitList(c.StringSlice("only")), except: splitList(c.StringSlice("except")),
				mask: c.Bool("mask"), files: c.StringSlice("file"), envFiles: c.StringSlice("env-file"),
				leases: c.StringSlice("vault-lease"), onLeaseEnd: c.String("on-lease-end"),
			})
		},
	}
}

type runOptions struct {
	argv                 []string
	noOverride, pristine bool
	only, except         []string
	mask                 bool
	files, envFiles      []string
	leases               []string
	onLeaseEnd           string
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// runRun prepares the child and runs it. Every failure before the child
// starts is exit 125, so a caller can tell hush's failure from the child's.
func runRun(ctx context.Context, s *ui, o runOptions) error {
	code, err := prepareAndRun(ctx, s, o)
	if err != nil {
		var se *inject.StartError
		var ce *exitCodeError
		if errors.As(err, &ce) {
			return err
		}
		if errors.As(err, &se) {
			return &exitCodeError{code: se.Code, err: err}
		}
		return &exitCodeError{code: inject.CodeFailed, err: err}
	}
	return &exitCodeError{code: code}
}

func prepareAndRun(ctx context.Context, s *ui, o runOptions) (int, error) {
	p, envName, id, useStore, err := runSources(s, o)
	if err != nil {
		return 0, err
	}
	// allow_inject decides what reaches the child: not while it differs
	// from what the user acknowledged.
	var allowInject []string
	if p != nil {
		if err := p.CheckSettings("allow_inject"); err != nil {
			return 0, err
		}
		allowInject = p.Config.AllowInject
	}
	if err := s.AuditReady(); err != nil {
		return 0, err
	}
	var entries []store.Entry
	if useStore {
		if entries, err = p.Layered(envName, id); err != nil {
			return 0, err
		}
	}
	byName := make(map[string]*store.Secret, len(entries))
	secrets := make([]inject.Secret, 0, len(entries)+len(o.files))
	paths := map[string]string{} // injected name → audit path
	for _, e := range entries {
		byName[e.Name] = e.Secret
		secrets = append(secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Secret.Value.Reveal())})
		paths[e.Name] = s.SecretPath(envName, e.Name)
	}

	var files []*inject.SecretFile
	// The variables named by --file are the user's, on the command line:
	// KUBECONFIG=KUBE_CONFIG is what --file is for, so they pass the loader
	// policy.
	var fileNames []string
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, spec := range o.files {
		v, key, ok := strings.Cut(spec, "=")
		if !ok || store.ValidKeyName(v) != nil || store.ValidKeyName(key) != nil {
			return 0, usagef("--file %q: want VAR=KEY", spec)
		}
		sec, ok := byName[key]
		if !ok {
			return 0, fmt.Errorf("--file %s: %s %w in %s", spec, key, store.ErrNotFound, envName)
		}
		sf, err := inject.NewSecretFile(key, inject.NewValue(sec.Value.Reveal()))
		if err != nil {
			return 0, fmt.Errorf("--file %s: %w", spec, err)
		}
		files = append(files, sf)
		fileNames = append(fileNames, v)
		secrets = append(secrets, inject.Secret{Name: v, Value: inject.NewValue(sf.Path())})
		paths[v] = s.SecretPath(envName, key)
	}

	parent := s.env.Environ()
	var fileVars []string // --env-file variables, in order
	for _, f := range o.envFiles {
		fh, err := openEnvFile(p, f)
		if err != nil {
			return 0, err
		}
		imp, err := inject.ParseDotenv(fh)
		fh.Close()
		if err != nil {
			return 0, fmt.Errorf("--env-file %s: %w", f, err)
		}
		for _, sec := range imp.Secrets {
			fileVars = append(fileVars, sec.Name+"="+sec.Value.Reveal())
		}
	}

	// vault://mount/path#field references in hush's environment or an
	// --env-file are read from Vault now and injected as secrets (so they
	// are masked like the others). Store values are never references.
	allow := append(append([]string{}, allowInject...), fileNames...)
	var vaultRefs []inject.Secret
	takeVaultRefs := func(environ []string, policy bool) ([]string, error) {
		var kept []string
		for _, kv := range environ {
			name, v, _ := strings.Cut(kv, "=")
			if !strings.HasPrefix(v, "vault://") {
				kept = append(kept, kv)
				continue
			}
			if policy && !inject.Allowed(name, allow) {
				kept = append(kept, kv) // BuildEnv drops it, with the warning
				continue
			}
			val, err := resolveVaultRef(ctx, s, v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			vaultRefs = append(vaultRefs, inject.Secret{Name: name, Value: inject.NewValue(val)})
		}
		return kept, nil
	}
	if parent, err = takeVaultRefs(parent, false); err != nil {
		dropVault(s)
		return 0, err
	}
	if fileVars, err = takeVaultRefs(fileVars, true); err != nil {
		dropVault(s)
		return 0, err
	}
	secrets = append(secrets, vaultRefs...)

	// Dynamic secrets (--vault-lease, and vault:// references to dynamic
	// engines): leased now, renewed while the child runs, revoked when it
	// has exited, whatever way it exited.
	lr, err := startLeases(ctx, s, o.leases, o.onLeaseEnd)
	if err != nil {
		return 0, err
	}
	defer lr.stop()
	secrets = append(secrets, lr.secrets...)

	// hush://ENV/KEY references read other environments (or this one),
	// each decrypted once; every resolution is audited below.
	docs := map[string]map[string]*store.Secret{}
	if useStore {
		docs[envName] = byName
	}
	var refPaths []string
	resolve := func(env, key string) (inject.Value, error) {
		m, ok := docs[env]
		if !ok {
			if p == nil {
				return inject.Value{}, fmt.Errorf("reference hush://%s/%s: %w", env, key, store.ErrNoProject)
			}
			if id == nil {
				var err error
				if id, err = s.Identity(); err != nil {
					return inject.Value{}, err
				}
			}
			es, err := p.Layered(env, id)
			if err != nil {
				return inject.Value{}, err
			}
			m = map[string]*store.Secret{}
			for _, e := range es {
				m[e.Name] = e.Secret
			}
			docs[env] = m
		}
		sec, ok := m[key]
		if !ok {
			return inject.Value{}, fmt.Errorf("reference hush://%s/%s: %s %w in %s", env, key, key, store.ErrNotFound, env)
		}
		refPaths = append(refPaths, s.SecretPath(env, key))
		return inject.NewValue(sec.Value.Reveal()), nil
	}
	built, err := inject.BuildEnv(inject.EnvOptions{
		Parent: parent, Hidden: crypt.IdentityEnv, Files: fileVars, Secrets: secrets,
		NoOverride: o.noOverride, Pristine: o.pristine,
		Only: o.only, Except: o.except, Allow: allow, Resolve: resolve,
	})
	if err != nil {
		return 0, err
	}
	for _, d := range built.Dropped {
		s.warnf("not injecting %s: it can change what programs run, trust or write; allow it by name in hush.yaml (allow_inject)", d)
	}
	if len(built.Literal) > 0 {
		s.warnf("%s %s a hush:// reference, passed as written: references resolve only from your environment and --env-file, never from a store",
			strings.Join(built.Literal, ", "), map[bool]string{true: "holds", false: "hold"}[len(built.Literal) == 1])
	}
	if len(built.Kept) > 0 && !s.quiet {
		s.infof("kept the existing %s (--no-override)", strings.Join(built.Kept, ", "))
	}

	// One audit line for the run, naming every injected key, written
	// before the child starts: once hush execs, nothing runs after it.
	var auditKeys []string
	for _, sec := range built.Injected {
		if ap, ok := paths[sec.Name]; ok {
			auditKeys = append(auditKeys, ap[strings.LastIndexByte(ap, '/')+1:])
		}
	}
	if err := s.AuditRun(audit.SecretRead, envName, auditKeys, refPaths); err != nil {
		return 0, err
	}

	// The masks go to hush's stderr, never stdout: stdout is the child's
	// and may be redirected to a file or a pipe the runner never reads,
	// while the runner parses both streams for workflow commands (see
	// inject.WriteGitHubMasks).
	if s.env.Getenv("GITHUB_ACTIONS") == "true" {
		if err := inject.WriteGitHubMasks(s.env.Stderr, built.Injected); err != nil {
			return 0, err
		}
	}
	var masker *inject.Masker
	if o.mask {
		var short []string
		masker, short = inject.NewMasker(built.Injected)
		for _, n := range short {
			if !s.quiet { // -q: only what was asked for, and errors
				s.warnf("%s is shorter than 6 characters and is not masked", n)
			}
		}
	}
	// The child keeps the core-file limit hush was started with; hush's
	// own is zero (harden).
	unharden()
	code, err := inject.Run(lr.ctx, inject.Spec{
		Argv: o.argv, Env: built.Environ,
		Stdin: s.env.Stdin, Stdout: s.env.Stdout, Stderr: s.env.Stderr,
		Files: files, Mask: masker, Stay: lr.active,
	})
	if ended := lr.endedErr(); ended != nil && err == nil {
		return code, &exitCodeError{code: exitUnavailable, err: fmt.Errorf("vault: the child was stopped (its exit code was %d) because its credentials ended: %w", code, ended)}
	}
	return code, err
}

// runSources decides where run's values come from. With --env-file, the
// file is the environment: a store joins it only when named (--env,
// HUSH_ENV) or needed (--file VAR=KEY), never the default environment's
// whole store behind the user's back. A file of vault:// references then
// needs no hush project and no age identity; hush:// references in it
// open them when resolved.
func runSources(s *ui, o runOptions) (p *store.Project, envName string, id *crypt.Identity, useStore bool, err error) {
	if len(o.envFiles) == 0 || s.EnvFlag != "" || len(o.files) > 0 {
		p, envName, id, err = s.OpenEnv()
		if err == nil {
			if c, cerr := liveConflicts(s, p, envName, id); cerr == nil && len(c) > 0 {
				s.warnf("%s", conflictWarning(envName, c))
			}
		}
		return p, envName, id, true, err
	}
	p, err = s.Project()
	if errors.Is(err, store.ErrNoProject) {
		return nil, "", nil, false, nil
	}
	if err != nil {
		return nil, "", nil, false, err
	}
	s.infof("--env-file: injecting the file's variables only; to add an environment's store too, name it: hush run --env ENV --env-file FILE")
	return p, "", nil, false, nil
}

// openEnvFile opens an --env-file. Such files are usually committed, so a
// symlink in the project leading out of it (to ~/.env of another project,
// whose references would resolve here) is refused, as import refuses it.
// Anything else opens as the shell would: a pipe from <(…) is fine.
func openEnvFile(p *store.Project, path string) (*os.File, error) {
	if src, _ := store.WalkSource(path, sourceRoots(p)); src != nil && src.Escapes {
		return nil, hint.With(fmt.Errorf("--env-file: %w: %s is a link in the project (%s) leading out of it", store.ErrOutside, path, src.Planted),
			"check what the repository put there (ls -l %s)", safe.ShellWord(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	return f, nil
}
