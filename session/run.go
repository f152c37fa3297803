package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/vault"
)

// This file prepares hush run: which sources, which keys, references
// resolved, the child's environment built by inject's policy, the one
// audit line of the run, and the Vault leases started. The CLI then runs
// the child (inject.Run) with the plan, and owns signals and exit codes.

// RunOptions are hush run's flags, and hush's own environment.
type RunOptions struct {
	// Parent is the environment hush was given, in os.Environ form.
	Parent []string
	// NoOverride keeps a variable already in Parent; Pristine starts from
	// an almost empty environment (inject.EnvOptions).
	NoOverride, Pristine bool
	// Only and Except filter the secrets by name (globs).
	Only, Except []string
	// Files are --file VAR=KEY: KEY handed as an in-memory file whose path
	// goes in VAR.
	Files []string
	// EnvFiles are --env-file FILE (dotenv); with them, the file is the
	// environment (see runSources).
	EnvFiles []string
	// Mounts are --mount VAR[=FORMAT]: the whole injected set rendered in
	// FORMAT (dotenv, the default, json or yaml) as one in-memory file whose
	// path goes in VAR, for programs that insist on reading a .env file.
	Mounts []string
	// Leases are --vault-lease NAME=PATH[?k=v&...]; OnLeaseEnd is
	// LeaseEndTerm (or ""), LeaseEndWarn or LeaseEndRestart.
	Leases     []string
	OnLeaseEnd string
	// Opened, when set, is called once the environment's store is open,
	// before anything is read (the CLI warns of an unresolved merge).
	Opened func(p *store.Project, env string, id *crypt.Identity)
}

// RunPlan is a prepared run: the child's environment, what it holds, and
// what must stay alive while it runs. Close it when the child is done, on
// every path (the run's files and leases end with it).
type RunPlan struct {
	// Env is the environment whose store was injected, "" when none was.
	Env string
	// Environ is the child's environment.
	Environ inject.Environ
	// Injected are the secret values in Environ: what to mask.
	Injected []inject.Secret
	// Files are the in-memory files of --file and --mount, to hand to
	// inject.Run.
	Files []*inject.SecretFile
	// Mounted are the --mount files.
	Mounted []Mount
	// Dropped, Literal and Kept are inject.Env's: names the loader policy
	// left out, store values that look like references and were passed as
	// written, and secrets --no-override did not inject.
	Dropped, Literal, Kept []string
	// Ctx is what the child runs under: done when a lease ended under
	// --on-lease-end=term.
	Ctx context.Context
	// Stay says hush must stay while the child runs (leases to renew):
	// it must not exec the child.
	Stay bool

	leases *leaseRun
	// watch are the files the values came from, as they were read;
	// fileValues the values of the --file files (for digest).
	watch      watchList
	fileValues []string
	pathVars   map[string]bool // the variables holding the files' paths
}

// pathVar records that name holds the path of one of the plan's files.
func (pl *RunPlan) pathVar(name string) {
	if pl.pathVars == nil {
		pl.pathVars = map[string]bool{}
	}
	pl.pathVars[name] = true
}

// Ended is the lease end that stopped the child, or nil.
func (pl *RunPlan) Ended() error {
	if pl.leases == nil {
		return nil
	}
	return pl.leases.endedErr()
}

// Close revokes the run's leases and removes its files. It is safe to call
// more than once.
func (pl *RunPlan) Close() {
	if pl.leases != nil {
		pl.leases.stop()
	}
	for _, f := range pl.Files {
		f.Close()
	}
}

