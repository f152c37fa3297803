package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
)

type vaultOptions struct {
	address, mount, path string
	layout               string
	prefer               string
	json, status, fail   bool
	write                string
}

func vaultFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "address", Usage: "Vault `URL` (default: VAULT_ADDR, then hush.yaml's vault.address)"},
		&cli.StringFlag{Name: "mount", Usage: "KV engine `MOUNT` (default: hush.yaml's vault.mount, then secret)"},
		&cli.StringFlag{Name: "path", Usage: "path `TEMPLATE` inside the mount, {project} and {env} replaced (default: {project}/{env})"},
		&cli.StringFlag{Name: "layout", Usage: "`fields` (one secret per environment, the default) or tree (one per key)"},
	}
}

func vaultOpts(c *cli.Context) vaultOptions {
	return vaultOptions{address: c.String("address"), mount: c.String("mount"), path: c.String("path"), layout: c.String("layout"),
		prefer: c.String("prefer"), json: c.Bool("json"), fail: c.Bool("fail"), write: c.String("write")}
}

var preferFlag = &cli.StringFlag{Name: "prefer", Usage: "resolve keys both sides changed: `local` or remote wins"}

func vaultCommands(env *Env) []*cli.Command {
	action := func(run func(context.Context, *ui, vaultOptions) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("%s takes no arguments", c.Command.Name)
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return vaultHint(run(c.Context, s, vaultOpts(c)))
		}
	}
	return []*cli.Command{{
		Name:  "vault",
		Usage: "sync environments with HashiCorp Vault, both ways",
		Description: `An environment lives in a KV secret (v1 or v2) at MOUNT/PATH, by default
secret/PROJECT/ENV, one field per key (layout: fields) or one secret per key
(layout: tree). Settings come from the vault: section of .hush/hush.yaml.
hush remembers what it last synced, so it tells a local change from a remote
one; a key both sides changed differently stops a push or pull (exit 6)
until --prefer says which side wins.

EXAMPLES:
   hush vault diff --env prod
   hush vault push --env prod
   hush vault pull --env dev --prefer remote
   hush vault policy --env prod --write myapp-prod-read`,
		Subcommands: []*cli.Command{
			{Name: "diff", Description: `EXAMPLE:
   hush vault diff --env prod      # exit 1 when the sides differ`, Usage: "list keys changed on each side since the last sync (names only)",
				Flags: append(vaultFlags(), &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}), Action: action(runVaultDiff)},
			{Name: "status", Description: `EXAMPLE:
   hush vault status --env prod --fail`, Usage: "say whether an environment is in step, ahead, behind or diverged (--fail: exit 1 unless in step)",
				Flags: append(vaultFlags(), &cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
					&cli.BoolFlag{Name: "fail", Usage: "exit 1 when the sides are not in step, as vault diff does"}), Action: action(runVaultStatus)},
			{Name: "push", Description: `EXAMPLE:
   hush vault push --env prod
   hush vault push --env prod --prefer local   # settle a conflict with the local values`, Usage: "write local changes to Vault (check-and-set)", Flags: append(vaultFlags(), preferFlag), Action: action(runVaultPush)},
			{Name: "pull", Description: `EXAMPLE:
   hush vault pull --env prod
   hush vault pull --env prod --prefer remote`, Usage: "write Vault's changes to the team store", Flags: append(vaultFlags(), preferFlag), Action: action(runVaultPull)},
			{Name: "policy", Description: `EXAMPLE:
   hush vault policy --env prod --write myapp-prod-read`, Usage: "print (or --write) a least-privilege policy to read an environment",
				Flags: append(vaultFlags(), &cli.StringFlag{Name: "write", Usage: "also store it in Vault as policy `NAME`"}), Action: action(runVaultPolicy)},
		},
	}}
}

