package session

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// Write-only contributors: someone who is not a member proposes a value
// with only the environment's public recipients (hush set --contribute),
// and a member decides (hush inbox). What is trusted, and what is not:
//
//   - The contributor encrypts to the recipients this checkout pinned for
//     the environment when it has pins (so a recipient planted by a commit
//     after they acknowledged is left out), and to hush.yaml's list on
//     first use, pinning it — a recipient list a hostile commit planted
//     before that is the contributor's risk, and the labels are shown.
//   - A drop is not authenticated: anyone who can push writes one, under
//     any contributor label. Nothing is applied without a member's
//     explicit accept, an accept never overwrites a key silently (the
//     member names the key with --overwrite), and the commit author is
//     shown beside the label. The value a member accepts is the one they
//     were shown (its fingerprint).
//   - A drop file that was removed before (accepted or rejected) and comes
//     back is flagged as a replay.
//   - An accepted loader variable (LD_PRELOAD…) is still refused by hush
//     run unless allow_inject names it (inject/policy.go).

// ContributeOptions is hush set --contribute.
type ContributeOptions struct {
	Key   string
	Value store.Value
	// Label names the contributor for the members; "" takes git's
	// user.name and user.email, else the OS user.
	Label string
}

// ContributeReport is what a contribution wrote.
type ContributeReport struct {
	Env, ID, Path string
	// Recipients are the labels of those who can read the drop.
	Recipients []string
	// Source says where the recipients came from: "pinned" or
	// "hush.yaml (first use, now pinned)".
	Source string
	// Ignored are recipients hush.yaml lists that were not acknowledged
	// here, so the drop is not encrypted to them.
	Ignored []string
	Label   string
}

