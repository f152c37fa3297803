package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file drives a rotation at the credential's source through the
// phases of package rotate (create, store, push, verify, retire), with the
// journal written before the first and after each, and one audit line per
// phase. See rotate's package doc for the contract with providers.

// SourceOptions say how far one rotation at a source goes.
type SourceOptions struct {
	// Push pushes the environment to Vault after the store phase even
	// when it has not synced before (hush rotate --push). An environment
	// that has synced with hush.yaml's Vault is pushed anyway.
	Push bool
	// Wait waits out the grace period and retires the old credential;
	// without it a rotation whose grace has not passed stops before
	// retiring, with its journal kept for the next run.
	Wait bool
	// Force stores the new value over a store value that changed since
	// the rotation began (the source already holds the new credential).
	Force bool
	// OnlyResume continues an unfinished rotation and starts none.
	OnlyResume bool
}

// RotationReport is what one rotation at a source did.
type RotationReport struct {
	Env      string `json:"environment"`
	Key      string `json:"key"`
	Provider string `json:"provider,omitempty"`
	// Resumed says the run continued an unfinished rotation.
	Resumed bool `json:"resumed,omitempty"`
	// Steps are the phases run by this run, in order.
	Steps []rotate.Phase `json:"steps,omitempty"`
	// Next is the phase left to run ("" when finished).
	Next rotate.Phase `json:"next,omitempty"`
	Done bool         `json:"done"`
	// OldValid: the old credential kept working until retired.
	OldValid    bool      `json:"old_valid"`
	RetireAfter time.Time `json:"retire_after,omitzero"`
	// FirstIssue: there was no old credential (a certificate issued for a
	// key that had none), so retiring had nothing to do.
	FirstIssue bool `json:"first_issue,omitempty"`
	Pushed     bool `json:"pushed,omitempty"`
	// Plan is what a dry run would do; Skipped why a due key was left.
	Plan    string `json:"plan,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	Err     error  `json:"-"`
}

// RotationSource is the rotation.sources entry of key in env: ok false
// when the key rotates in the store only. A changed, unacknowledged
// rotation.sources is refused: it decides what runs and where
// credentials go.
func (s *Session) RotationSource(env, key string) (rotate.Settings, bool, error) {
	p, err := s.Project()
	if err != nil {
		return rotate.Settings{}, false, err
	}
	if p.Config.Rotation == nil || len(p.Config.Rotation.Sources) == 0 {
		return rotate.Settings{}, false, nil
	}
	if err := p.CheckSettings("rotation.sources", "project", "id"); err != nil {
		return rotate.Settings{}, false, err
	}
	return rotate.Lookup(p.Config.Rotation.Sources, env, key)
}

// journals is the project's rotation journal directory.
func (s *Session) journals() (rotate.Journals, error) {
	p, err := s.Project()
	if err != nil {
		return rotate.Journals{}, err
	}
	return rotate.JournalsIn(p.PersonalDir()), nil
}

// PendingRotations are the unfinished rotations of the project (their
// journals, sealed parts unopened), for status and doctor.
func (s *Session) PendingRotations() ([]*rotate.Journal, error) {
	js, err := s.journals()
	if err != nil {
		return nil, err
	}
	return js.List()
}

// RotateAtSource rotates key of env at its source, or continues its
// unfinished rotation. A phase's failure is in the report (Err) with the
// journal kept; the error returned is one that stopped hush from even
// starting (no source configured, settings unacknowledged, no identity).
func (s *Session) RotateAtSource(env, key string, o SourceOptions) (*RotationReport, error) {
	if err := store.ValidKeyName(key); err != nil {
		return nil, err
	}
	p, err := s.forChangeProject()
	if err != nil {
		return nil, err
	}
	id, err := s.Identity()
	if err != nil {
		return nil, err
	}
	set, ok, err := s.RotationSource(env, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		if js, err := s.journals(); err == nil {
			if j, _ := js.Load(env, key); j != nil {
				return nil, hint.With(fmt.Errorf("%w: %s in %s has an unfinished rotation (%s, next phase %s), but hush.yaml no longer names its source", store.ErrConflict, key, env, j.Provider, j.Phase),
					"put its rotation.sources entry back and run hush rotate --resume; or settle the source by hand, then remove %s", js.Path(env, key))
			}
		}
		return nil, hint.With(fmt.Errorf("%s in %s has no rotation source (%w in hush.yaml rotation.sources)", key, env, store.ErrNotFound),
			"rotate the value in the store only with: hush rotate %s --manual --env %s", key, env)
	}
	prov, err := s.provider(set)
	if err != nil {
		return nil, err
	}
	js, err := s.journals()
	if err != nil {
		return nil, err
	}
	lock, err := js.Lock(env, key)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	canon, err := canonicalSettings(p.Config.Rotation.Sources[set.Name])
	if err != nil {
		return nil, err
	}
	rep := &RotationReport{Env: env, Key: key, Provider: set.Provider}
	j, err := js.Load(env, key)
	if err != nil {
		return nil, err
	}
	if j != nil {
		rep.Resumed = true
		if j.Settings != canon {
			return nil, hint.With(fmt.Errorf("%w: the unfinished rotation of %s in %s began under other rotation.sources settings (%s)", store.ErrConflict, key, env, j.Provider),
				"put the settings back and finish it (hush rotate --resume), or settle the source by hand, then remove %s", js.Path(env, key))
		}
		if err := j.Open(id); err != nil {
			return nil, err
		}
	} else if o.OnlyResume {
		return &RotationReport{Env: env, Key: key, Provider: set.Provider, Done: true}, nil
	} else {
		if pf, ok := prov.(rotate.Preflight); ok {
			if err := pf.Preflight(&rotate.Request{Env: env, Key: key, Settings: set, Dir: p.Root, Getenv: s.Getenv, Now: s.Now}); err != nil {
				return nil, err
			}
		}
		old, err := s.readTeam(p, id, env, key)
		if err != nil {
			return nil, err
		}
		if j, err = rotate.NewJournal(env, key, set, canon, old, s.Now()); err != nil {
			return nil, err
		}
		j.Push = o.Push || s.envSyncs(p, env)
		err = js.Save(j, id, s.Now())
		if aerr := s.AuditRotate(audit.RotateBegin, env, key, set.Provider, "rotation "+j.ID, err); aerr != nil {
			return nil, join(err, aerr)
		}
		if err != nil {
			return nil, err
		}
	}
	j.Push = j.Push || o.Push
	r := &rotation{s: s, p: p, id: id, js: js, j: j, prov: prov, set: set, rep: rep, o: o}
	r.run()
	rep.Next, rep.OldValid, rep.RetireAfter = j.Phase, j.OldValid, j.RetireAfter
	if rep.Done {
		rep.Next = ""
	}
	if rep.Err != nil {
		rep.Error = rep.Err.Error()
	}
	return rep, nil
}

// readTeam is key's value in env's team store ("" when missing: a
// provider may issue a credential for the first time), with its read
// line.
func (s *Session) readTeam(p *store.Project, id *crypt.Identity, env, key string) (store.Value, error) {
	sec, err := p.ReadKey(env, store.Team, id, key)
	if aerr := s.AuditWith(audit.SecretRead, s.SecretPath(env, key), err); aerr != nil {
		return "", aerr
	}
	if sec == nil {
		return "", nil
	}
	return sec.Value, nil
}

// forChangeProject is the project, with the audit log ready for a change.
func (s *Session) forChangeProject() (*store.Project, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	return p, nil
}

// withEnv runs f with the session working on env (a rotation of another
// environment than --env's, from --due or --resume).
func (s *Session) withEnv(env string, f func()) {
	saved := s.EnvFlag
	s.EnvFlag = env
	defer func() { s.EnvFlag = saved }()
	f()
}

// canonicalSettings is a rotation.sources entry as sorted JSON.
func canonicalSettings(raw map[string]any) (string, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return "", fmt.Errorf("rotation.sources: %w", err)
	}
	return string(b), nil
}

// ErrRotationFailed marks a command whose rotations did not all finish.
var ErrRotationFailed = errors.New("rotation failed")

// FirstError is the first failed rotation's error, nil when none failed.
func FirstError(reps []*RotationReport) error {
	var failed []string
	var first error
	for _, r := range reps {
		if r.Err != nil {
			failed = append(failed, r.Env+"/"+r.Key)
			if first == nil {
				first = r.Err
			}
		}
	}
	if first == nil {
		return nil
	}
	if len(failed) == 1 {
		return first
	}
	return fmt.Errorf("%d rotations stopped (%s); the first: %w", len(failed), strings.Join(failed, ", "), first)
}
