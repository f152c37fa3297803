package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
)

// This file is hush vault's side of the session: opening the backend from
// hush.yaml, and every sync with it together with its audit lines.

// VaultOptions are the command line's settings for a Vault backend; ""
// leaves hush.yaml's (or the default).
type VaultOptions struct {
	Address, Mount, Path, Layout string
	// Backend, when set, is used instead of the Vault the rest describes
	// (tests sync against a backend in memory).
	Backend sync.Backend
}

// OpenVault builds the Vault backend from hush.yaml, o and the
// environment. Outside a project only the environment (VAULT_ADDR, a
// login) and o configure it.
func (s *Session) OpenVault(o VaultOptions) (*vault.Vault, error) {
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
		fp, err := s.FilePolicy(p)
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
	if o.Mount != "" {
		cfg.Mount = o.Mount
	}
	if o.Path != "" {
		cfg.Path = o.Path
	}
	if o.Layout != "" {
		cfg.Layout = o.Layout
	}
	if s.vaultLogins == nil {
		s.vaultLogins = &vault.LoginCache{}
	}
	if s.requestID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		s.requestID = hex.EncodeToString(b[:])
	}
	return vault.New(vault.Options{Config: cfg, Project: project, AddressFlag: o.Address, Getenv: s.Getenv, Home: s.Home(),
		UserAgent: "hush/" + s.Version, Prompt: s.Prompt, Logins: s.vaultLogins, RequestID: s.requestID})
}

// keyRequestIDs is, for a backend that tells them (Vault), the request
// id of the answer that did the work for each key of env ("" for env as a
// whole) among ids.
func keyRequestIDs(b sync.Backend, ids *vault.RequestIDs, env string) func(key string) string {
	v, ok := b.(*vault.Vault)
	if !ok {
		return func(string) string { return "" }
	}
	return func(key string) string { return v.KeyRequestID(ids, env, key) }
}

// FilePolicy is what a *_file setting from hush.yaml may name: files in
// the project, never hush's own directories or the user's keys, unless
// the user's config.yaml allows them.
func (s *Session) FilePolicy(p *store.Project) (*store.FilePolicy, error) {
	uc, err := store.ReadUserConfig(filepath.Join(s.ConfigDir(), store.UserConfigName))
	if err != nil {
		return nil, err
	}
	home := s.Home()
	prot := []string{
		filepath.Dir(s.ConfigDir()), s.DataDir(), s.StateDir(),
		filepath.Join(home, ".ssh"), filepath.Join(home, ".gnupg"), filepath.Join(home, ".aws"),
		filepath.Join(home, ".kube"), filepath.Join(home, ".docker"), filepath.Join(home, ".netrc"),
		filepath.Join(home, ".git-credentials"), filepath.Join(home, ".vault-token"),
		filepath.Join(p.Root, ".git"),
	}
	if f := s.Getenv("HUSH_IDENTITY_FILE"); f != "" {
		prot = append(prot, f)
	}
	l := s.Lookup()
	prot = append(prot, l.IdentityFile())
	return &store.FilePolicy{Root: p.Root, Home: home, Protected: prot, User: uc}, nil
}

// CloseVault revokes the token hush logged in with (every method but
// token) when the command is done with it, so runs do not pile up
// live tokens; a user's own token is left alone. b may be any backend.
func (s *Session) CloseVault(b any) {
	c, ok := b.(interface{ Close(context.Context) error })
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		s.Report.Warnf("%v; the token hush logged in with stays valid until its TTL ends", err)
	}
}