// vaultHint adds the hint that fits a Vault error.
func vaultHint(err error) error {
	var he *hint.Error
	switch {
	case err == nil || errors.As(err, &he):
		return err
	case errors.Is(err, sync.ErrDenied):
		return hint.With(err, "%s", deniedHint(err))
	case errors.Is(err, sync.ErrUnavailable):
		return hint.With(err, "is Vault running and reachable? set VAULT_ADDR, --address or vault.address in .hush/hush.yaml")
	case errors.Is(err, sync.ErrDeleted):
		return err
	}
	var ce *sync.ConflictError
	if errors.As(err, &ce) {
		return hint.With(err, "see them with hush vault diff, then choose: hush vault push --prefer local, or hush vault pull --prefer remote")
	}
	return err
}

// deniedHint names what to check for the auth method in use.
func deniedHint(err error) string {
	method, login, _ := vault.Denial(err)
	switch {
	case method == "approle" && login:
		return "check the AppRole credentials (role_id, role_id_file or VAULT_ROLE_ID; secret_id_file or VAULT_SECRET_ID: a secret id may be used up or expired) and vault.auth.mount in .hush/hush.yaml"
	case (method == "jwt" || method == "kubernetes") && login:
		return fmt.Sprintf("check the token in vault.auth.token_file (expired? for this audience?) and that the %s role in vault.auth.role accepts it", method)
	case method != "" && method != "token":
		return fmt.Sprintf("the %s login worked but its token is refused here: check the policies its role grants (token_policies) for this path", method)
	}
	return "check VAULT_TOKEN (or run vault login) and that its policies allow this path; the vault: auth section of .hush/hush.yaml sets another login method"
}

// openVault builds the backend from hush.yaml, flags and the environment.
func openVault(s *ui, o vaultOptions) (*vault.Vault, error) {
	var cfg vault.Config
	project := ""
	p, err := s.Project()
	switch {
	case err == nil:
		// The vault: section decides where the token and the values go
		// and which files are read as credentials: nothing is read or sent
		// while it differs from what this user acknowledged.
		if err := p.CheckSettings("vault", "project", "id"); err != nil {
			return nil, err
		}
		project = p.Config.Project
		if cfg, err = vault.ParseConfig(p.Config.Extra["vault"]); err != nil {
			return nil, err
		}
		fp, err := s.filePolicy(p)
		if err != nil {
			return nil, err
		}
		for _, f := range cfg.Files() {
			if *f.Path, err = fp.Check(f.Name, *f.Path); err != nil {
				return nil, err
			}
		}
	case !errors.Is(err, store.ErrNoProject):
		return nil, err
	}
	if o.mount != "" {
		cfg.Mount = o.mount
	}
	if o.path != "" {
		cfg.Path = o.path
	}
	if o.layout != "" {
		cfg.Layout = o.layout
	}
	return vault.New(vault.Options{Config: cfg, Project: project, AddressFlag: o.address, Getenv: s.env.Getenv, Home: s.Home(),
		UserAgent: "hush/" + version})
}

// closeVault revokes the token hush logged in with (AppRole, JWT,
// Kubernetes) when the command is done with it, so runs do not pile up
// live tokens; a user's own token is left alone.
func closeVault(s *ui, b any) {
	c, ok := b.(interface{ Close(context.Context) error })
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		s.warnf("%v; the token hush logged in with stays valid until its TTL ends", err)
	}
}

func newSyncer(s *ui, o vaultOptions) (*sync.Syncer, error) {
	p, envName, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	key, err := id.DeriveKey("vault sync")
	if err != nil {
		return nil, fmt.Errorf("%w (hush vault needs an age or SSH identity it can derive keys from)", err)
	}
	v, err := openVault(s, o)
	if err != nil {
		return nil, err
	}
	return &sync.Syncer{Backend: v, Project: p, Env: envName, Identity: id, Hasher: sync.NewHasher(key),
		State: sync.NewState(p.PersonalDir(), "vault-state.json"), Now: s.env.Now}, nil
}

