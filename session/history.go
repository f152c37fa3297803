package session

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// LogEntry is one change of a key in the history of its team store.
// Author, Email and Subject are git's, written by whoever committed.
type LogEntry struct {
	Commit  string    `json:"commit"`
	Author  string    `json:"author,omitempty"`
	Email   string    `json:"email,omitempty"`
	Date    time.Time `json:"date,omitzero"`
	Subject string    `json:"subject,omitempty"`
	// Events say what happened to the key: added, changed, rotated,
	// removed, marked exposed to X, …
	Events []string `json:"events,omitempty"`
	// Fingerprint is the keyed fingerprint of the value after the change
	// ("" when the key is gone or the version could not be read).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Merge says the change was made by a merge commit (a key-by-key
	// merge or a conflict's resolution), not on either side.
	Merge bool `json:"merge,omitempty"`
	// Unreadable says why this commit's version of the store could not be
	// read: the key's change there is unknown.
	Unreadable string `json:"unreadable,omitempty"`
	// Untrusted says the version's lineage is none this user knows: it
	// was not written by a reader of the versions they read (see
	// store/lineage.go).
	Untrusted bool `json:"untrusted,omitempty"`
}

// LogReport is hush log's answer, newest first.
type LogReport struct {
	Env     string     `json:"environment"`
	Key     string     `json:"key"`
	Entries []LogEntry `json:"changes"`
	// Keyed says what the fingerprints are keyed by: "environment" (the
	// store's lineage: the same for every member) or "identity" (a store
	// without a lineage: comparable only with your own).
	Keyed string `json:"fingerprints_keyed_by"`
}

// Worktree is the commit name of a change not committed yet.
const Worktree = "worktree"

// Log walks the git history of the environment's team store and reports
// each change of key: who committed it, when, what happened and a keyed
// fingerprint of the value, never the value. A version that cannot be read
// (encrypted before you were a member, damaged) is reported for its commit;
// the log goes on. One audit line records the read.
func (s *Session) Log(key string) (*LogReport, error) {
	if err := store.ValidKeyName(key); err != nil {
		return nil, err
	}
	p, env, _, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	rep, n, err := s.log(p, env, key)
	path := s.SecretPath(env, key)
	e := s.Entry(audit.SecretRead, path, err)
	if err == nil {
		e.Detail = fmt.Sprintf("history: %d versions of the store read", n)
	}
	if aerr := s.Record(e); aerr != nil {
		return nil, join(err, aerr)
	}
	return rep, err
}

// keyHistory is everything log and rollback know of one store's history.
type keyHistory struct {
	f        storeFile
	commits  []commitInfo
	versions map[string]*version
	current  *store.Document // the work tree's store, nil when unreadable
	trusted  func(*store.Document) bool
	fpKey    []byte
	keyed    string
}

// history reads the store's history: the commits of revs (HEAD's when
// none), each one's version and its parents'.
func (s *Session) history(p *store.Project, env string, extra []string, revs ...string) (*keyHistory, error) {
	id, err := s.Identity()
	if err != nil {
		return nil, err
	}
	f, err := gitStoreFile(p, env)
	if err != nil {
		return nil, err
	}
	commits, err := f.commits(s.Ctx(), revs...)
	if err != nil {
		return nil, err
	}
	var want []string
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			want = append(want, c)
		}
	}
	for _, c := range commits {
		add(c.Hash)
		for _, pc := range c.Parents {
			add(pc)
		}
	}
	h := &keyHistory{f: f, commits: commits}
	if head := gitHead(s, f); head != "" {
		add(head)
	}
	for _, c := range extra {
		add(c)
	}
	if h.versions, err = f.versions(s.Ctx(), env, id, want); err != nil {
		return nil, err
	}
	// The work tree's store, read as every command reads it (the lineage
	// checked, and pinned on first use), so history is judged against it.
	if cur, err := p.Read(env, store.Team, id); err == nil {
		h.current = cur
	}
	var docs []*store.Document
	if h.current != nil {
		docs = append(docs, h.current)
	}
	for _, v := range h.versions {
		if v.doc != nil {
			docs = append(docs, v.doc)
		}
	}
	if h.trusted, err = p.LineageTrust(env, docs); err != nil {
		return nil, err
	}
	// Fingerprints are keyed by the newest lineage there is: the work
	// tree's, else the newest trusted version's.
	keyDoc := h.current
	for _, c := range commits {
		if keyDoc != nil && keyDoc.Lineage != "" {
			break
		}
		if v := h.versions[c.Hash]; v.doc != nil && h.trusted(v.doc) {
			keyDoc = v.doc
		}
	}
	h.fpKey, h.keyed = store.FingerprintKey(keyDoc), "environment"
	if h.fpKey == nil {
		if h.fpKey, err = id.DeriveKey("hush log fingerprint"); err != nil {
			return nil, err
		}
		h.keyed = "identity"
	}
	return h, nil
}

