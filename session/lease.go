package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
)

// This file is what hush run takes from Vault: vault:// references, read
// once, and the leases of dynamic secrets (--vault-lease), renewed while the
// child runs and revoked after, each read, renewal and revocation with its
// audit line.

// Lease-end policies of hush run (--on-lease-end).
const (
	// LeaseEndTerm stops the child (SIGTERM, then SIGKILL after ten
	// seconds) when a lease or hush's token ends, and exits 8: a program
	// must not run on credentials that stopped working without anyone
	// being told. The default.
	LeaseEndTerm = "term"
	// LeaseEndWarn only says so and lets the child run on.
	LeaseEndWarn = "warn"
	// LeaseEndRestart stops the child as LeaseEndTerm does, then the CLI
	// prepares the run again — fresh leases, a fresh login where the
	// method can log in again, a new audit line — and starts the child
	// again, as Vault Agent and envconsul do.
	LeaseEndRestart = "restart"
)

// leaseSpec is one --vault-lease NAME=PATH[?k=v&...].
type leaseSpec struct {
	name, path string
	params     map[string]string
}

func parseLeaseSpec(spec string) (leaseSpec, error) {
	name, rest, ok := strings.Cut(spec, "=")
	if !ok || !inject.ValidName(name) || rest == "" {
		return leaseSpec{}, Usagef("--vault-lease %q: want NAME=PATH[?key=value&...], e.g. DB=database/creds/app", spec)
	}
	path, query, _ := strings.Cut(rest, "?")
	ls := leaseSpec{name: name, path: strings.Trim(path, "/")}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return leaseSpec{}, Usagef("--vault-lease %s: parameters: %v", name, err)
		}
		ls.params = make(map[string]string, len(q))
		for k, vs := range q {
			ls.params[k] = vs[len(vs)-1]
		}
	}
	return ls, nil
}

// envSuffix makes a field name part of a variable name: upper case, and
// anything but letters and digits as '_'.
func envSuffix(field string) string {
	b := []byte(strings.ToUpper(field))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// runVault is a run's Vault backend, opened on first use, so resolving
// many references logs in once and the leases share the login.
type runVault struct {
	s *Session
	v *vault.Vault
}

func (rv *runVault) get() (*vault.Vault, error) {
	if rv.v != nil {
		return rv.v, nil
	}
	v, err := rv.s.OpenVault(VaultOptions{})
	if err != nil {
		return nil, err
	}
	rv.v = v
	return v, nil
}

// leaseRun is what a run's leases need from the rest of the run: the
// secrets of --vault-lease, a context the child runs under, and stop.
type leaseRun struct {
	secrets []inject.Secret
	// ctx is done when a lease ended under --on-lease-end=term: the child
	// is then stopped as if hush were.
	ctx context.Context
	// active says the leases need hush to stay while the child runs.
	active bool
	stop   func()

	mu    gosync.Mutex
	ended error // the first lease end that stopped the child
}

// endedErr is the lease end that stopped the child, or nil.
func (lr *leaseRun) endedErr() error {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.ended
}

// startLeases obtains each dynamic secret of specs and returns its fields
// as NAME_FIELD secrets, sorted by name, together with every lease the
// vault:// references of this run obtained (one per path: a reference's
// fields share it). The leases, and hush's own token when it has a TTL, are
// renewed in the background until stop, which revokes them and then the
// token hush logged in with (never a user's own); the caller must call
// stop on every exit path (it is safe to call more than once). On error no
// lease is left behind.
func (s *Session) startLeases(ctx context.Context, rv *runVault, specs []string, onEnd string) (_ *leaseRun, err error) {
	// What vault:// references obtained is dropped too when this fails.
	defer func() {
		if err != nil {
			s.dropVault(rv)
		}
	}()
	lr := &leaseRun{ctx: ctx, stop: func() {}}
	switch onEnd {
	case "", LeaseEndTerm:
		onEnd = LeaseEndTerm
	case LeaseEndWarn, LeaseEndRestart:
	default:
		return nil, Usagef("--on-lease-end %q: use term, warn or restart", onEnd)
	}
	parsed := make([]leaseSpec, 0, len(specs))
	for _, sp := range specs {
		ls, err := parseLeaseSpec(sp)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, ls)
	}
	if rv.v == nil && len(parsed) == 0 {
		return lr, nil // nothing from Vault in this run
	}
	v, err := rv.get()
	if err != nil {
		return nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	closeToken := func() {
		rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := v.Close(rctx); err != nil {
			s.Report.Warnf("%v; the token hush logged in with stays valid until its TTL ends", err)
		}
	}
	lv := auditedLeaser{Leaser: v, s: s, source: v.Address()}
	revokeAll := func() {
		rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for _, l := range v.Leases() {
			if err := lv.Revoke(rctx, l.ID); err != nil {
				s.Report.Warnf("%v", err)
			}
		}
		v.Forget()
		closeToken()
	}
	for _, ls := range parsed {
		secs, err := s.lease(ctx, v, ls)
		if err != nil {
			revokeAll()
			return nil, err
		}
		lr.secrets = append(lr.secrets, secs...)
	}
	sort.SliceStable(lr.secrets, func(i, j int) bool { return lr.secrets[i].Name < lr.secrets[j].Name })
	leases := v.Leases()
	if len(leases) == 0 {
		// Static references only: nothing depends on the token any more,
		// and the child may replace hush (exec) before any deferred call.
		closeToken()
		return lr, nil
	}
	// Every lease dies with the token that issued it: keep the token alive
	// as long as the leases, and revoke it last.
	tok, err := v.TokenLease(ctx)
	if err != nil {
		s.Report.Warnf("%v; hush cannot renew its own token, and the leases end when it does", err)
	} else if tok != nil {
		leases = append(leases, tok)
	}
	s.keepLeases(ctx, lr, lv, v, leases, onEnd)
	return lr, nil
}

// lease obtains the dynamic secret of ls and returns its fields as
// NAME_FIELD secrets, having recorded the read (and its lease id) or the
// failure.
func (s *Session) lease(ctx context.Context, v *vault.Vault, ls leaseSpec) ([]inject.Secret, error) {
	ctx, ids := vault.TrackRequestIDs(ctx)
	l, err := v.Lease(ctx, ls.path, ls.params)
	var secrets []inject.Secret
	paths := []string{"vault:" + ls.path}
	leaseID := ""
	if l != nil {
		leaseID, paths = l.ID, nil
		for _, f := range sortedFields(l) {
			secrets = append(secrets, inject.Secret{Name: ls.name + "_" + envSuffix(f), Value: inject.NewValue(l.Fields[f].Reveal())})
			paths = append(paths, "vault:"+ls.path+"#"+f)
		}
	}
	if aerr := s.AuditRemoteID(audit.SecretRead, v.Address(), leaseID, ids.Last(), paths, err); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return nil, VaultHint(fmt.Errorf("--vault-lease %s: %w", ls.name, err))
	}
	return secrets, nil
}