func runVaultDiff(ctx context.Context, s *ui, o vaultOptions) error {
	sy, err := newSyncer(s, o)
	if err != nil {
		return err
	}
	defer closeVault(s, sy.Backend)
	// Both sides' values are read to compare them, none is shown: a list.
	if err := s.AuditReady(); err != nil {
		return err
	}
	r, err := sy.Compare(ctx)
	if aerr := s.AuditWith(audit.SecretList, s.SecretPath(sy.Env, ""), err); aerr != nil {
		return aerr
	}
	// vault diff, like hush diff and diff(1), exits 1 when the sides
	// differ; vault status is a report (exit 0) unless --fail asks the same.
	differs := error(nil)
	if r.Status() != sync.InStep && (!o.status || o.fail) {
		differs = &exitCodeError{code: exitDiffers}
	}
	if o.json {
		if err := writeVaultJSON(s, r); err != nil {
			return err
		}
		return differs
	}
	printf(s.env.Stdout, "%s: %s with %s (remote version %d, last synced %d)\n", r.Env, r.Status(), r.Location, r.RemoteVersion, r.SyncedVersion)
	if n := syncNote(r); n != "" {
		printf(s.env.Stdout, "%s\n", n)
	}
	if o.status {
		d := r.Diff
		if n := len(d.Local) + len(d.Remote) + len(d.Conflicts); n > 0 {
			printf(s.env.Stdout, "%d local, %d remote, %d conflicting changes; see hush vault diff\n", len(d.Local), len(d.Remote), len(d.Conflicts))
		}
		return differs
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	for _, c := range r.Diff.Local {
		printf(tw, "  local\t%s\t%s\t(push)\n", c.Kind, c.Key)
	}
	for _, c := range r.Diff.Remote {
		printf(tw, "  remote\t%s\t%s\t(pull)\n", c.Kind, c.Key)
	}
	for _, k := range r.Diff.Conflicts {
		printf(tw, "  both\tconflict\t%s\t(--prefer)\n", k)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return differs
}

func writeVaultJSON(s *ui, r *sync.Report) error {
	type change struct {
		Key    string `json:"key"`
		Side   string `json:"side"`
		Change string `json:"change"`
	}
	out := struct {
		Env           string   `json:"environment"`
		Location      string   `json:"location"`
		Status        string   `json:"status"`
		RemoteVersion int      `json:"remote_version"`
		SyncedVersion int      `json:"synced_version"`
		Note          string   `json:"note,omitempty"`
		Changes       []change `json:"changes"`
	}{Env: r.Env, Location: r.Location, Status: string(r.Status()), RemoteVersion: r.RemoteVersion, SyncedVersion: r.SyncedVersion, Note: syncNote(r), Changes: []change{}}
	for _, c := range r.Diff.Local {
		out.Changes = append(out.Changes, change{c.Key, "local", c.Kind.String()})
	}
	for _, c := range r.Diff.Remote {
		out.Changes = append(out.Changes, change{c.Key, "remote", c.Kind.String()})
	}
	for _, k := range r.Diff.Conflicts {
		out.Changes = append(out.Changes, change{k, "both", "conflict"})
	}
	return writeJSON(s.env.Stdout, out)
}

// syncNote explains a report whose diff alone would mislead.
func syncNote(r *sync.Report) string {
	switch {
	case r.Vanished != nil:
		v := r.Vanished
		return fmt.Sprintf("the remote secret vanished: %s; this machine synced %d key(s) with it at version %d; pull refuses, hush vault push --prefer local restores it", v.What, v.Keys, v.Version)
	case r.RemoteDeleted:
		return "the latest remote version is deleted: undelete it in Vault, or hush vault push --prefer local"
	case r.Recreated:
		return fmt.Sprintf("the remote secret was removed and written anew since the last sync (version %d, synced at %d): compared as on a first sync, so nothing is deleted on either side", r.RemoteVersion, r.SyncedVersion)
	}
	return ""
}

func runVaultStatus(ctx context.Context, s *ui, o vaultOptions) error {
	o.status = true
	return runVaultDiff(ctx, s, o)
}

func runVaultPush(ctx context.Context, s *ui, o vaultOptions) error {
	return runVaultSync(ctx, s, o, true)
}

func runVaultPull(ctx context.Context, s *ui, o vaultOptions) error {
	return runVaultSync(ctx, s, o, false)
}

func runVaultSync(ctx context.Context, s *ui, o vaultOptions, push bool) error {
	prefer, err := sync.ParsePrefer(o.prefer)
	if err != nil {
		return err
	}
	sy, err := newSyncer(s, o)
	if err != nil {
		return err
	}
	defer closeVault(s, sy.Backend)
	if err := s.AuditReady(); err != nil {
		return err
	}
	var res *sync.Result
	setAction, verb, dir := audit.SecretRead, "pulled", "from"
	if push {
		setAction, verb, dir = audit.SecretWrite, "pushed", "to"
		res, err = sy.Push(ctx, prefer)
	} else {
		res, err = sy.Pull(ctx, prefer)
	}
	source := vaultAddress(sy.Backend)
	if res != nil {
		if aerr := s.auditVaultKeys(setAction, sy.Env, source, res.Set, err); aerr != nil {
			return aerr
		}
		if aerr := s.auditVaultKeys(audit.SecretDelete, sy.Env, source, res.Deleted, err); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		// A sync stopped (a conflict, a denied or vanished remote) is a line
		// too: what was attempted, against which Vault, and why it failed.
		action := audit.SyncPull
		if push {
			action = audit.SyncPush
		}
		if aerr := s.AuditRemote(action, source, "", []string{s.SecretPath(sy.Env, "")}, err); aerr != nil {
			return fmt.Errorf("%w (and: %v)", err, aerr)
		}
		return err
	}
	if c := res.Diff.Conflicts; len(c) > 0 {
		if push && o.prefer == string(sync.PreferRemote) {
			s.infof("kept Vault's %s (--prefer remote); hush vault pull --prefer remote brings it here", strings.Join(c, ", "))
		} else if !push && o.prefer == string(sync.PreferLocal) {
			s.infof("kept the local %s (--prefer local); hush vault push --prefer local sends it to Vault", strings.Join(c, ", "))
		}
	}
	if len(res.Set)+len(res.Deleted) == 0 {
		s.infof("%s: nothing to %s (%s)", sy.Env, strings.TrimSuffix(verb, "ed"), res.Status())
		return nil
	}
	s.infof("%s %d change(s) %s %s (version %d): %s", verb, len(res.Set)+len(res.Deleted), dir, res.Location, res.Version, changeList(res))
	if d := res.Diff; push && len(d.Remote) > 0 || !push && len(d.Local) > 0 {
		s.infof("%s also has changes the other way; see hush vault diff", sy.Env)
	}
	return nil
}

func changeList(res *sync.Result) string {
	parts := make([]string, 0, len(res.Set)+len(res.Deleted))
	parts = append(parts, res.Set...)
	for _, k := range res.Deleted {
		parts = append(parts, "-"+k)
	}
	return strings.Join(parts, ", ")
}

// auditVaultKeys records one line per key of env synced with the Vault
// at source.
func (s *ui) auditVaultKeys(action, env, source string, keys []string, opErr error) error {
	if len(keys) == 0 {
		return nil
	}
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = s.SecretPath(env, k)
	}
	return s.AuditRemote(action, source, "", paths, opErr)
}

// vaultAddress is the address of a Vault backend, for the audit log.
func vaultAddress(b sync.Backend) string {
	if a, ok := b.(interface{ Address() string }); ok {
		return a.Address()
	}
	return ""
}

func runVaultPolicy(ctx context.Context, s *ui, o vaultOptions) error {
	envName, err := s.EnvName()
	if err != nil {
		return err
	}
	v, err := openVault(s, o)
	if err != nil {
		return err
	}
	defer closeVault(s, v)
	kv, err := v.KVVersion(ctx)
	if err != nil {
		if o.write != "" || !errors.Is(err, sync.ErrUnavailable) {
			return err
		}
		s.warnf("cannot ask Vault the KV version of the mount (%v); assuming version 2", err)
		kv = 2
	}
	hcl, err := v.Policy(envName, kv)
	if err != nil {
		return err
	}
	// The policy names the mount and path hush.yaml gives: escaped, in case.
	io.WriteString(s.env.Stdout, safe.Lines(hcl))
	if o.write == "" {
		return nil
	}
	if err := v.WritePolicy(ctx, o.write, hcl); err != nil {
		return err
	}
	s.infof("wrote policy %s to %s; a token with it reads %s and nothing else", o.write, v.Address(), envName)
	return nil
}
