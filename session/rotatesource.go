package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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
	Pushed      bool      `json:"pushed,omitempty"`
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
		return nil, hint.With(fmt.Errorf("%s in %s has no rotation source (%w in hush.yaml rotation.sources)", key, env, store.ErrNotFound),
			"rotate the value in the store only with: hush rotate %s --manual --env %s", key, env)
	}
	prov, err := provider(set)
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
				"put the settings back and finish it (hush rotate --resume), or check the source by hand, then remove %s", js.Dir)
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

// rotation is one run of the phases of a journal.
type rotation struct {
	s    *Session
	p    *store.Project
	id   *crypt.Identity
	js   rotate.Journals
	j    *rotate.Journal
	prov rotate.Provider
	set  rotate.Settings
	rep  *RotationReport
	o    SourceOptions
	lv   *lazyVault
}

func (r *rotation) request() *rotate.Request {
	if r.lv == nil {
		r.lv = &lazyVault{s: r.s, env: r.j.Env}
	}
	return &rotate.Request{ID: r.j.ID, Env: r.j.Env, Key: r.j.Key, Settings: r.set, Old: r.j.Old(), Proposed: r.j.Proposed(),
		Secret: func(name string) (store.Value, error) {
			sec, err := r.s.Get(r.j.Env, name, false)
			if err != nil {
				return "", err
			}
			return sec.Value, nil
		},
		Vault: r.lv, Dir: r.p.Root, Getenv: r.s.Getenv, Now: r.s.Now, Logf: r.s.Report.Infof}
}

// run drives the phases from the journal's until one fails or waits.
func (r *rotation) run() {
	defer r.lv.close()
	for {
		var err error
		phase := r.j.Phase
		switch phase {
		case rotate.PhaseCreate:
			err = r.create()
		case rotate.PhaseStore:
			err = r.store()
		case rotate.PhasePush:
			err = r.push()
		case rotate.PhaseVerify:
			err = r.verify()
		case rotate.PhaseRetire:
			var waiting bool
			if waiting, err = r.retire(); waiting {
				return
			}
		default:
			err = fmt.Errorf("%w: rotation journal of %s/%s names an unknown phase %q", store.ErrIntegrity, r.j.Env, r.j.Key, phase)
		}
		if err != nil {
			r.fail(err)
			return
		}
		r.rep.Steps = append(r.rep.Steps, phase)
		if r.rep.Done {
			return
		}
	}
}

// fail records why the run stopped in the journal and the report.
func (r *rotation) fail(err error) {
	r.j.LastError = auditErrorText(r.s.Redact(err.Error()))
	r.j.Attempts++
	if serr := r.js.Save(r.j, r.id, r.s.Now()); serr != nil {
		err = fmt.Errorf("%w (and the journal could not be updated: %v)", err, serr)
	}
	r.rep.Err = err
}

// advance saves the journal at its next phase.
func (r *rotation) advance(next rotate.Phase) error {
	r.j.Phase, r.j.LastError = next, ""
	return r.js.Save(r.j, r.id, r.s.Now())
}

func (r *rotation) call(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(r.s.Ctx(), r.set.Timeout)
	defer cancel()
	err := f(ctx)
	if err != nil && ctx.Err() == context.DeadlineExceeded && r.s.Ctx().Err() == nil {
		err = fmt.Errorf("%w (the provider did not finish within %s; rotation.sources timeout sets it)", err, r.set.Timeout)
	}
	return err
}

func (r *rotation) source() string {
	if r.lv != nil && r.lv.v != nil {
		return r.set.Provider + " " + r.lv.v.Address()
	}
	return r.set.Provider
}

func (r *rotation) create() error {
	var res *rotate.Result
	err := r.call(func(ctx context.Context) (err error) {
		res, err = r.prov.Create(ctx, r.request())
		return err
	})
	if err == nil {
		err = checkResult(r.j.Key, res)
	}
	detail := "rotation " + r.j.ID
	if err == nil && !res.OldValid {
		detail += "; the old credential stopped working at the source"
	}
	if aerr := r.s.AuditRotate(audit.RotateCreate, r.j.Env, r.j.Key, r.source(), detail, err); aerr != nil {
		return join(err, aerr)
	}
	if err != nil {
		return fmt.Errorf("create at the source (%s): %w", r.set.Provider, err)
	}
	r.j.SetResult(res)
	return r.advance(rotate.PhaseStore)
}

