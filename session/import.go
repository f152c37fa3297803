package session

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
)

// ImportOptions is hush import's command line.
type ImportOptions struct {
	Source
	Scope store.Scope
	// Overwrite replaces keys that hold other values (else a conflict).
	Overwrite bool
}

// ImportReport is what an import did, for the CLI to render. It is
// returned, as far as it got, with an error too.
type ImportReport struct {
	Env  string
	Path string
	// Duplicates are the keys the file sets more than once (the last
	// value wins).
	Duplicates []string
	// Applied says the values are in the store; Added, Updated and Same
	// are its keys by what their value did.
	Applied              bool
	Added, Updated, Same []string
	// Disputed are the values some dotenv reader would read otherwise.
	Disputed []inject.Dispute
	// Refs counts the values that are hush:// references, stored as text.
	Refs int
}

// Import reads a file (ReadSource) and writes its secrets into one store
// of the environment in one locked update, all or nothing, audited.
func (s *Session) Import(o ImportOptions) (*ImportReport, error) {
	if _, err := s.Project(); err != nil {
		return nil, err
	}
	env, err := s.EnvName()
	if err != nil {
		return nil, err
	}
	imp, err := s.ReadSource(o.Source)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{Env: env, Path: o.Path, Duplicates: imp.Duplicates}
	if err := validImport("", imp.Secrets); err != nil {
		return rep, err
	}
	rep.Added, rep.Updated, rep.Same, err = s.applyImport(env, o.Scope, imp.Secrets, o.Overwrite, nil)
	if err != nil {
		return rep, err
	}
	rep.Applied, rep.Disputed = true, imp.Disputed
	if refs, _ := inject.FindSecretRefs(imp.Secrets); len(refs) > 0 {
		rep.Refs = len(refs)
	}
	return rep, nil
}

// validImport checks every name and value of a file before anything is
// written; path, when not "", names the file in the error.
func validImport(path string, secrets []inject.Secret) error {
	prefix := ""
	if path != "" {
		prefix = path + ": "
	}
	for _, sec := range secrets {
		if err := store.ValidKeyName(sec.Name); err != nil {
			return fmt.Errorf("%s%v; nothing imported", prefix, err)
		}
		if err := store.ValidValue(sec.Value.Reveal()); err != nil {
			return fmt.Errorf("%s%s: %v; nothing imported", prefix, sec.Name, err)
		}
	}
	return nil
}

// applyImport writes secrets into one store of env in one locked update
// (Session.Update, store's rule for a new value: Document.SetValue), all
// or nothing: a key holding another value is a conflict unless overwrite.
// mark, when not nil, is applied to every imported secret in the same
// write (hush migrate marks them exposed). Every key gets its write line,
// on success and on failure.
func (s *Session) applyImport(env string, scope store.Scope, secrets []inject.Secret, overwrite bool,
	mark func(name string, sec *store.Secret, now time.Time)) (added, updated, same []string, err error) {
	keys := make([]string, len(secrets))
	for i, sec := range secrets {
		keys[i] = sec.Name
	}
	err = s.Update(env, scope, keys, func(d *store.Document, now time.Time) error {
		var conflicts []string
		for _, sec := range secrets {
			if old, ok := d.Secrets[sec.Name]; ok && old.Value.Reveal() != sec.Value.Reveal() && !overwrite {
				conflicts = append(conflicts, sec.Name)
			}
		}
		if len(conflicts) > 0 {
			sort.Strings(conflicts)
			return hint.With(fmt.Errorf("%w: %s already hold other values in %s; nothing imported", store.ErrConflict, strings.Join(conflicts, ", "), env),
				"pass --overwrite to replace them")
		}
		for _, sec := range secrets {
			switch _, ch := d.SetValue(sec.Name, store.Value(sec.Value.Reveal()), now); ch {
			case store.Created:
				added = append(added, sec.Name)
			case store.Replaced:
				updated = append(updated, sec.Name)
			default:
				same = append(same, sec.Name)
			}
			if mark != nil {
				mark(sec.Name, d.Secrets[sec.Name], now)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return added, updated, same, nil
}
