package session

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// The phases of one rotation at a source, each saving the journal at the
// next phase once it is done (rotatesource.go starts and resumes them).

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
		if phase == rotate.PhaseRetire && r.j.Old() == "" {
			r.rep.FirstIssue = true
		}
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
	for k, t := range res.Types {
		if _, also := res.Also[k]; k != key && !also {
			return fmt.Errorf("the provider gave a type to %s, which it did not return", k)
		}
		if !validType(t) {
			return fmt.Errorf("the provider gave %s a malformed type", k)
		}
	}
	return nil
}

// validType is a type name as hush's own are spelled (tls, api-key).
func validType(t string) bool {
	if t == "" || len(t) > 32 {
		return false
	}
	for i, r := range t {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '-')) {
			return false
		}
	}
	return true
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
		if t := res.Types[r.j.Key]; t != "" {
			sec.Type = t
		}
		for k, v := range res.Also {
			if s, _ := d.SetValue(k, v, now); s != nil && res.Types[k] != "" {
				s.Type = res.Types[k]
			}
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
