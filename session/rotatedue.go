package session

import (
	"fmt"
	"sort"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// DueOptions select hush rotate --due's and --resume's work.
type DueOptions struct {
	SourceOptions
	// Envs limits the run to these environments (nil: every one).
	Envs []string
	// DryRun reports what would rotate and touches nothing: no journal,
	// no source, no store.
	DryRun bool
}

// ResumeRotations continues every unfinished rotation of the project (of
// o.Envs when set): one report each.
func (s *Session) ResumeRotations(o DueOptions) ([]*RotationReport, error) {
	js, err := s.PendingRotations()
	if err != nil {
		return nil, err
	}
	var out []*RotationReport
	for _, j := range js {
		if !inEnvs(o.Envs, j.Env) {
			continue
		}
		if o.DryRun {
			out = append(out, &RotationReport{Env: j.Env, Key: j.Key, Provider: j.Provider, Resumed: true, Next: j.Phase,
				OldValid: j.OldValid, RetireAfter: j.RetireAfter, Plan: "continue at phase " + string(j.Phase)})
			continue
		}
		rep, err := s.RotateAtSource(j.Env, j.Key, o.SourceOptions)
		if err != nil {
			rep = &RotationReport{Env: j.Env, Key: j.Key, Provider: j.Provider, Resumed: true, Next: j.Phase, Err: err, Error: err.Error()}
		}
		out = append(out, rep)
	}
	return out, nil
}

// RotateDue rotates at its source every secret that is due by policy
// (due, overdue, exposed or compromised), continues every unfinished
// rotation, and issues what a source is configured for but the store
// lacks. A due secret with no rotation source is reported as skipped: it
// needs a person (hush rotate KEY by hand). One report per secret.
func (s *Session) RotateDue(o DueOptions) ([]*RotationReport, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	envs := o.Envs
	if len(envs) == 0 {
		envs = p.Config.EnvNames()
	}
	for _, e := range envs {
		if _, err := p.Config.Env(e); err != nil {
			return nil, err
		}
	}
	pending, err := s.PendingRotations()
	if err != nil {
		return nil, err
	}
	inJournal := map[string]bool{}
	for _, j := range pending {
		inJournal[j.Env+"/"+j.Key] = true
	}
	survey, err := s.Survey(envs, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	var sources map[string]map[string]any
	if p.Config.Rotation != nil {
		sources = p.Config.Rotation.Sources
	}
	var out []*RotationReport
	for _, sv := range survey {
		if sv.ReadErr != nil {
			out = append(out, &RotationReport{Env: sv.Env, Err: sv.ReadErr, Error: sv.ReadErr.Error()})
			continue
		}
		due := map[string]store.State{}
		for _, st := range sv.Secrets {
			if st.State != store.StateOK {
				due[st.Name] = st.State
			}
		}
		present := map[string]bool{}
		for _, st := range sv.Secrets {
			present[st.Name] = true
		}
		for _, k := range rotate.Names(sources, sv.Env) {
			if !present[k] {
				due[k] = "missing"
			}
		}
		for _, j := range pending {
			if j.Env == sv.Env {
				due[j.Key] = "unfinished"
			}
		}
		keys := make([]string, 0, len(due))
		for k := range due {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, s.dueOne(sv.Env, k, due[k], inJournal[sv.Env+"/"+k], o))
		}
	}
	return out, nil
}

func (s *Session) dueOne(env, key string, state store.State, unfinished bool, o DueOptions) *RotationReport {
	rep := &RotationReport{Env: env, Key: key}
	set, ok, err := s.RotationSource(env, key)
	if err != nil {
		rep.Err, rep.Error = err, err.Error()
		return rep
	}
	if !ok {
		rep.Skipped = fmt.Sprintf("%s, no rotation source: rotate it by hand (hush rotate %s --env %s)", state, key, env)
		return rep
	}
	rep.Provider = set.Provider
	if o.DryRun {
		rep.Plan = string(state) + ": " + s.plan(env, key, set, unfinished)
		return rep
	}
	r, err := s.RotateAtSource(env, key, o.SourceOptions)
	if err != nil {
		rep.Err, rep.Error = err, err.Error()
		return rep
	}
	return r
}

// plan is a dry run's line for key: the provider's own description when
// it has one.
func (s *Session) plan(env, key string, set rotate.Settings, unfinished bool) string {
	if unfinished {
		if js, err := s.journals(); err == nil {
			if j, err := js.Load(env, key); err == nil && j != nil {
				return "continue the unfinished rotation at phase " + string(j.Phase)
			}
		}
	}
	prov, err := s.provider(set)
	if err != nil {
		return "cannot rotate: " + err.Error()
	}
	if pl, ok := prov.(rotate.Planner); ok {
		return pl.Plan(&rotate.Request{Env: env, Key: key, Settings: set, Dir: s.project.Root, Getenv: s.Getenv, Now: s.Now})
	}
	return "rotate with provider " + set.Provider
}

func inEnvs(envs []string, env string) bool {
	if len(envs) == 0 {
		return true
	}
	for _, e := range envs {
		if e == env {
			return true
		}
	}
	return false
}
