package session

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is hush edit without its editor: what is checked before a
// value is decrypted, the buffer's values, and applying the edited buffer
// to the store. The CLI holds the buffer, the editor and the signals
// (package edit).

// EditCheck refuses, before a value is decrypted or an editor started, an
// edit of a store of env that could not be saved (a recipient change not
// acknowledged, an audit log that cannot be written): showing plaintext
// for an edit that cannot be saved is a needless exposure.
func (s *Session) EditCheck(env string, scope store.Scope) error {
	p, id, err := s.projectIdentity()
	if err != nil {
		return err
	}
	if err := p.CheckWrite(env, scope, id); err != nil {
		return fmt.Errorf("%w; nothing was decrypted", err)
	}
	return s.AuditReady()
}

// EditDraft is a store as the editor gets it.
type EditDraft struct {
	Env   string
	Scope store.Scope
	// Body is the values as a dotenv text hush reads back exactly.
	Body []byte
	// orig is what the values were when read, the base of the edit.
	orig map[string]string
}

// EditRead decrypts a store of env for the editor and records the read.
// A binary value (stored base64, see store.Secret) has no exact text form
// for an editor and is refused before anything is shown: a buffer that
// would write back something else is worse than none.
func (s *Session) EditRead(env string, scope store.Scope) (*EditDraft, error) {
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, err
	}
	orig, err := p.Read(env, scope, id)
	if aerr := s.AuditWith(audit.SecretRead, s.SecretPath(env, ""), err); aerr != nil {
		return nil, aerr
	}
	d := &EditDraft{Env: env, Scope: scope, orig: map[string]string{}}
	secrets := make([]inject.Secret, 0, len(orig.Secrets))
	for _, n := range orig.Names() {
		v := orig.Secrets[n].Value.Reveal()
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return nil, hint.With(fmt.Errorf("%s in %s holds bytes that are not valid UTF-8 text, which a text buffer cannot carry exactly; nothing was opened or changed", n, env),
				"change that value with: hush set %s --from-file FILE --env %s", n, env)
		}
		d.orig[n] = v
		secrets = append(secrets, inject.Secret{Name: n, Value: inject.NewValue(v)})
	}
	var body bytes.Buffer
	if err := inject.Export(&body, inject.FormatDotenv, secrets, inject.ExportOptions{ForHush: true}); err != nil {
		return nil, err
	}
	d.Body = body.Bytes()
	return d, nil
}

// ParseEdit reads the values of an edited buffer, refusing what hush set
// would refuse and a key given twice (one of the two edits would be
// dropped). Errors never carry a value.
func ParseEdit(b []byte) (map[string]string, error) {
	imp, err := inject.ParseDotenv(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if len(imp.Duplicates) > 0 {
		return nil, fmt.Errorf("%s set on more than one line; keep one", strings.Join(imp.Duplicates, ", "))
	}
	vals := map[string]string{}
	for _, sec := range imp.Secrets {
		vals[sec.Name] = sec.Value.Reveal()
	}
	if err := validEdit(vals); err != nil {
		return nil, err
	}
	return vals, nil
}

func validEdit(vals map[string]string) error {
	for _, n := range slices.Sorted(maps.Keys(vals)) {
		if err := store.ValidKeyName(n); err != nil {
			return err
		}
		if err := store.ValidValue(vals[n]); err != nil {
			return fmt.Errorf("%s: %v", n, err)
		}
	}
	return nil
}

// EditReport is what applying an edit did.
type EditReport struct {
	Env              string
	Changed, Removed []string
}

// ApplyEdit applies the edited values to the store as a diff against what
// the draft was read from, onto the store as it is now, so a concurrent
// change to another key is not lost. A key whose value the edit changed
// or added gets it by store's one rule for a new value (Document.SetValue:
// a changed value clears the exposure and compromise marks, a new key gets
// its inferred type); a key the edit kept as it was is not touched; a key
// the edit dropped is deleted. It is all or nothing, in one locked write,
// refused before the change when the audit log cannot be written, with a
// write line per changed key and a delete line per removed one. Nothing
// changed is no write and no line.
func (s *Session) ApplyEdit(d *EditDraft, vals map[string]string) (*EditReport, error) {
	if err := validEdit(vals); err != nil {
		return nil, fmt.Errorf("%w; nothing changed", err)
	}
	r := &EditReport{Env: d.Env}
	for _, n := range slices.Sorted(maps.Keys(vals)) {
		if old, ok := d.orig[n]; !ok || old != vals[n] {
			r.Changed = append(r.Changed, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(d.orig)) {
		if _, ok := vals[n]; !ok {
			r.Removed = append(r.Removed, n)
		}
	}
	if len(r.Changed)+len(r.Removed) == 0 {
		return r, nil
	}
	err := s.updateLines(d.Env, d.Scope, []keyLines{{audit.SecretWrite, r.Changed}, {audit.SecretDelete, r.Removed}},
		func(doc *store.Document, now time.Time) error {
			for _, n := range r.Changed {
				doc.SetValue(n, store.Value(vals[n]), now)
			}
			for _, n := range r.Removed {
				delete(doc.Secrets, n)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return r, nil
}