func checkResult(key string, res *rotate.Result) error {
	if res == nil || res.Value == "" {
		return fmt.Errorf("the provider returned no new value for %s", key)
	}
	if err := store.ValidValue(res.Value.Reveal()); err != nil {
		return err
	}
	for k, v := range res.Also {
		if err := store.ValidKeyName(k); err != nil {
			return err
		}
		if k == key {
			return fmt.Errorf("the provider returned %s twice", key)
		}
		if err := store.ValidValue(v.Reveal()); err != nil {
			return err
		}
	}
	if res.RotateEvery != "" {
		if _, err := store.ParsePeriod(res.RotateEvery); err != nil {
			return err
		}
	}
	return nil
}

func (r *rotation) store() error {
	res := r.j.Result()
	keys := []string{r.j.Key}
	for k := range res.Also {
		keys = append(keys, k)
	}
	sort.Strings(keys[1:])
	old := r.j.Old()
	err := r.s.Update(r.j.Env, store.Team, keys, func(d *store.Document, now time.Time) error {
		if cur, ok := d.Secrets[r.j.Key]; !r.o.Force && (ok && cur.Value != old && cur.Value != res.Value || !ok && old != "") {
			return hint.With(fmt.Errorf("%w: %s in %s changed since its rotation began; the source already holds the new credential, kept in the rotation journal", store.ErrConflict, r.j.Key, r.j.Env),
				"store it over the current value with: hush rotate %s --env %s --resume --force", r.j.Key, r.j.Env)
		}
		sec, _ := d.SetValue(r.j.Key, res.Value, now)
		if res.RotateEvery != "" {
			sec.RotateEvery = res.RotateEvery
		}
		for k, v := range res.Also {
			d.SetValue(k, v, now)
		}
		return nil
	})
	if aerr := r.s.AuditRotate(audit.RotateStore, r.j.Env, r.j.Key, r.source(), "rotation "+r.j.ID, err); aerr != nil {
		return join(err, aerr)
	}
	if err != nil {
		return err
	}
	if r.j.Push {
		return r.advance(rotate.PhasePush)
	}
	return r.advance(rotate.PhaseVerify)
}

func (r *rotation) push() error {
	var err error
	r.s.withEnv(r.j.Env, func() {
		_, err = r.s.VaultSync(r.s.Ctx(), VaultSyncOptions{Push: true})
	})
	if aerr := r.s.AuditRotate(audit.RotatePush, r.j.Env, r.j.Key, r.source(), "rotation "+r.j.ID, err); aerr != nil {
		return join(err, aerr)
	}
	if err != nil {
		return hint.With(fmt.Errorf("stored the new %s, but the push to Vault failed: %w", r.j.Key, err), "the rotation continues once Vault is reachable: hush rotate --resume")
	}
	r.rep.Pushed = true
	return r.advance(rotate.PhaseVerify)
}

func (r *rotation) verify() error {
	err := r.call(func(ctx context.Context) error { return r.prov.Verify(ctx, r.request(), r.j.Result()) })
	if aerr := r.s.AuditRotate(audit.RotateVerify, r.j.Env, r.j.Key, r.source(), "rotation "+r.j.ID, err); aerr != nil {
		return join(err, aerr)
	}
	if err != nil {
		what := "the old one is kept until it does"
		if !r.j.OldValid {
			what = "and the old one no longer works there either: fix the source, then hush rotate --resume"
		}
		return fmt.Errorf("the new %s is stored but does not work at the source (%s); %s: %w", r.j.Key, r.set.Provider, what, err)
	}
	now := r.s.Now().UTC()
	r.j.Verified, r.j.RetireAfter = now, now.Add(r.set.Grace)
	return r.advance(rotate.PhaseRetire)
}

// retire retires the old credential once the grace period is over;
// waiting is true when it is not over and the run stops there.
func (r *rotation) retire() (waiting bool, err error) {
	// A grace period is for an old credential that still works; one the
	// create phase already replaced has nothing to wait for.
	if wait := r.j.RetireAfter.Sub(r.s.Now()); wait > 0 && r.j.OldValid {
		if !r.o.Wait {
			return true, nil
		}
		r.s.Report.Infof("waiting %s (the grace period) before retiring the old %s", wait.Round(time.Second), r.j.Key)
		select {
		case <-time.After(wait):
		case <-r.s.Ctx().Done():
			return false, r.s.Ctx().Err()
		}
	}
	err = r.call(func(ctx context.Context) error { return r.prov.Retire(ctx, r.request(), r.j.Result()) })
	if aerr := r.s.AuditRotate(audit.RotateRetire, r.j.Env, r.j.Key, r.source(), "rotation "+r.j.ID, err); aerr != nil {
		return false, join(err, aerr)
	}
	if err != nil {
		return false, fmt.Errorf("retire the old %s at the source: %w", r.j.Key, err)
	}
	if err := r.js.Remove(r.j.Env, r.j.Key); err != nil {
		return false, err
	}
	r.rep.Done = true
	return false, nil
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