// gitHead is HEAD's commit, "" before the first one.
func gitHead(s *Session, f storeFile) string {
	h, err := f.resolveCommit(s.Ctx(), "HEAD")
	if err != nil {
		return ""
	}
	return h
}

func (h *keyHistory) fingerprint(env, key string, sec *store.Secret) string {
	if sec == nil {
		return ""
	}
	return store.Fingerprint(h.fpKey, env, key, sec.Value)
}

// secretAt is key as the version holds it (nil when absent); ok is false
// when the version could not be read.
func secretAt(v *version, key string) (sec *store.Secret, ok bool) {
	switch {
	case v == nil || v.err != nil:
		return nil, false
	case v.absent:
		return nil, true
	}
	return v.doc.Secrets[key], true
}

func (s *Session) log(p *store.Project, env, key string) (*LogReport, int, error) {
	h, err := s.history(p, env, nil)
	if err != nil {
		return nil, 0, err
	}
	rep := &LogReport{Env: env, Key: key, Keyed: h.keyed}
	// Oldest first, so a value that comes back is named as the one of the
	// commit that first had it.
	firstSeen := map[string]string{}
	var entries []LogEntry
	for i := len(h.commits) - 1; i >= 0; i-- {
		c := h.commits[i]
		v := h.versions[c.Hash]
		e := LogEntry{Commit: c.Hash, Author: c.Author, Email: c.Email, Date: c.Date, Subject: c.Subject}
		cur, ok := secretAt(v, key)
		if !ok {
			e.Unreadable = v.unreadable()
			entries = append(entries, e)
			continue
		}
		e.Untrusted = v.doc != nil && !h.trusted(v.doc)
		var before *store.Secret
		known := true
		if len(c.Parents) > 0 {
			pv := h.versions[c.Parents[0]]
			before, known = secretAt(pv, key)
		}
		if len(c.Parents) > 1 {
			// A merge's change is shown where it was made: on a side. The
			// merge is listed only when the key ends up as no side had it.
			same := false
			for _, pc := range c.Parents {
				ps, pok := secretAt(h.versions[pc], key)
				if pok && sameSecret(ps, cur) {
					same = true
				}
			}
			if same {
				continue
			}
			e.Merge = true
		}
		e.Fingerprint = h.fingerprint(env, key, cur)
		if !known {
			if cur == nil {
				e.Events = []string{"not present (the version before could not be read)"}
			} else {
				e.Events = []string{"present (the version before could not be read)"}
			}
		} else {
			e.Events = changeEvents(before, cur)
		}
		if len(e.Events) == 0 {
			continue
		}
		if cur != nil && (before == nil || before.Value.Reveal() != cur.Value.Reveal()) {
			if first, ok := firstSeen[e.Fingerprint]; ok && first != c.Hash {
				e.Events = append(e.Events, "back to the value of "+short(first))
			}
		}
		if cur != nil {
			if _, ok := firstSeen[e.Fingerprint]; !ok {
				firstSeen[e.Fingerprint] = c.Hash
			}
		}
		entries = append(entries, e)
	}
	// The work tree, when it holds a change not committed yet.
	if h.current != nil {
		var before *store.Secret
		known := true
		if head := gitHead(s, h.f); head != "" {
			before, known = secretAt(h.versions[head], key)
		}
		cur := h.current.Secrets[key]
		if known && !sameSecret(before, cur) {
			e := LogEntry{Commit: Worktree, Events: changeEvents(before, cur), Fingerprint: h.fingerprint(env, key, cur)}
			if first, ok := firstSeen[e.Fingerprint]; ok && cur != nil && (before == nil || before.Value.Reveal() != cur.Value.Reveal()) {
				e.Events = append(e.Events, "back to the value of "+short(first))
			}
			if len(e.Events) > 0 {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) == 0 && (h.current == nil || h.current.Secrets[key] == nil) {
		return nil, len(h.versions), hint.With(fmt.Errorf("%s %w in %s nor in its history", key, store.ErrNotFound, env), "hush ls --env %s lists its keys", env)
	}
	slices.Reverse(entries)
	rep.Entries = entries
	return rep, len(h.versions), nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// sameSecret says a and b hold the same value and metadata.
func sameSecret(a, b *store.Secret) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Value.Reveal() != b.Value.Reveal() || a.Type != b.Type || a.Note != b.Note || a.RotateEvery != b.RotateEvery ||
		!a.Compromised.Equal(b.Compromised) || len(a.Exposed) != len(b.Exposed) {
		return false
	}
	for i := range a.Exposed {
		if a.Exposed[i].To != b.Exposed[i].To || !a.Exposed[i].Since.Equal(b.Exposed[i].Since) {
			return false
		}
	}
	return true
}

// changeEvents says what happened to a secret between two versions.
func changeEvents(before, after *store.Secret) []string {
	switch {
	case before == nil && after == nil:
		return nil
	case before == nil:
		ev := []string{"added"}
		return append(ev, markEvents(nil, after)...)
	case after == nil:
		return []string{"removed"}
	}
	var ev []string
	if before.Value.Reveal() != after.Value.Reveal() {
		if len(before.Exposed) > 0 || !before.Compromised.IsZero() {
			ev = append(ev, "rotated (the exposed value replaced)")
		} else {
			ev = append(ev, "changed")
		}
	}
	ev = append(ev, markEvents(before, after)...)
	if before.Type != after.Type {
		ev = append(ev, fmt.Sprintf("type %s → %s", orDash(before.Type), orDash(after.Type)))
	}
	if before.RotateEvery != after.RotateEvery {
		ev = append(ev, fmt.Sprintf("rotate-every %s → %s", orDash(before.RotateEvery), orDash(after.RotateEvery)))
	}
	if before.Note != after.Note {
		ev = append(ev, "note changed")
	}
	return ev
}

// markEvents are the exposure and compromise marks that came or went
// while the value stayed (a new value clears them by itself).
func markEvents(before, after *store.Secret) []string {
	var ev, added []string
	had := map[string]bool{}
	if before != nil {
		for _, x := range before.Exposed {
			had[x.To] = true
		}
	}
	for _, x := range after.Exposed {
		if !had[x.To] {
			added = append(added, x.To)
		}
		delete(had, x.To)
	}
	if len(added) > 0 {
		ev = append(ev, "marked exposed to "+strings.Join(added, ", "))
	}
	sameValue := before != nil && before.Value.Reveal() == after.Value.Reveal()
	if sameValue && len(had) > 0 {
		var gone []string
		for to := range had {
			gone = append(gone, to)
		}
		slices.Sort(gone)
		ev = append(ev, "exposure to "+strings.Join(gone, ", ")+" dismissed")
	}
	if !after.Compromised.IsZero() && (before == nil || before.Compromised.IsZero()) {
		ev = append(ev, "marked compromised")
	}
	return ev
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