// PrepareRun prepares hush run's child. Nothing of it starts until the
// run's audit line is written: one line for the store's keys, one per
// hush:// reference (they may name other environments) and per Vault read.
// On error nothing is left behind (no lease, no file).
func (s *Session) PrepareRun(ctx context.Context, o RunOptions) (_ *RunPlan, err error) {
	src, err := s.runSources(o)
	if err != nil {
		return nil, err
	}
	p, envName, id := src.project, src.env, src.id
	// allow_inject decides what reaches the child: not while it differs
	// from what the user acknowledged.
	var allowInject []string
	if p != nil {
		if err := p.CheckSettings("allow_inject"); err != nil {
			return nil, err
		}
		allowInject = p.Config.AllowInject
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	var entries []store.Entry
	plan := &RunPlan{Env: envName, Ctx: ctx}
	defer func() {
		if err != nil {
			plan.Close()
		}
	}()
	// The files' state is taken before they are read: a change between
	// the two is then seen by --watch, never lost.
	if src.useStore {
		plan.watch.add(storePaths(p, envName)...)
	}
	plan.watch.addEnvFiles(o.EnvFiles)
	if src.useStore {
		if entries, err = p.Layered(envName, id); err != nil {
			return nil, err
		}
	}
	in := s.storeSecrets(envName, entries)
	fileNames, err := in.addFiles(plan, o.Files)
	if err != nil {
		return nil, err
	}
	byName, secrets := in.byName, in.secrets

	fileVars, err := readEnvFiles(p, o.EnvFiles)
	if err != nil {
		return nil, err
	}

	allow := append(append([]string{}, allowInject...), fileNames...)
	parent, fileVars, fromVault, err := s.fromVault(ctx, plan, o, fileVars, allow)
	if err != nil {
		return nil, err
	}
	secrets = append(secrets, fromVault...)

	refs := &refResolver{s: s, project: p, id: id, docs: map[string]map[string]*store.Secret{}, inherited: map[string]string{}}
	if src.useStore {
		refs.docs[envName] = byName
		for name, from := range in.from {
			if from != "" && from != envName {
				refs.inherited[envName+"/"+name] = from
			}
		}
	}
	hidden := append(slices.Clone(crypt.IdentityEnv), vault.LoginSecretEnv(s.runVaultConfig(p))...)
	built, err := inject.BuildEnv(inject.EnvOptions{
		Parent: parent, Hidden: hidden, Files: fileVars, Secrets: secrets,
		NoOverride: o.NoOverride, Pristine: o.Pristine,
		Only: o.Only, Except: o.Except, Allow: allow, Resolve: refs.resolve,
	})
	if err != nil {
		return nil, err
	}
	plan.Environ, plan.Injected = built.Environ, built.Injected
	for env := range refs.docs {
		if p != nil {
			plan.watch.add(storePaths(p, env)...)
		}
	}
	plan.Dropped, plan.Literal, plan.Kept = built.Dropped, built.Literal, built.Kept
	if err := plan.addMounts(o.Mounts, allow); err != nil {
		return nil, err
	}

	// One audit line for the run per environment read, naming every
	// injected key (a value staging inherits is a read of dev), written
	// before the child starts: once hush execs, nothing runs after it.
	// Keys are grouped by the environment holding them, without an audit
	// path per key (building 10,000 paths only to cut them again cost more
	// than the line). The environment's own keys go in one slice sized
	// for all of them, the few inherited ones by parent; groups come in
	// the order of their first key.
	var groups []EnvKeys
	own := -1
	at := map[string]int{}
	for _, sec := range built.Injected {
		key, ok := in.key(sec.Name)
		if !ok {
			continue
		}
		env, inherited := in.from[key]
		if !inherited {
			if own < 0 {
				own = len(groups)
				groups = append(groups, EnvKeys{Env: envName, Keys: make([]string, 0, len(built.Injected))})
			}
			groups[own].Keys = append(groups[own].Keys, key)
			continue
		}
		i, seen := at[env]
		if !seen {
			i = len(groups)
			at[env] = i
			groups = append(groups, EnvKeys{Env: env})
		}
		groups[i].Keys = append(groups[i].Keys, key)
	}
	if err := s.AuditRunFrom(audit.SecretRead, groups, refs.paths); err != nil {
		return nil, err
	}
	return plan, nil
}

// fromVault reads the vault://mount/path#field references in hush's
// environment (o.Parent) and fileVars, the --env-file variables, and
// starts the run's leases (o.Leases, and what the references leased),
// which plan then holds. It returns Parent and fileVars without the
// references, and the values read, as secrets to inject (so they are
// masked like the others). Store values are never references.
func (s *Session) fromVault(ctx context.Context, plan *RunPlan, o RunOptions, fileVars, allow []string) (parent, vars []string, secrets []inject.Secret, err error) {
	rv := &runVault{s: s}
	// One hush-cloud answers every cloud reference of the run, and ends
	// before the child starts.
	defer s.CloseCloud()
	parent, secrets, err = s.takeVaultRefs(ctx, rv, o.Parent, false, nil)
	if err == nil {
		var more []inject.Secret
		vars, more, err = s.takeVaultRefs(ctx, rv, fileVars, true, allow)
		secrets = append(secrets, more...)
	}
	if err != nil {
		s.dropVault(rv)
		return nil, nil, nil, err
	}
	// Dynamic secrets (--vault-lease, and vault:// references to dynamic
	// engines): leased now, renewed while the child runs, revoked when it
	// has exited, whatever way it exited.
	lr, err := s.startLeases(ctx, rv, o.Leases, o.OnLeaseEnd)
	if err != nil {
		return nil, nil, nil, err
	}
	plan.leases, plan.Ctx, plan.Stay = lr, lr.ctx, lr.active
	return parent, vars, append(secrets, lr.secrets...), nil
}

// runSecrets are the secrets of a run's store and its --file variables,
// each with the key of the store it came from.
type runSecrets struct {
	s      *Session
	env    string
	byName map[string]*store.Secret
	// from maps a key inherited from a parent to the environment whose
	// store holds it; a key of env's own stores is not in it.
	from    map[string]string
	secrets []inject.Secret
	// fileKeys maps a --file variable to its key; every other name the
	// store holds is its own key. (No audit path per key: the run's line
	// names the keys under one path, and building 10,000 paths only to
	// cut them again cost more than the line.)
	fileKeys map[string]string
}

func (s *Session) storeSecrets(env string, entries []store.Entry) *runSecrets {
	in := &runSecrets{s: s, env: env, byName: make(map[string]*store.Secret, len(entries)),
		from: map[string]string{}, secrets: make([]inject.Secret, 0, len(entries))}
	for _, e := range entries {
		in.byName[e.Name] = e.Secret
		if e.Inherited(env) {
			in.from[e.Name] = e.Env
		}
		in.secrets = append(in.secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Secret.Value.Reveal())})
	}
	return in
}