// Contribute writes a drop for key: no identity needed, nothing read.
func (s *Session) Contribute(o ContributeOptions) (*ContributeReport, error) {
	if err := store.ValidKeyName(o.Key); err != nil {
		return nil, err
	}
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	env, err := s.EnvName()
	if err != nil {
		return nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	label := o.Label
	if label == "" {
		label = s.contributorLabel(p)
	}
	if err := store.ValidContributor(label); err != nil {
		return nil, err
	}
	rep := &ContributeReport{Env: env, Label: label}
	rcpts, err := s.dropRecipients(p, env, rep)
	if err != nil {
		return nil, err
	}
	for _, r := range rcpts {
		rep.Recipients = append(rep.Recipients, r.Label)
	}
	d := &store.Drop{Environment: env, Key: o.Key, Value: o.Value, Contributor: label, Created: s.Now().UTC().Truncate(time.Second)}
	rep.ID, rep.Path, err = p.WriteDrop(d, rcpts)
	e := s.Entry(audit.InboxContribute, s.SecretPath(env, o.Key), err)
	if err == nil {
		e.Detail = auditErrorText("drop " + rep.ID + " as " + label + " for " + strings.Join(rep.Recipients, ", "))
	}
	if err := join(err, s.Record(e)); err != nil {
		return nil, err
	}
	return rep, nil
}

// dropRecipients are the recipients a contribution to env is encrypted
// to: the pinned ones, or hush.yaml's on first use (then pinned).
func (s *Session) dropRecipients(p *store.Project, env string, rep *ContributeReport) ([]store.Recipient, error) {
	ec, err := p.Config.Env(env)
	if err != nil {
		return nil, err
	}
	pinned, ok, err := p.Pinned(env)
	if err != nil {
		return nil, err
	}
	if !ok {
		if len(ec.Recipients) == 0 {
			return nil, fmt.Errorf("%w: environment %s has no recipients", store.ErrInvalid, env)
		}
		if err := p.Pin(env); err != nil {
			return nil, err
		}
		rep.Source = "hush.yaml (first use, now pinned)"
		return ec.Recipients, nil
	}
	if len(pinned) == 0 {
		return nil, hint.With(fmt.Errorf("%w: environment %s has no recipients you acknowledged; nothing was written", store.ErrConflict, env),
			"review who hush.yaml says can read it (hush member ls --env %s), then run: hush ack", env)
	}
	// A recipient hush.yaml added since is left out (and named); one it
	// removed is left out too: a removal is never held back by a pin, and
	// a removed member must not read what is contributed after.
	var rcpts []store.Recipient
	if pe, _ := p.PinDiff(env); pe != nil {
		for _, r := range pe.Added {
			rep.Ignored = append(rep.Ignored, r.Label)
		}
		gone := map[string]bool{}
		for _, r := range pe.Removed {
			gone[crypt.CanonicalRecipient(r.Key)] = true
		}
		for _, r := range pinned {
			if !gone[crypt.CanonicalRecipient(r.Key)] {
				rcpts = append(rcpts, r)
			}
		}
	} else {
		rcpts = pinned
	}
	if len(rcpts) == 0 {
		return nil, hint.With(fmt.Errorf("%w: none of the recipients of %s you acknowledged is still one; nothing was written", store.ErrConflict, env),
			"review who hush.yaml says can read it (hush member ls --env %s), then run: hush ack", env)
	}
	rep.Source = "pinned"
	return rcpts, nil
}

// contributorLabel is git's "user.name <user.email>" of the checkout,
// else the OS user.
func (s *Session) contributorLabel(p *store.Project) string {
	ctx := s.Ctx()
	name, _ := git.Line(ctx, p.Root, "config", "user.name")
	email, _ := git.Line(ctx, p.Root, "config", "user.email")
	switch {
	case name != "" && email != "":
		return name + " <" + email + ">"
	case email != "":
		return email
	case name != "":
		return name
	}
	return OSUser()
}

// DropInfo is one drop as a member sees it.
type DropInfo struct {
	ID          string    `json:"id"`
	Key         string    `json:"key,omitempty"`
	Contributor string    `json:"contributor,omitempty"`
	Created     time.Time `json:"created,omitzero"`
	// Commit and Author are git's: the commit that added the drop file
	// and who wrote it ("" when not committed).
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	// Fingerprint is the proposed value's, Current the key's value now
	// ("" for a new key), keyed as hush log's.
	Fingerprint string `json:"fingerprint,omitempty"`
	Current     string `json:"current,omitempty"`
	// Overwrites says an accept would replace the key's value.
	Overwrites bool `json:"overwrites,omitempty"`
	// Same says the key already holds the proposed value.
	Same bool `json:"same,omitempty"`
	// Loader says hush run refuses the key unless allow_inject names it.
	Loader bool `json:"loader_variable,omitempty"`
	// Stale says the key changed after the drop was made.
	Stale bool `json:"stale,omitempty"`
	// Replayed is the commit that removed a drop of this id before: the
	// file came back (a replay of an accepted or rejected drop?).
	Replayed string `json:"replayed,omitempty"`
	// Former are recipients of the environment when the drop was
	// committed who are no longer: a contributor encrypted to them too,
	// so an accepted value is marked exposed to them.
	Former []string `json:"former_recipients,omitempty"`
	// Problem says why the drop cannot be accepted.
	Problem string `json:"problem,omitempty"`

	drop    *store.Drop
	problem error
}

// InboxReport is env's inbox.
type InboxReport struct {
	Env   string     `json:"environment"`
	Drops []DropInfo `json:"drops"`
	// Other are names in the inbox that are not drops.
	Other []string `json:"other,omitempty"`
}

// Inbox lists env's drops, decrypted, with what an accept would do. One
// audit line records the listing.
func (s *Session) Inbox() (*InboxReport, error) {
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	rep, err := s.inbox(p, env, id)
	e := s.Entry(audit.InboxList, s.SecretPath(env, ""), err)
	if err == nil {
		e.Detail = fmt.Sprintf("%d drops", len(rep.Drops))
	}
	if aerr := s.Record(e); aerr != nil {
		return nil, join(err, aerr)
	}
	return rep, err
}

func (s *Session) inbox(p *store.Project, env string, id *crypt.Identity, only ...string) (*InboxReport, error) {
	ids, other, err := p.DropIDs(env)
	if err != nil {
		return nil, err
	}
	if only != nil {
		ids = only
	}
	cur, err := p.Read(env, store.Team, id)
	if err != nil {
		return nil, err
	}
	fpKey := store.FingerprintKey(cur)
	if fpKey == nil {
		if fpKey, err = id.DeriveKey("hush log fingerprint"); err != nil {
			return nil, err
		}
	}
	// One question to git for where the store is; the drops sit beside it.
	f, gitErr := gitStoreFile(p, env)
	current := map[string]bool{}
	if ec, err := p.Config.Env(env); err == nil {
		for _, r := range ec.Recipients {
			current[crypt.CanonicalRecipient(r.Key)] = true
		}
	}
	rep := &InboxReport{Env: env, Other: other, Drops: []DropInfo{}}
	formerAt := map[string][]string{}
	var ig inboxGit
	if gitErr == nil && len(ids) > 0 {
		ig = f.inboxGit(s.Ctx())
	}
	for _, did := range ids {
		info := DropInfo{ID: did}
		if gitErr == nil {
			info.Commit, info.Author, info.Replayed = ig.added[did], ig.author[did], ig.removed[did]
			if info.Commit != "" {
				former, ok := formerAt[info.Commit]
				if !ok {
					former = formerRecipients(f.configAt(s.Ctx(), info.Commit), env, current)
					formerAt[info.Commit] = former
				}
				info.Former = former
			}
		}
		d, err := p.ReadDrop(env, did, id)
		if err != nil {
			info.Problem, info.problem = err.Error(), err
			if errors.Is(err, crypt.ErrNoIdentity) {
				info.Problem = "not encrypted to your identity"
			}
			rep.Drops = append(rep.Drops, info)
			continue
		}
		info.drop = d
		info.Key, info.Contributor, info.Created = d.Key, d.Contributor, d.Created
		info.Fingerprint = store.Fingerprint(fpKey, env, d.Key, d.Value)
		if sec := cur.Secrets[d.Key]; sec != nil {
			info.Current = store.Fingerprint(fpKey, env, d.Key, sec.Value)
			info.Same = sec.Value.Reveal() == d.Value.Reveal()
			info.Overwrites = !info.Same
			info.Stale = sec.Updated.After(d.Created)
		}
		info.Loader = inject.IsDangerous(d.Key)
		rep.Drops = append(rep.Drops, info)
	}
	return rep, nil
}

// inboxGit is what git says of env's drop files, in two walks of the
// history whatever the number of drops: per drop id, the newest commit of
// HEAD's history that added it and its author, and the newest commit of
// any branch that removed a file of that name.
type inboxGit struct {
	added, author, removed map[string]string
}

func (f storeFile) inboxGit(ctx context.Context) inboxGit {
	dir := path.Join(path.Dir(f.rel), store.InboxDirName, path.Base(strings.TrimSuffix(f.rel, ".age")))
	g := inboxGit{added: map[string]string{}, author: map[string]string{}, removed: map[string]string{}}
	walk := func(filter string, all bool, fn func(id, commit, author string)) {
		args := []string{"log", "--diff-filter=" + filter, "--format=@@%H%x1f%an <%ae>", "--name-only"}
		if all {
			args = append(args, "--all")
		}
		out, err := git.Output(ctx, f.top, append(args, "--", dir)...)
		if err != nil {
			return
		}
		var commit, author string
		for _, line := range strings.Split(string(out), "\n") {
			if head, ok := strings.CutPrefix(line, "@@"); ok {
				commit, author, _ = strings.Cut(head, "\x1f")
				continue
			}
			if id, ok := strings.CutSuffix(path.Base(line), ".age"); ok && path.Dir(line) == dir && commit != "" {
				fn(id, commit, author)
			}
		}
	}
	walk("A", false, func(id, commit, author string) {
		if _, ok := g.added[id]; !ok {
			g.added[id], g.author[id] = commit, author
		}
	})
	walk("D", true, func(id, commit, _ string) {
		if _, ok := g.removed[id]; !ok {
			g.removed[id] = commit
		}
	})
	return g
}

// AcceptOptions is hush inbox accept.
type AcceptOptions struct {
	IDs []string
	// Overwrite names the keys the member agrees to replace.
	Overwrite []string
}

// AcceptReport is what an accept did, per drop.
type AcceptReport struct {
	Env      string
	Accepted []DropInfo
	Changes  map[string]store.Change
	// RemoveErr is set when the values were applied but a drop file
	// could not be removed.
	RemoveErr error
}

// Accept applies drops to the team store in one change, through the rule
// for a new value, one audit line per key naming the contributor, then
// removes the drop files. A drop that would replace a key's value is
// refused (exit 6) unless Overwrite names the key.
func (s *Session) Accept(o AcceptOptions) (*AcceptReport, error) {
	if len(o.IDs) == 0 {
		return nil, Usagef("accept needs the id of a drop (hush inbox ls lists them)")
	}
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	ids, err := resolveDrops(p, env, o.IDs)
	if err != nil {
		return nil, err
	}
	pc, _, err := s.forChange()
	if err != nil {
		return nil, err
	}
	rep, overwrite, err := s.acceptable(p, env, id, ids, o.Overwrite)
	if err != nil {
		// The drops were decrypted all the same: the refusal is a line.
		e := s.Entry(audit.SecretWrite, s.SecretPath(env, ""), err)
		e.Detail = auditErrorText("inbox accept of drops " + strings.Join(ids, ", "))
		return nil, join(err, s.Record(e))
	}
	now := s.Now().UTC().Truncate(time.Second)
	err = pc.Update(env, store.Team, id, func(doc *store.Document) error {
		// Judged again under the lock, against the store as it is now.
		for _, d := range rep.Accepted {
			if sec := doc.Secrets[d.Key]; sec != nil && sec.Value.Reveal() != d.drop.Value.Reveal() && !overwrite[d.Key] {
				return hint.With(fmt.Errorf("%w: drop %s would overwrite %s in %s (value %s now, %s proposed by %s); nothing was changed",
					store.ErrConflict, d.ID, d.Key, env, d.Current, d.Fingerprint, d.Contributor),
					"to replace it, name the key: hush inbox accept %s --overwrite %s --env %s", d.ID, d.Key, env)
			}
		}
		for _, d := range rep.Accepted {
			var sec *store.Secret
			sec, rep.Changes[d.Key] = doc.SetValue(d.Key, d.drop.Value, now)
			for _, to := range d.Former {
				if !hasExposure(sec, to) {
					sec.Exposed = append(sec.Exposed, store.Exposure{To: to, Since: now})
				}
			}
		}
		return nil
	})
	entries := make([]audit.Entry, 0, len(rep.Accepted))
	for _, d := range rep.Accepted {
		e := s.Entry(audit.SecretWrite, s.SecretPath(env, d.Key), err)
		by := "not committed"
		if d.Commit != "" {
			by = "committed by " + d.Author + " in " + d.Commit
		}
		e.Detail = auditErrorText(fmt.Sprintf("accepted drop %s from contributor %s (%s)", d.ID, d.Contributor, by))
		entries = append(entries, e)
	}
	if err := join(err, s.Record(entries...)); err != nil {
		return nil, err
	}
	for _, d := range rep.Accepted {
		if err := p.RemoveDrop(env, d.ID); err != nil && rep.RemoveErr == nil {
			rep.RemoveErr = err
		}
	}
	return rep, nil
}

// acceptable reads the drops ids and judges them before anything
// changes: each readable, one per key, every --overwrite naming one.
func (s *Session) acceptable(p *store.Project, env string, id *crypt.Identity, ids, overwriteKeys []string) (*AcceptReport, map[string]bool, error) {
	inbox, err := s.inbox(p, env, id, ids...)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]DropInfo{}
	for _, d := range inbox.Drops {
		byID[d.ID] = d
	}
	overwrite := map[string]bool{}
	for _, k := range overwriteKeys {
		overwrite[k] = true
	}
	rep := &AcceptReport{Env: env, Changes: map[string]store.Change{}}
	keys := map[string]string{}
	for _, did := range ids {
		d := byID[did]
		if d.Problem != "" {
			return nil, nil, fmt.Errorf("drop %s cannot be accepted: %w", did, d.problem)
		}
		if other, dup := keys[d.Key]; dup {
			return nil, nil, fmt.Errorf("%w: drops %s and %s both set %s; accept one, reject the other", store.ErrConflict, other, did, d.Key)
		}
		keys[d.Key] = did
		rep.Accepted = append(rep.Accepted, d)
	}
	for k := range overwrite {
		if _, ok := keys[k]; !ok {
			return nil, nil, Usagef("--overwrite %s names no key of the drops given", k)
		}
	}
	return rep, overwrite, nil
}

