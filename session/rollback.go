package session

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// RollbackOptions is hush rollback's command line.
type RollbackOptions struct {
	Key string
	// To is the commit whose value to restore, as git names it.
	To string
	// Force restores a value that was exposed or compromised, keeping
	// its marks.
	Force bool
}

// RollbackReport is what hush rollback did.
type RollbackReport struct {
	Env, Key, Commit string
	Change           store.Change
	// Fingerprint is the restored value's (as hush log shows it).
	Fingerprint string
	// Forced are the exposures a --force went past, kept as marks.
	Forced []string
}

// LeakedError refuses a rollback to a value that was exposed: rolling
// back to a leaked credential is the usual mistake (exit 7).
type LeakedError struct {
	Key, Commit string
	Reasons     []string
}

func (e *LeakedError) Error() string {
	return fmt.Sprintf("refusing to roll %s back to its value of %s: that value was %s",
		e.Key, short(e.Commit), strings.Join(e.Reasons, "; "))
}

// Rollback sets key's value to the one the team store held at a commit,
// through the normal change path (Document.SetValue, one audit line that
// names the rollback). What it trusts: the commit must be in HEAD's
// history, and its store must continue a lineage this user knows, so the
// value was written by a reader of the environment; a value that was
// exposed or compromised there or since, or readable by someone who is
// no longer a member, is refused unless Force.
func (s *Session) Rollback(o RollbackOptions) (*RollbackReport, error) {
	if err := store.ValidKeyName(o.Key); err != nil {
		return nil, err
	}
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	// The line is written whatever happens from here: a refused rollback
	// has decrypted old versions of the store all the same.
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	rep := &RollbackReport{Env: env, Key: o.Key}
	err = s.rollback(p, env, id, o, rep)
	e := s.Entry(audit.SecretWrite, s.SecretPath(env, o.Key), err)
	if rep.Commit != "" {
		e.Detail = "rollback to the value of commit " + rep.Commit
	} else {
		e.Detail = "rollback to " + o.To
	}
	if len(rep.Forced) > 0 {
		e.Detail += " (forced past: " + strings.Join(rep.Forced, "; ") + ")"
	}
	e.Detail = auditErrorText(s.Redact(e.Detail))
	if err := join(err, s.Record(e)); err != nil {
		return nil, err
	}
	return rep, nil
}

func (s *Session) rollback(p *store.Project, env string, id *crypt.Identity, o RollbackOptions, rep *RollbackReport) error {
	f, err := gitStoreFile(p, env)
	if err != nil {
		return err
	}
	commit, err := f.resolveCommit(s.Ctx(), o.To)
	if err != nil {
		return err
	}
	rep.Commit = commit
	if !f.ancestorOfHead(s.Ctx(), commit) {
		return hint.With(fmt.Errorf("commit %s is not in the history of HEAD: a store from a branch nobody merged here is refused (anyone who can push can write one)", short(commit)),
			"merge the branch first, or pick a commit from: hush log %s --env %s", o.Key, env)
	}
	later, err := f.commits(s.Ctx(), commit+"..HEAD")
	if err != nil {
		return err
	}
	extra := []string{commit}
	for _, c := range later {
		extra = append(extra, c.Hash)
	}
	h, err := s.history(p, env, extra)
	if err != nil {
		return err
	}
	v := h.versions[commit]
	switch {
	case v.absent:
		return fmt.Errorf("%s %w at commit %s: %s had no team store then", o.Key, store.ErrNotFound, short(commit), env)
	case errors.Is(v.err, crypt.ErrNoIdentity):
		return fmt.Errorf("%w: the store of %s at commit %s is not encrypted to your identity (you were not a recipient then)", store.ErrNoIdentity, env, short(commit))
	case v.err != nil:
		return fmt.Errorf("the store of %s at commit %s: %w", env, short(commit), v.err)
	case !h.trusted(v.doc):
		return fmt.Errorf("%w: the store of %s at commit %s does not continue the lineage you know: it was not written by anyone who could read the versions you have read, so its values are whatever a writer put there; nothing was changed",
			store.ErrIntegrity, env, short(commit))
	}
	old := v.doc.Secrets[o.Key]
	if old == nil {
		return hint.With(fmt.Errorf("%s %w in %s at commit %s", o.Key, store.ErrNotFound, env, short(commit)),
			"its changes, with commits: hush log %s --env %s", o.Key, env)
	}
	exposed := s.exposures(p, h, env, o.Key, commit, old, later)
	if cur := h.current; cur != nil && cur.Secrets[o.Key] != nil && cur.Secrets[o.Key].Value.Reveal() == old.Value.Reveal() {
		exposed = nil // the key holds that value now: nothing to restore, nothing to refuse
	}
	if len(exposed) > 0 && !o.Force {
		return hint.With(&LeakedError{Key: o.Key, Commit: commit, Reasons: describe(exposed)},
			"choose another commit (hush log %s --env %s), or set a new value (hush rotate %s --env %s); --force restores it anyway and keeps it marked exposed", o.Key, env, o.Key, env)
	}
	rep.Fingerprint = h.fingerprint(env, o.Key, old)
	if o.Force {
		rep.Forced = describe(exposed)
	}
	pc, _, err := s.forChange()
	if err != nil {
		return err
	}
	now := s.Now().UTC().Truncate(time.Second)
	err = pc.Update(env, store.Team, id, func(d *store.Document) error {
		sec, change := d.SetValue(o.Key, old.Value, now)
		rep.Change = change
		if change == store.Created {
			sec.Type, sec.Note, sec.RotateEvery = old.Type, old.Note, old.RotateEvery
		}
		// A value restored past its exposure stays marked: status --fail
		// and rotate go on asking for a new one.
		for _, x := range exposed {
			if x.compromised {
				if sec.Compromised.IsZero() {
					sec.Compromised = x.since
				}
				continue
			}
			if !hasExposure(sec, x.to) {
				sec.Exposed = append(sec.Exposed, store.Exposure{To: x.to, Since: x.since})
			}
		}
		return nil
	})
	return err
}

