package session

import (
	"fmt"
	"strings"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is where a value is read or changed for a command, each with
// its audit line in the same call: the line is written whether the
// operation succeeded or not, and a change is refused before it happens
// when the line could not be written.

// Get reads key of env — the personal value over the team's unless
// personalOnly — and records the read.
func (s *Session) Get(env, key string, personalOnly bool) (*store.Secret, error) {
	if err := store.ValidKeyName(key); err != nil {
		return nil, err
	}
	sec, from, err := s.lookup(env, key, personalOnly)
	// A value inherited from dev is a read of dev's: the line names the
	// environment whose store gave it.
	if aerr := s.AuditWith(audit.SecretRead, s.SecretPath(from, key), err); aerr != nil {
		return nil, aerr
	}
	return sec, nil
}

// lookup is Get's read: the secret and the environment whose store held
// it (env itself on failure).
func (s *Session) lookup(env, key string, personalOnly bool) (*store.Secret, string, error) {
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, env, err
	}
	// Personal first: it overrides the team's value, and then env's team
	// store over those env inherits from.
	from := env
	sec, err := p.ReadKey(env, store.Personal, id, key)
	if err == nil && sec == nil && !personalOnly {
		sec, from, err = p.ReadInherited(env, id, key)
	}
	if err != nil {
		return nil, env, err
	}
	if sec == nil {
		return nil, env, fmt.Errorf("%s %w in %s", key, store.ErrNotFound, env)
	}
	return sec, from, nil
}