// VaultHint adds the hint that fits a Vault error.
func VaultHint(err error) error {
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
		return "check the AppRole credentials (role_id, role_id_file or VAULT_ROLE_ID; secret_id_file or VAULT_SECRET_ID: a secret id may be used up or expired; or wrapped_secret_id_file or VAULT_WRAPPED_SECRET_ID: a wrapping token works once, within its TTL) and vault.auth.mount in .hush/hush.yaml"
	case (method == "jwt" || method == "kubernetes") && login:
		return fmt.Sprintf("check the token in vault.auth.token_file or the variable vault.auth.token_env names (expired? for this audience?) and that the %s role in vault.auth.role accepts it", method)
	case (method == "userpass" || method == "ldap") && login:
		return fmt.Sprintf("check the %s username (vault.auth.username or VAULT_USERNAME) and password (VAULT_PASSWORD or the variable vault.auth.password_env names, vault.auth.password_file, or the prompt) and vault.auth.mount in .hush/hush.yaml", method)
	case method == "aws" && login:
		return "check the AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), that the aws role in vault.auth.role binds their principal, and vault.auth.region and iam_server_id in .hush/hush.yaml"
	case method == "cert" && login:
		return "check the cert login's client certificate and key (vault.auth.client_cert_file and client_key_file, or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY), that a role of the cert mount trusts its CA (vault.auth.role names one), and VAULT_CACERT for the server's"
	case method != "" && method != "token":
		return fmt.Sprintf("the %s login worked but its token is refused here: check the policies its role grants (token_policies) for this path", method)
	}
	return "check VAULT_TOKEN (or run vault login) and that its policies allow this path; the vault: auth section of .hush/hush.yaml sets another login method"
}

// syncer is the Syncer of the session's environment with the backend o
// names.
func (s *Session) syncer(o VaultOptions) (*sync.Syncer, error) {
	p, envName, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	key, err := id.DeriveKey("vault sync")
	if err != nil {
		return nil, fmt.Errorf("%w (hush vault needs an age or SSH identity it can derive keys from)", err)
	}
	b := o.Backend
	if b == nil {
		v, err := s.OpenVault(o)
		if err != nil {
			return nil, err
		}
		b = v
	}
	return &sync.Syncer{Backend: b, Project: p, Env: envName, Identity: id, Hasher: sync.NewHasher(key),
		State: sync.NewState(p.PersonalDir(), "vault-state.json"), Now: s.Now}, nil
}

// VaultCompare compares the session's environment with its place in
// Vault (hush vault diff and status). Both sides' values are read to
// compare them and none is shown: the access is recorded as a list, on
// success and failure.
func (s *Session) VaultCompare(ctx context.Context, o VaultOptions) (*sync.Report, error) {
	sy, err := s.syncer(o)
	if err != nil {
		return nil, err
	}
	defer s.CloseVault(sy.Backend)
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	ctx, ids := vault.TrackRequestIDs(ctx)
	r, err := sy.Compare(ctx)
	remoteID := ""
	if err == nil {
		remoteID = keyRequestIDs(sy.Backend, ids, sy.Env)("")
	}
	if aerr := s.AuditRemoteID(audit.SecretList, vaultAddress(sy.Backend), "", remoteID, []string{s.SecretPath(sy.Env, "")}, err); aerr != nil {
		return nil, join(err, aerr)
	}
	return r, err
}

// VaultSyncOptions say which way a sync goes and who wins a conflict.
type VaultSyncOptions struct {
	VaultOptions
	// Push sends local changes to Vault; false pulls Vault's into the
	// team store.
	Push bool
	// Prefer is --prefer: "", local or remote.
	Prefer string
}

// VaultSyncReport is what a push or pull did, for the CLI to render.
type VaultSyncReport struct {
	*sync.Result
	Env  string
	Push bool
	// KeptConflicts are the keys both sides changed whose value stayed
	// on the side that was not written (--prefer named the other side).
	KeptConflicts []string
	// OtherWay says the environment also has changes the other way.
	OtherWay bool
}

