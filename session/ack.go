package session

import (
	"sort"

	"github.com/hush-secrets/hush/store"
)

// AckPlan is what hush ack would acknowledge: for the CLI to show, then,
// once the user agreed, for ApplyAck to pin exactly what was shown.
type AckPlan struct {
	// Envs limits the plan to these environments' recipients (and their
	// stores' lineage); nil is every environment and every setting.
	Envs []string
	// Recipients are the recipient changes, per environment.
	Recipients []*store.PinError
	// Settings are the setting changes of hush.yaml, leaf by leaf.
	Settings []store.SettingChange
	// ScanNew are the allowlist entries of .hush/scan.yaml not
	// acknowledged yet; scanNow the whole list as shown.
	ScanNew []string
	scanNow []string
	// Refused are the environments whose team store does not continue a
	// lineage this user has seen (store/lineage.go).
	Refused []string
	// shown is hush.yaml as read for the plan.
	shown []byte
}

// Empty says there is nothing to acknowledge.
func (a *AckPlan) Empty() bool {
	return len(a.Recipients) == 0 && len(a.Settings) == 0 && len(a.ScanNew) == 0 && len(a.Refused) == 0
}

// PlanAck gathers what is pending: for envs (their recipients and stores),
// or with envs nil for the whole project (recipients, settings, the scan
// allowlist).
func (s *Session) PlanAck(envs []string) (*AckPlan, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	plan := &AckPlan{Envs: envs, shown: p.Raw()}
	pd, err := p.Pending()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, e := range envs {
		want[e] = true
	}
	for _, pe := range pd.Recipients {
		if envs == nil || want[pe.Env] {
			plan.Recipients = append(plan.Recipients, pe)
		}
	}
	if envs == nil {
		for _, c := range pd.Settings {
			plan.Settings = append(plan.Settings, c.Leaves()...)
		}
		if plan.scanNow, plan.ScanNew, err = s.PendingScanAllow(); err != nil {
			return nil, err
		}
		return plan, nil
	}
	if plan.Refused, err = s.RefusedStores(envs); err != nil {
		return nil, err
	}
	return plan, nil
}

// ApplyAck pins what plan showed, each part with its audit line: the
// recipients and settings as hush.yaml read then (refused if it changed
// since), the refused stores as they are, the allowlist as listed. It
// returns the environments whose recipients were acknowledged, sorted.
func (s *Session) ApplyAck(plan *AckPlan) ([]string, error) {
	var changed []string
	for _, pe := range plan.Recipients {
		changed = append(changed, pe.Env)
	}
	if len(changed) > 0 || len(plan.Settings) > 0 {
		if err := s.Acknowledge(plan.shown, plan.Envs, changed, len(plan.Settings) > 0); err != nil {
			return nil, err
		}
	}
	if len(plan.Refused) > 0 {
		if err := s.AcceptStores(plan.Refused); err != nil {
			return nil, err
		}
	}
	if len(plan.ScanNew) > 0 {
		if err := s.AcknowledgeScanAllow(plan.scanNow); err != nil {
			return nil, err
		}
	}
	sort.Strings(changed)
	return changed, nil
}