// exposure is one reason a value is known to others.
type exposure struct {
	to, where   string
	since       time.Time
	compromised bool
	// removed: to is a recipient of a version holding the value who is
	// no longer a recipient.
	removed bool
}

func describe(xs []exposure) []string {
	var out []string
	for _, x := range xs {
		switch {
		case x.compromised:
			out = append(out, "marked compromised "+x.where)
		case x.removed:
			out = append(out, "readable by "+x.to+" (no longer a recipient) "+x.where)
		default:
			out = append(out, "marked exposed to "+x.to+" "+x.where)
		}
	}
	return out
}

func hasExposure(sec *store.Secret, to string) bool {
	for _, x := range sec.Exposed {
		if x.To == to {
			return true
		}
	}
	return false
}

// exposures are the reasons the value old of key (as commit held it) is
// known to others: a mark on it at that commit, at any later commit or in
// the work tree while the key held the same value, and a recipient of a
// version holding it who is no longer one of env's recipients (a removed
// member keeps every value they could read).
func (s *Session) exposures(p *store.Project, h *keyHistory, env, key, commit string, old *store.Secret, later []commitInfo) []exposure {
	var out []exposure
	seen := map[string]bool{}
	addMarks := func(sec *store.Secret, where string) {
		for _, x := range sec.Exposed {
			if !seen["x:"+x.To] {
				seen["x:"+x.To] = true
				out = append(out, exposure{to: x.To, where: where, since: x.Since})
			}
		}
		if !sec.Compromised.IsZero() && !seen["compromised"] {
			seen["compromised"] = true
			out = append(out, exposure{compromised: true, where: where, since: sec.Compromised})
		}
	}
	current := map[string]bool{}
	if ec, err := p.Config.Env(env); err == nil {
		for _, r := range ec.Recipients {
			current[crypt.CanonicalRecipient(r.Key)] = true
		}
	}
	readers := func(c, where string) {
		cfg := h.f.configAt(s.Ctx(), c)
		if cfg == nil {
			return
		}
		ec, ok := cfg.Environments[env]
		if !ok {
			return
		}
		for _, r := range ec.Recipients {
			k := crypt.CanonicalRecipient(r.Key)
			if current[k] || seen["r:"+k] || seen["x:"+r.Label] {
				continue
			}
			seen["r:"+k] = true
			label := r.Label
			if label == "" {
				label = crypt.Fingerprint(r.Key)
			}
			out = append(out, exposure{to: label, where: where, since: s.Now().UTC().Truncate(time.Second), removed: true})
		}
	}
	addMarks(old, "at "+short(commit))
	readers(commit, "at "+short(commit))
	for _, c := range later {
		sec, ok := secretAt(h.versions[c.Hash], key)
		if !ok || sec == nil || sec.Value.Reveal() != old.Value.Reveal() {
			continue
		}
		addMarks(sec, "in "+short(c.Hash))
		readers(c.Hash, "in "+short(c.Hash))
	}
	if h.current != nil {
		if sec := h.current.Secrets[key]; sec != nil && sec.Value.Reveal() == old.Value.Reveal() {
			addMarks(sec, "now")
		}
	}
	return out
}