// VaultSync pushes or pulls the session's environment. One audit line per
// key written or deleted names the Vault; a sync that stopped (a conflict,
// a denied or vanished remote) is a line too.
func (s *Session) VaultSync(ctx context.Context, o VaultSyncOptions) (*VaultSyncReport, error) {
	prefer, err := sync.ParsePrefer(o.Prefer)
	if err != nil {
		return nil, err
	}
	sy, err := s.syncer(o.VaultOptions)
	if err != nil {
		return nil, err
	}
	defer s.CloseVault(sy.Backend)
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	ctx, ids := vault.TrackRequestIDs(ctx)
	remoteID := keyRequestIDs(sy.Backend, ids, sy.Env)
	var res *sync.Result
	setAction, action := audit.SecretRead, audit.SyncPull
	if o.Push {
		setAction, action = audit.SecretWrite, audit.SyncPush
		res, err = sy.Push(ctx, prefer)
	} else {
		res, err = sy.Pull(ctx, prefer)
	}
	source := vaultAddress(sy.Backend)
	if res != nil {
		// A push that stopped part-way wrote some keys: those lines say
		// success, the keys it did not get to say failure.
		keyErr := err
		var pe *sync.PartialError
		if errors.As(err, &pe) {
			keyErr = nil
		}
		if aerr := s.auditVaultKeys(setAction, sy.Env, source, res.Set, keyErr, remoteID); aerr != nil {
			return nil, aerr
		}
		if aerr := s.auditVaultKeys(audit.SecretDelete, sy.Env, source, res.Deleted, keyErr, remoteID); aerr != nil {
			return nil, aerr
		}
		if aerr := s.auditVaultKeys(setAction, sy.Env, source, res.UnwrittenSet, err, remoteID); aerr != nil {
			return nil, aerr
		}
		if aerr := s.auditVaultKeys(audit.SecretDelete, sy.Env, source, res.UnwrittenDeleted, err, remoteID); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		if aerr := s.AuditRemote(action, source, "", []string{s.SecretPath(sy.Env, "")}, err); aerr != nil {
			return nil, fmt.Errorf("%w (and: %v)", err, aerr)
		}
		return nil, err
	}
	rep := &VaultSyncReport{Result: res, Env: sy.Env, Push: o.Push}
	if c := res.Diff.Conflicts; len(c) > 0 {
		if o.Push && prefer == sync.PreferRemote || !o.Push && prefer == sync.PreferLocal {
			rep.KeptConflicts = c
		}
	}
	d := res.Diff
	rep.OtherWay = o.Push && len(d.Remote) > 0 || !o.Push && len(d.Local) > 0
	return rep, nil
}

// auditVaultKeys records one line per key of env synced with the Vault
// at source; a line that says success names the request that did its
// work (remoteID).
func (s *Session) auditVaultKeys(action, env, source string, keys []string, opErr error, remoteID func(string) string) error {
	if len(keys) == 0 {
		return nil
	}
	paths, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		paths[i], ids[i] = s.SecretPath(env, k), remoteID(k)
	}
	return s.AuditRemoteEach(action, source, paths, ids, opErr)
}

// vaultAddress is the address of a backend, for the audit log ("" for
// one without).
func vaultAddress(b sync.Backend) string {
	if a, ok := b.(interface{ Address() string }); ok {
		return a.Address()
	}
	return ""
}

// VaultPolicyOptions say which policy hush vault policy makes: for the
// session's environment, or (Service set) for every environment of a
// service, with an explicit deny on each of Deny.
type VaultPolicyOptions struct {
	VaultOptions
	Service string
	Deny    []string
	// Write, when set, stores the policy in Vault under this name.
	Write string
}

// VaultPolicy makes the least-privilege policy that reads the session's
// environment (or o.Service's paths) and hands it to show; then, unless
// o.Write is "", stores it in Vault as that policy. It returns what the
// policy reads (an environment or a service) and Vault's address.
func (s *Session) VaultPolicy(ctx context.Context, o VaultPolicyOptions, show func(hcl string)) (what, address string, err error) {
	if o.Service == "" && len(o.Deny) > 0 {
		return "", "", Usagef("--deny needs --service: it denies other services to a service's policy")
	}
	if o.Service != "" {
		for _, n := range append([]string{o.Service}, o.Deny...) {
			if err := vault.ValidService(n); err != nil {
				return "", "", Usagef("%v", err)
			}
		}
		what = "service " + o.Service
	} else {
		if what, err = s.EnvName(); err != nil {
			return "", "", err
		}
	}
	v, err := s.OpenVault(o.VaultOptions)
	if err != nil {
		return "", "", err
	}
	defer s.CloseVault(v)
	kv, err := v.KVVersion(ctx)
	if err != nil {
		if o.Write != "" || !errors.Is(err, sync.ErrUnavailable) {
			return "", "", err
		}
		s.Report.Warnf("cannot ask Vault the KV version of the mount (%v); assuming version 2", err)
		kv = 2
	}
	var hcl string
	if o.Service != "" {
		hcl, err = v.ServicePolicy(o.Service, o.Deny, kv)
	} else {
		hcl, err = v.Policy(what, kv)
	}
	if err != nil {
		return "", "", err
	}
	show(hcl)
	if o.Write != "" {
		if err := v.WritePolicy(ctx, o.Write, hcl); err != nil {
			return "", "", err
		}
	}
	return what, v.Address(), nil
}