// ReadKeys reads keys of env as layering sees them (personal over team),
// all or none, and records the read as one line naming the keys (hush
// inject's render). A missing key is an error naming every missing one,
// recorded as a failed line per key, and nothing is returned.
func (s *Session) ReadKeys(env string, keys []string) (map[string]*store.Secret, error) {
	for _, k := range keys {
		if err := store.ValidKeyName(k); err != nil {
			return nil, err
		}
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	entries, err := s.list(env, false)
	if err != nil {
		return nil, join(err, s.Record(s.Entry(audit.SecretRead, s.SecretPath(env, ""), err)))
	}
	byName := make(map[string]*store.Secret, len(entries))
	for _, e := range entries {
		byName[e.Name] = e.Secret
	}
	out := make(map[string]*store.Secret, len(keys))
	var missing []string
	for _, k := range keys {
		if sec, ok := byName[k]; ok {
			out[k] = sec
		} else {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		err := fmt.Errorf("%s %w in %s", strings.Join(missing, ", "), store.ErrNotFound, env)
		lines := make([]audit.Entry, 0, len(missing))
		for _, k := range missing {
			lines = append(lines, s.Entry(audit.SecretRead, s.SecretPath(env, k), err))
		}
		return nil, join(err, s.Record(lines...))
	}
	e := s.Entry(audit.SecretRead, s.SecretPath(env, ""), nil)
	e.Keys = keys
	if err := s.Record(e); err != nil {
		return nil, err
	}
	return out, nil
}

// Meta is what a write may set besides the value; nil leaves a field as it
// is.
type Meta struct {
	Type, RotateEvery, Note *string
}

// Set gives key of env the value v by store's rule for a new value
// (Document.SetValue), applies meta, and records the write. It reports
// what the value did.
func (s *Session) Set(env string, scope store.Scope, key string, v store.Value, meta Meta) (store.Change, error) {
	if err := store.ValidKeyName(key); err != nil {
		return 0, err
	}
	if meta.RotateEvery != nil {
		if _, err := store.ParsePeriod(*meta.RotateEvery); err != nil {
			return 0, err
		}
	}
	var change store.Change
	err := s.Update(env, scope, []string{key}, func(d *store.Document, now time.Time) error {
		var sec *store.Secret
		sec, change = d.SetValue(key, v, now)
		if meta.Type != nil {
			sec.Type = *meta.Type
		}
		if meta.RotateEvery != nil {
			sec.RotateEvery = *meta.RotateEvery
		}
		if meta.Note != nil {
			sec.Note = *meta.Note
		}
		return nil
	})
	return change, err
}

// Remove deletes keys from a store of env, all or none, and records it.
func (s *Session) Remove(env string, scope store.Scope, keys []string) error {
	for _, k := range keys {
		if err := store.ValidKeyName(k); err != nil {
			return err
		}
	}
	err := s.update(audit.SecretDelete, env, scope, keys, func(d *store.Document, _ time.Time) error {
		for _, k := range keys {
			if _, ok := d.Secrets[k]; !ok {
				return fmt.Errorf("%s %w in %s (%s store); nothing removed", k, store.ErrNotFound, env, scope)
			}
		}
		for _, k := range keys {
			delete(d.Secrets, k)
		}
		return nil
	})
	return s.ownStoreHint(err, env, scope, "rm")
}

// Update changes a store of env under its lock and records one write line
// per key of keys (the environment's path when keys is empty). fn gets the
// time of the change, truncated to the second as documents keep it.
func (s *Session) Update(env string, scope store.Scope, keys []string, fn func(*store.Document, time.Time) error) error {
	return s.update(audit.SecretWrite, env, scope, keys, fn)
}

func (s *Session) update(action, env string, scope store.Scope, keys []string, fn func(*store.Document, time.Time) error) error {
	return s.updateLines(env, scope, []keyLines{{action, keys}}, fn)
}

// keyLines are keys whose audit lines a change records under one action.
type keyLines struct {
	action string
	keys   []string
}

// updateLines is Update recording, for each group, one line per key under
// the group's action (hush edit writes some keys and deletes others in
// one change), all in one append: the environment's path under the first
// group's action when no group names a key.
func (s *Session) updateLines(env string, scope store.Scope, lines []keyLines, fn func(*store.Document, time.Time) error) error {
	p, id, err := s.forChange()
	if err != nil {
		return err
	}
	now := s.Now().UTC().Truncate(time.Second)
	err = p.Update(env, scope, id, func(d *store.Document) error { return fn(d, now) })
	var entries []audit.Entry
	for _, l := range lines {
		for _, k := range l.keys {
			entries = append(entries, s.Entry(l.action, s.SecretPath(env, k), err))
		}
	}
	if len(entries) == 0 {
		entries = append(entries, s.Entry(lines[0].action, s.SecretPath(env, ""), err))
	}
	return join(err, s.Record(entries...))
}

// List is the secrets of env as layering sees them (personal over team),
// or the personal store's alone, and records the listing.
func (s *Session) List(env string, personalOnly bool) ([]store.Entry, error) {
	entries, err := s.list(env, personalOnly)
	paths := []string{s.SecretPath(env, "")}
	if err == nil && !personalOnly {
		paths = s.EnvPaths(s.readEnvs(env))
	}
	if aerr := join(err, s.Audit(audit.SecretList, paths, err)); aerr != nil {
		return nil, aerr
	}
	return entries, nil
}

func (s *Session) list(env string, personalOnly bool) ([]store.Entry, error) {
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, err
	}
	if !personalOnly {
		return p.Layered(env, id)
	}
	d, err := p.Read(env, store.Personal, id)
	if err != nil {
		return nil, err
	}
	var entries []store.Entry
	for _, n := range d.Names() {
		entries = append(entries, store.Entry{Name: n, Secret: d.Secrets[n], Source: store.Personal, Env: env})
	}
	return entries, nil
}

// Dismiss settles the exposure marks of keys in a store of env — the mark
// naming to, or all of them for "" — without a new value, all or none. Each
// key's audit line says which marks went and why; reason is redacted like
// an error text. It returns the marks dismissed per key.
func (s *Session) Dismiss(env string, scope store.Scope, keys []string, to, reason string) (map[string][]store.Exposure, error) {
	for _, k := range keys {
		if err := store.ValidKeyName(k); err != nil {
			return nil, err
		}
	}
	p, id, err := s.forChange()
	if err != nil {
		return nil, err
	}
	gone := map[string][]store.Exposure{}
	err = p.Update(env, scope, id, func(d *store.Document) error {
		for _, k := range keys {
			g, err := d.Dismiss(k, to)
			if err != nil {
				return err
			}
			gone[k] = g
		}
		return nil
	})
	entries := make([]audit.Entry, 0, len(keys))
	for _, k := range keys {
		e := s.Entry(audit.SecretDismiss, s.SecretPath(env, k), err)
		if err == nil {
			var marks []string
			for _, x := range gone[k] {
				marks = append(marks, x.To+" since "+x.Since.UTC().Format("2006-01-02"))
			}
			e.Detail = auditErrorText(fmt.Sprintf("exposure to %s dismissed: %s", strings.Join(marks, ", "), s.Redact(reason)))
		}
		entries = append(entries, e)
	}
	if err := join(err, s.Record(entries...)); err != nil {
		return nil, s.ownStoreHint(err, env, scope, "dismiss")
	}
	return gone, nil
}
