package session

import (
	"errors"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file holds the changes to the project itself — its environments,
// what this checkout trusts, which personal store it uses — each with its
// audit line, refused before it happens when the line cannot be written.

// AddEnv creates environment name encrypted to the user alone, or, with
// from, to the recipients the user acknowledged for from: copying from's
// current list would carry a recipient a pull planted, unpinned, into an
// environment that has no pin yet.
func (s *Session) AddEnv(name, from string) (*store.EnvConfig, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if err := store.ValidEnvName(name); err != nil {
		return nil, err
	}
	id, err := s.Identity()
	if err != nil {
		return nil, err
	}
	rcpts := []store.Recipient{{Key: crypt.CanonicalRecipient(id.Public), Label: MyLabel(p.Config, id)}}
	if from != "" {
		if _, err := p.Config.Env(from); err != nil {
			return nil, err
		}
		if rcpts, err = p.PinnedRecipients(from); err != nil {
			return nil, err
		}
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	err = p.CreateEnv(name, rcpts, id)
	if err := s.AuditWith(audit.EnvCreate, s.SecretPath(name, ""), err); err != nil {
		return nil, err
	}
	return p.Config.Environments[name], nil
}

// MyLabel is the label this identity already has in the project, so one
// person keeps one name across environments; the account name otherwise.
func MyLabel(cfg *store.Config, id *crypt.Identity) string {
	key := crypt.CanonicalRecipient(id.Public)
	for _, n := range cfg.EnvNames() {
		for _, r := range cfg.Environments[n].Recipients {
			if crypt.CanonicalRecipient(r.Key) == key && r.Label != "" {
				return r.Label
			}
		}
	}
	return OSUser()
}

// RemoveEnv deletes environment name and its store. The identity is not
// needed, but names the user in the audit line when there is one.
func (s *Session) RemoveEnv(name string) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if _, err := p.Config.Env(name); err != nil {
		return err
	}
	_, _ = s.Identity()
	if err := s.AuditReady(); err != nil {
		return err
	}
	return s.AuditWith(audit.EnvDelete, s.SecretPath(name, ""), p.RemoveEnv(name))
}

// Acknowledge pins hush.yaml as shown (the bytes the user reviewed) and
// the recipients of envs (nil: every pending change). changed names the
// environments whose recipients were shown, settings whether setting
// changes were: each is one audit line.
func (s *Session) Acknowledge(shown []byte, envs, changed []string, settings bool) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	err = p.Acknowledge(shown, envs)
	paths := s.EnvPaths(changed)
	if settings {
		paths = append(paths, s.SecretPath("hush.yaml", ""))
	}
	return join(err, s.Audit(audit.ProjectAck, paths, err))
}

// Link makes this checkout use the personal store kept under its project
// id (or, for a project from before ids, under its name). It returns the
// personal directory the checkout used before.
func (s *Session) Link() (before string, err error) {
	p, err := s.Project()
	if err != nil {
		return "", err
	}
	if err := s.AuditReady(); err != nil {
		return "", err
	}
	before, err = p.Link(s.Now())
	if err := s.AuditWith(audit.ProjectLink, s.SecretPath("", ""), err); err != nil {
		return "", err
	}
	return before, nil
}

// ReadAll reads every secret of env, personal over team, for a command
// that compares values (hush diff): one read line per key.
func (s *Session) ReadAll(env string) ([]store.Entry, error) {
	p, id, err := s.forChange()
	if err != nil {
		return nil, err
	}
	entries, err := p.Layered(env, id)
	if err != nil {
		return nil, s.AuditWith(audit.SecretRead, s.SecretPath(env, ""), err)
	}
	paths := make([]string, 0, len(entries))
	for _, e := range entries {
		paths = append(paths, s.EntryPath(env, e))
	}
	if err := s.Audit(audit.SecretRead, paths, nil); err != nil {
		return nil, err
	}
	return entries, nil
}

// RepairAudit cuts a torn last line off the audit log and records the cut
// (nil when there was nothing to cut), then verifies the whole log.
func (s *Session) RepairAudit() (*audit.Repaired, audit.Report, error) {
	key := s.AnchorKey()
	log := s.AuditLog()
	r, err := log.Repair(key, s.Entry(audit.AuditRepair, "", nil))
	if err != nil {
		return nil, audit.Report{}, err
	}
	rep, err := log.VerifyAll(key, nil)
	return r, rep, err
}

// RefusedStores lists those of envs whose team store is refused because it
// does not continue the lineage this user last saw (store/lineage.go).
// Reading for that is not a read of a value: nothing is kept or shown.
func (s *Session) RefusedStores(envs []string) ([]string, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	id, err := s.Identity()
	if err != nil {
		return nil, nil // without an identity no store is read, none refused
	}
	var out []string
	for _, env := range envs {
		var fe *store.ForgedError
		if _, err := p.Read(env, store.Team, id); errors.As(err, &fe) {
			out = append(out, env)
		}
	}
	return out, nil
}

// AcceptStores takes the team stores of envs as they are now (hush member
// ack, after RefusedStores named them), with a project.ack line each.
func (s *Session) AcceptStores(envs []string) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	err = p.ForgetLineage(envs...)
	return join(err, s.Audit(audit.ProjectAck, s.EnvPaths(envs), err))
}