// keepLeases renews leases in the background until lr.stop. A lease that
// ends on the way (max TTL, renewal refused) is a warning, and under
// LeaseEndTerm also lr's end: lr.ctx is cancelled, so the child stops.
func (s *Session) keepLeases(ctx context.Context, lr *leaseRun, lv auditedLeaser, v *vault.Vault, leases []*sync.Lease, onEnd string) {
	rctx, cancelRun := context.WithCancel(ctx)
	lr.ctx, lr.active = rctx, true
	var tokenEnded atomic.Bool
	k := sync.Keep(lv, leases, sync.KeepOptions{
		Warn: func(err error) { s.Report.Warnf("vault: %v", err) },
		End: func(l *sync.Lease, err error) {
			if l.Token {
				tokenEnded.Store(true)
			}
			if onEnd == LeaseEndWarn {
				s.Report.Warnf("vault: %v; its credentials no longer work, and the child keeps running (--on-lease-end=warn)", err)
				return
			}
			lr.mu.Lock()
			first := lr.ended == nil
			if first {
				lr.ended = err
			}
			lr.mu.Unlock()
			if first {
				if onEnd == LeaseEndRestart {
					s.Report.Warnf("vault: %v; restarting the child with fresh credentials (--on-lease-end=restart)", err)
				} else {
					s.Report.Warnf("vault: %v; stopping the child (--on-lease-end=term)", err)
				}
				cancelRun()
			}
		},
	})
	var once gosync.Once
	lr.stop = func() { once.Do(func() { s.stopLeases(k, v, cancelRun, &tokenEnded) }) }
}