// RejectReport is what a reject removed.
type RejectReport struct {
	Env   string
	Drops []DropInfo
}

// Reject removes drops without applying them, one audit line each with
// the reason. A drop that cannot be read (not for you, damaged) can be
// rejected too.
func (s *Session) Reject(ids []string, reason string) (*RejectReport, error) {
	if len(ids) == 0 {
		return nil, Usagef("reject needs the id of a drop (hush inbox ls lists them)")
	}
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	env, err := s.EnvName()
	if err != nil {
		return nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	resolved, err := resolveDrops(p, env, ids)
	if err != nil {
		return nil, err
	}
	id, _ := s.Identity()
	rep := &RejectReport{Env: env}
	var entries []audit.Entry
	var first error
	for _, did := range resolved {
		info := DropInfo{ID: did}
		path := s.SecretPath(env, "")
		what := "drop " + did
		if d, err := p.ReadDrop(env, did, id); err == nil {
			info.Key, info.Contributor = d.Key, d.Contributor
			path = s.SecretPath(env, d.Key)
			what += " from contributor " + d.Contributor
		}
		err := p.RemoveDrop(env, did)
		e := s.Entry(audit.InboxReject, path, err)
		e.Detail = auditErrorText("rejected " + what + ": " + s.Redact(reason))
		entries = append(entries, e)
		if err != nil && first == nil {
			first = err
		}
		if err == nil {
			rep.Drops = append(rep.Drops, info)
		}
	}
	if err := join(first, s.Record(entries...)); err != nil {
		return nil, err
	}
	return rep, nil
}

// resolveDrops is each id given as a drop of env's inbox: the whole id or
// a prefix of one, of at least 4 characters, that names just one.
func resolveDrops(p *store.Project, env string, given []string) ([]string, error) {
	ids, _, err := p.DropIDs(env)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, g := range given {
		var match []string
		if len(g) >= 4 {
			for _, id := range ids {
				if strings.HasPrefix(id, strings.ToLower(g)) {
					match = append(match, id)
				}
			}
		}
		switch {
		case len(match) == 0:
			return nil, hint.With(fmt.Errorf("drop %q %w in the inbox of %s (%s)", g, store.ErrNotFound, env, filepath.ToSlash(filepath.Join(store.DirName, store.InboxDirName, env))),
				"hush inbox ls --env %s lists them", env)
		case len(match) > 1:
			return nil, Usagef("drop id %q is ambiguous (%s); give more of it", g, strings.Join(match, ", "))
		}
		if !seen[match[0]] {
			seen[match[0]] = true
			out = append(out, match[0])
		}
	}
	return out, nil
}

// formerRecipients are the labels of env's recipients in cfg (hush.yaml
// as a commit held it) that current no longer has.
func formerRecipients(cfg *store.Config, env string, current map[string]bool) []string {
	if cfg == nil {
		return nil
	}
	ec, ok := cfg.Environments[env]
	if !ok {
		return nil
	}
	var out []string
	for _, r := range ec.Recipients {
		if !current[crypt.CanonicalRecipient(r.Key)] {
			label := r.Label
			if label == "" {
				label = crypt.Fingerprint(r.Key)
			}
			out = append(out, label)
		}
	}
	return out
}