// key is the store key an injected name came from, if it came from the
// store (a key, or a --file variable).
func (in *runSecrets) key(name string) (string, bool) {
	if k, ok := in.fileKeys[name]; ok {
		return k, true
	}
	_, ok := in.byName[name]
	return name, ok
}

// addFiles makes the in-memory file of each --file VAR=KEY, kept in plan
// (which closes them), and injects its path as VAR. It returns the VARs:
// they are the user's, on the command line (KUBECONFIG=KUBE_CONFIG is what
// --file is for), so they pass the loader policy.
func (in *runSecrets) addFiles(plan *RunPlan, specs []string) ([]string, error) {
	var names []string
	for _, spec := range specs {
		v, key, ok := strings.Cut(spec, "=")
		if !ok || store.ValidKeyName(v) != nil || store.ValidKeyName(key) != nil {
			return nil, Usagef("--file %q: want VAR=KEY", spec)
		}
		sec, ok := in.byName[key]
		if !ok {
			return nil, fmt.Errorf("--file %s: %s %w in %s", spec, key, store.ErrNotFound, in.env)
		}
		sf, err := inject.NewSecretFile(key, inject.NewValue(sec.Value.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("--file %s: %w", spec, err)
		}
		plan.Files = append(plan.Files, sf)
		plan.fileValues = append(plan.fileValues, key+"="+sec.Value.Reveal())
		plan.pathVar(v)
		names = append(names, v)
		in.secrets = append(in.secrets, inject.Secret{Name: v, Value: inject.NewValue(sf.Path())})
		if in.fileKeys == nil {
			in.fileKeys = map[string]string{}
		}
		in.fileKeys[v] = key
	}
	return names, nil
}

// runSource is where a run's values come from.
type runSource struct {
	project  *store.Project // nil outside a project (an --env-file run)
	env      string
	id       *crypt.Identity
	useStore bool
}

// runSources decides where run's values come from. With --env-file, the
// file is the environment: a store joins it only when named (--env,
// HUSH_ENV) or needed (--file VAR=KEY), never the default environment's
// whole store behind the user's back. A file of vault:// references then
// needs no hush project and no age identity; hush:// references in it
// open them when resolved.
func (s *Session) runSources(o RunOptions) (runSource, error) {
	if len(o.EnvFiles) == 0 || s.EnvFlag != "" || len(o.Files) > 0 {
		p, envName, id, err := s.OpenEnv()
		if err != nil {
			return runSource{}, err
		}
		if o.Opened != nil {
			o.Opened(p, envName, id)
		}
		return runSource{project: p, env: envName, id: id, useStore: true}, nil
	}
	p, err := s.Project()
	if errors.Is(err, store.ErrNoProject) {
		return runSource{}, nil
	}
	if err != nil {
		return runSource{}, err
	}
	s.Report.Infof("--env-file: injecting the file's variables only; to add an environment's store too, name it: hush run --env ENV --env-file FILE")
	return runSource{project: p}, nil
}

// readEnvFiles reads the variables of the --env-file files, in order, in
// os.Environ form.
func readEnvFiles(p *store.Project, files []string) ([]string, error) {
	var vars []string
	for _, f := range files {
		fh, err := openRepoFile(p, "--env-file", f)
		if err != nil {
			return nil, err
		}
		imp, err := inject.ParseDotenv(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("--env-file %s: %w", f, err)
		}
		for _, sec := range imp.Secrets {
			vars = append(vars, sec.Name+"="+sec.Value.Reveal())
		}
	}
	return vars, nil
}

// openRepoFile opens an --env-file or a template (what). Such files are
// usually committed, so a symlink in the project leading out of it (to
// ~/.env of another project, whose references would resolve here, or to
// ~/.aws/credentials, which a template would copy into its output) is
// refused, as import refuses it. Anything else opens as the shell would:
// a pipe from <(…) is fine.
func openRepoFile(p *store.Project, what, path string) (*os.File, error) {
	if src, _ := store.WalkSource(path, SourceRoots(p)); src != nil && src.Escapes {
		return nil, hint.With(fmt.Errorf("%s: %w: %s is a link in the project (%s) leading out of it", what, store.ErrOutside, path, src.Planted),
			"check what the repository put there (ls -l %s)", safe.ShellWord(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return f, nil
}

// takeVaultRefs reads the vault:// references of environ from Vault and
// returns the rest of environ and the values read, as secrets. With policy
// (an --env-file) the loader policy, with allow, applies first: a reference
// under a name the policy drops is left for BuildEnv, which drops it with
// the warning, and never read.
func (s *Session) takeVaultRefs(ctx context.Context, rv *runVault, environ []string, policy bool, allow []string) (kept []string, refs []inject.Secret, err error) {
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		if k, ok := cloudRefKind(v); ok && (!policy || inject.Allowed(name, allow)) {
			val, err := s.resolveCloudRef(ctx, k, v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			refs = append(refs, inject.Secret{Name: name, Value: inject.NewValue(val)})
			continue
		}
		if !strings.HasPrefix(v, vaultRefScheme) {
			kept = append(kept, kv)
			continue
		}
		if policy && !inject.Allowed(name, allow) {
			kept = append(kept, kv)
			continue
		}
		val, err := s.resolveVaultRef(ctx, rv, v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		refs = append(refs, inject.Secret{Name: name, Value: inject.NewValue(val)})
	}
	return kept, refs, nil
}

// refResolver resolves hush://ENV/KEY references for BuildEnv: each
// environment decrypted once, personal over team, every resolution kept
// for the run's audit lines.
type refResolver struct {
	s       *Session
	project *store.Project
	id      *crypt.Identity
	docs    map[string]map[string]*store.Secret
	// inherited is "env/KEY" → the parent the value came from.
	inherited map[string]string
	paths     []string // the audit paths of the references resolved
}

func (r *refResolver) resolve(env, key string) (inject.Value, error) {
	m, ok := r.docs[env]
	if !ok {
		if r.project == nil {
			return inject.Value{}, fmt.Errorf("reference hush://%s/%s: %w", env, key, store.ErrNoProject)
		}
		if r.id == nil {
			var err error
			if r.id, err = r.s.Identity(); err != nil {
				return inject.Value{}, err
			}
		}
		es, err := r.project.Layered(env, r.id)
		if err != nil {
			return inject.Value{}, err
		}
		m = map[string]*store.Secret{}
		for _, e := range es {
			m[e.Name] = e.Secret
			if e.Inherited(env) {
				r.inherited[env+"/"+e.Name] = e.Env
			}
		}
		r.docs[env] = m
	}
	sec, ok := m[key]
	if !ok {
		return inject.Value{}, fmt.Errorf("reference hush://%s/%s: %s %w in %s", env, key, key, store.ErrNotFound, env)
	}
	from := env
	if parent, ok := r.inherited[env+"/"+key]; ok {
		from = parent
	}
	r.paths = append(r.paths, r.s.SecretPath(from, key))
	return inject.NewValue(sec.Value.Reveal()), nil
}

// runVaultConfig is the project's vault: section for what run hides from
// the child; the zero Config outside a project or when it does not parse
// (the Vault steps report that themselves).
func (s *Session) runVaultConfig(p *store.Project) vault.Config {
	var c vault.Config
	if p != nil {
		c, _ = vault.ParseConfig(p.Config.Extra["vault"])
	}
	return c
}