// stopLeases ends what startLeases kept alive: every lease revoked, then
// the token, each failure a warning that says how long what was left
// stays valid.
func (s *Session) stopLeases(k *sync.Keeper, v *vault.Vault, cancelRun context.CancelFunc, tokenEnded *atomic.Bool) {
	defer cancelRun()
	rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := k.Stop(rctx)
	v.Forget()
	for _, e := range flattenJoined(err) {
		var re *sync.RevokeError
		if !errors.As(e, &re) {
			s.Report.Warnf("%v", e)
			continue
		}
		switch {
		case re.Lease.Token:
			s.Report.Warnf("vault: %v; the token hush logged in with stays valid until its TTL ends", re)
		case tokenEnded.Load():
			s.Report.Warnf("vault: %v; the token that issued it has ended, and Vault revokes a token's leases with it", re)
		case re.Expires.IsZero():
			s.Report.Warnf("vault: %v; it stays valid until Vault expires it", re)
		default:
			s.Report.Warnf("vault: %v; it stays valid until it expires at %s", re, re.Expires.UTC().Format(time.RFC3339))
		}
	}
}

// dropVault revokes what the run's Vault backend obtained (leases, then
// the token hush logged in with) when the run fails before startLeases
// took charge of them.
func (s *Session) dropVault(rv *runVault) {
	v := rv.v
	if v == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, l := range v.Leases() {
		if err := v.Revoke(rctx, l.ID); err != nil {
			s.Report.Warnf("%v", err)
		}
	}
	v.Forget()
	if err := v.Close(rctx); err != nil {
		s.Report.Warnf("%v; the token hush logged in with stays valid until its TTL ends", err)
	}
}

// flattenJoined unpacks errors.Join's result.
func flattenJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func sortedFields(l *sync.Lease) []string {
	out := make([]string, 0, len(l.Fields))
	for f := range l.Fields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// vaultRefScheme starts a reference to a field of a Vault secret.
const vaultRefScheme = "vault://"

// resolveVaultRef reads a vault://PATH#FIELD reference (PATH starting with
// the engine's mount, e.g. vault://secret/myapp/db#password) and audits
// the read.
func (s *Session) resolveVaultRef(ctx context.Context, rv *runVault, ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, vaultRefScheme)
	rest, field, hasField := strings.Cut(rest, "#")
	path, query, _ := strings.Cut(rest, "?")
	if !ok || !hasField || path == "" || field == "" {
		return "", fmt.Errorf("%w vault reference %q: want vault://MOUNT/PATH[?k=v&...]#FIELD", store.ErrInvalid, ref)
	}
	var params map[string]string
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", fmt.Errorf("%w vault reference %q: parameters: %v", store.ErrInvalid, ref, err)
		}
		params = make(map[string]string, len(q))
		for k, vs := range q {
			params[k] = vs[len(vs)-1]
		}
	}
	v, err := rv.get()
	if err != nil {
		return "", err
	}
	ctx, ids := vault.TrackRequestIDs(ctx)
	val, err := v.ReadFieldWith(ctx, path, field, params)
	aerr := s.AuditRemoteID(audit.SecretRead, v.Address(), "", ids.Last(), []string{"vault:" + strings.Trim(path, "/") + "#" + field}, err)
	if aerr != nil && err != nil {
		aerr = fmt.Errorf("%w (and: %v)", err, aerr)
	} else if aerr == nil {
		aerr = err
	}
	if aerr != nil {
		if errors.Is(aerr, sync.ErrUnavailable) {
			return "", VaultHint(aerr)
		}
		return "", aerr
	}
	return val.Reveal(), nil
}

// auditedLeaser records every renewal and revocation of a lease as an
// audit line (the lease id, the Vault address, the outcome) by wrapping
// the backend sync.Keep and the cleanup call, so the keeper in sync needs
// no knowledge of the log. A renewal runs in the background while the
// child runs: a failure to record it is a warning, not the child's end.
type auditedLeaser struct {
	sync.Leaser
	s      *Session
	source string
}

func (l auditedLeaser) Renew(ctx context.Context, id string, inc time.Duration) (time.Duration, error) {
	ctx, ids := vault.TrackRequestIDs(ctx)
	d, err := l.Leaser.Renew(ctx, id, inc)
	l.record(audit.LeaseRenew, id, ids.Last(), err)
	return d, err
}

func (l auditedLeaser) Revoke(ctx context.Context, id string) error {
	ctx, ids := vault.TrackRequestIDs(ctx)
	err := l.Leaser.Revoke(ctx, id)
	l.record(audit.LeaseRevoke, id, ids.Last(), err)
	return err
}

func (l auditedLeaser) record(action, id, remoteID string, opErr error) {
	if err := l.s.AuditRemoteID(action, l.source, id, remoteID, []string{"vault:" + path.Dir(id)}, opErr); err != nil {
		l.s.Report.Warnf("%v", err)
	}
}
