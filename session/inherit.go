package session

import (
	"errors"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// Environments that inherit from another (store/inherit.go): reads are
// layered by store, and this file holds what the session adds — a
// change never reaches a parent, so a key the environment only inherits
// is not in the store a change of it writes, and the error says where
// it is.

// ownStoreHint adds to a key-not-found error of a change to env's team
// store the hint that env inherits, naming the parents. Only the
// configuration is read: no parent is decrypted to say so.
func (s *Session) ownStoreHint(err error, env string, scope store.Scope, command string) error {
	if err == nil || scope != store.Team || !errors.Is(err, store.ErrNotFound) || hint.Of(err) != "" || s.project == nil {
		return err
	}
	parents, perr := s.project.Parents(env)
	if perr != nil || len(parents) == 0 {
		return err
	}
	return hint.With(err, "%s inherits from %s, and a change of %s never writes there: for a key it inherits, run hush %s KEY --env %s (or override it in %s: hush set KEY --env %s)",
		env, strings.Join(parents, ", "), env, command, parents[0], env, env)
}

// InheritReport is what hush env inherit did.
type InheritReport struct {
	Env, Parent string
	// Writers are the labels of the parent's recipients that are not
	// env's: from now on they can set values env's programs receive.
	Writers []string
	// Blind are the labels of env's recipients that cannot read the
	// parent: their reads of env fail until they are members of it.
	Blind []string
}

// SetInherits makes env inherit from parent ("" for none), pinned as the
// user's own change, with its audit line.
func (s *Session) SetInherits(env, parent string) (*InheritReport, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if err := store.ValidEnvName(env); err != nil {
		return nil, err
	}
	if parent != "" {
		if err := store.ValidEnvName(parent); err != nil {
			return nil, err
		}
	}
	_, _ = s.Identity() // names the user in the line when there is one
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	err = p.SetInherits(env, parent)
	if err := s.AuditWith(audit.EnvInherit, s.SecretPath(env, ""), err); err != nil {
		return nil, err
	}
	rep := &InheritReport{Env: env, Parent: parent}
	if parent == "" {
		return rep, nil
	}
	child, par := p.Config.Environments[env], p.Config.Environments[parent]
	rep.Writers = missing(par.Recipients, child.Recipients)
	rep.Blind = missing(child.Recipients, par.Recipients)
	return rep, nil
}

// missing lists the labels of the recipients of a that b does not have.
func missing(a, b []store.Recipient) []string {
	have := map[string]bool{}
	for _, r := range b {
		have[crypt.CanonicalRecipient(r.Key)] = true
	}
	var out []string
	for _, r := range a {
		if !have[crypt.CanonicalRecipient(r.Key)] {
			out = append(out, r.Label)
		}
	}
	return out
}
