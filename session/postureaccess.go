package session

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/vault"
)

// This file is hush posture's "who can read what": the members x
// environments matrix, CI keys on several environments, idle readers of
// the sensitive environments, and the Vault token's policies.

// isCIKey guesses from its label whether a recipient is a CI key: hush
// ci-key labels it "ci" unless told otherwise, and teams name the others
// after the CI that holds them.
func isCIKey(label string) bool {
	l := strings.ToLower(label)
	if l == "ci" || strings.HasPrefix(l, "ci-") || strings.HasPrefix(l, "ci_") || strings.HasSuffix(l, "-ci") {
		return true
	}
	for _, w := range []string{"github", "gitlab", "actions", "jenkins", "circleci", "buildkite", "pipeline"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// sensitiveEnvs are o.Sensitive, or the environments named prod or
// production.
func sensitiveEnvs(c *store.Config, o PostureOptions) []string {
	if len(o.Sensitive) > 0 {
		return o.Sensitive
	}
	var out []string
	for _, e := range c.EnvNames() {
		if l := strings.ToLower(e); l == "prod" || l == "production" {
			out = append(out, e)
		}
	}
	return out
}

// readActions are the audit actions that read values.
var readActions = map[string]bool{audit.SecretRead: true, audit.SyncPush: true, audit.CIPush: true}

func (s *Session) postureAccess(p *store.Project, o PostureOptions, id *crypt.Identity, now time.Time, rep *PostureReport) PostureSection {
	sec := PostureSection{ID: "access", Title: "Who can read what", Findings: []PostureFinding{}}
	rows := map[string]*AccessRow{}
	for _, e := range rep.Envs {
		for _, r := range p.Config.Environments[e].Recipients {
			row := rows[r.Key]
			if row == nil {
				row = &AccessRow{Label: r.Label, Key: r.Key, CI: isCIKey(r.Label), Envs: map[string]bool{}}
				rows[r.Key] = row
			}
			row.Envs[e] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		rep.Access = append(rep.Access, *rows[k])
	}
	sort.SliceStable(rep.Access, func(i, j int) bool { return rep.Access[i].Label < rep.Access[j].Label })
	// The last read of each environment by each key, from the local log
	// and the exports given.
	last := map[string]time.Time{} // key + "\x00" + env
	note := func(e audit.Entry) {
		if !e.Success || !readActions[e.Action] || e.Identity == "" {
			return
		}
		pa := audit.ParsePath(e.Path)
		if pa.Project != p.Config.Project {
			return
		}
		k := crypt.CanonicalRecipient(e.Identity) + "\x00" + pa.Env
		if e.Time.After(last[k]) {
			last[k] = e.Time
		}
	}
	evidence := "the local audit log, which only records this user's own reads"
	if rc, err := s.AuditLog().Open(); err == nil {
		if err := audit.Scan(rc, func(_ int, e audit.Entry) error { note(e); return nil }); err != nil {
			sec.Notes = append(sec.Notes, "the local audit log could not be read to the end: "+firstLineOf(err))
		}
		rc.Close()
	}
	if len(o.AuditFiles) > 0 {
		recs, err := audit.Merge(o.AuditFiles)
		if err != nil {
			sec.Notes = append(sec.Notes, "--audit exports not used: "+firstLineOf(err))
		} else {
			for _, r := range recs {
				note(audit.Entry{Time: r.Timestamp, Action: r.Action, Path: r.Path, Identity: r.Identity, Success: r.Success})
			}
			names := make([]string, len(o.AuditFiles))
			for i, f := range o.AuditFiles {
				names[i] = f.Name
			}
			evidence = "the local audit log and the exports " + strings.Join(names, ", ")
		}
	} else {
		sec.Notes = append(sec.Notes, "idle readers are judged from the local audit log only, which knows this user's reads; give the others' logs (hush audit export) with --audit FILE")
	}
	cutoff := now.Add(-time.Duration(o.IdleDays) * 24 * time.Hour)
	for _, r := range rep.Access {
		if !r.CI || len(r.Envs) < 2 {
			continue
		}
		envs := slices.Sorted(maps.Keys(r.Envs))
		var used []string
		for _, e := range envs {
			if last[crypt.CanonicalRecipient(r.Key)+"\x00"+e].After(cutoff) {
				used = append(used, e)
			}
		}
		ev := "a recipient of " + strings.Join(envs, ", ") + " in hush.yaml"
		if len(used) > 0 {
			ev += fmt.Sprintf("; read only %s in the last %d days in %s", strings.Join(used, ", "), o.IdleDays, evidence)
		} else {
			ev += fmt.Sprintf("; no read of any in the last %d days in %s", o.IdleDays, evidence)
		}
		sec.Findings = append(sec.Findings, PostureFinding{Severity: SevMedium, What: "a CI key reads several environments",
			Where: fmt.Sprintf("%s (%s)", r.Label, crypt.Fingerprint(r.Key)), Evidence: ev,
			Fix: fmt.Sprintf("give each job its own key: hush ci-key --env ENV --label %s-ENV, then hush member rm %s --env ENV for the others", r.Label, r.Label)})
	}
	sensitive := sensitiveEnvs(p.Config, o)
	if len(sensitive) == 0 {
		sec.Notes = append(sec.Notes, "no environment named prod or production: name the sensitive ones with --sensitive ENV")
		return sec
	}
	for _, env := range sensitive {
		ec, ok := p.Config.Environments[env]
		if !ok {
			sec.Notes = append(sec.Notes, fmt.Sprintf("--sensitive %s: no such environment", env))
			continue
		}
		for _, r := range ec.Recipients {
			t := last[crypt.CanonicalRecipient(r.Key)+"\x00"+env]
			if t.After(cutoff) {
				continue
			}
			ev := fmt.Sprintf("no read of %s in the last %d days in %s", env, o.IdleDays, evidence)
			if !t.IsZero() {
				ev = fmt.Sprintf("last read of %s on %s (over %d days ago) in %s", env, t.UTC().Format("2006-01-02"), o.IdleDays, evidence)
			}
			if id != nil && r.Key == id.Public {
				ev += " (this is you)"
			}
			sec.Findings = append(sec.Findings, PostureFinding{Severity: SevMedium, What: "a member can read " + env + " but has not",
				Where: fmt.Sprintf("%s (%s)", r.Label, crypt.Fingerprint(r.Key)), Evidence: ev,
				Fix: fmt.Sprintf("hush member rm %s --env %s", r.Label, env)})
		}
	}
	return sec
}

// postureVault checks, when Vault is configured (hush.yaml's vault: or
// VAULT_ADDR) and reachable, the policies of hush's token for over-broad
// rules (vault.BroadPaths), the hush-made ones (their text starts with
// "# hush:") named as such. Vault unreachable, or not allowing the
// policies to be read, is a note: the report goes on.
func (s *Session) postureVault(sec *PostureSection) {
	p := s.project
	if p.Config.Extra["vault"] == nil && s.Getenv("VAULT_ADDR") == "" {
		sec.Notes = append(sec.Notes, "Vault not configured: no policy checked")
		return
	}
	v, err := s.OpenVault(VaultOptions{})
	if err != nil {
		sec.Notes = append(sec.Notes, "Vault policies not checked: "+firstLineOf(err))
		return
	}
	defer s.CloseVault(v)
	ctx, cancel := context.WithTimeout(s.Ctx(), 10*time.Second)
	defer cancel()
	names, err := v.TokenPolicies(ctx)
	if err != nil {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Vault at %s not checked (unreachable or denied): %s", v.Address(), firstLineOf(err)))
		return
	}
	for _, name := range names {
		if name == "root" {
			sec.Findings = append(sec.Findings, PostureFinding{Severity: SevHigh, What: "hush's Vault token has the root policy", Where: v.Address() + " token",
				Evidence: "auth/token/lookup-self lists policy root", Fix: "hush vault policy --env ENV --write hush-ENV, then log in with a token of that policy"})
			continue
		}
		if name == "default" {
			continue
		}
		text, err := v.ReadPolicy(ctx, name)
		if err != nil {
			sec.Notes = append(sec.Notes, fmt.Sprintf("Vault policy %s not read: %s", name, firstLineOf(err)))
			continue
		}
		kind := "policy"
		if strings.HasPrefix(text, "# hush:") {
			kind = "hush-generated policy"
		}
		for _, is := range vault.BroadPaths(text) {
			sec.Findings = append(sec.Findings, PostureFinding{Severity: SevMedium, What: "an over-broad rule in Vault " + kind + " " + name,
				Where: fmt.Sprintf("%s sys/policies/acl/%s path %q", v.Address(), name, is.Path), Evidence: is.Why,
				Fix: fmt.Sprintf("hush vault policy --env ENV --write %s (one environment's paths, read only)", name)})
		}
	}
}
