package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is hush posture: one report of how exposed a project's
// secrets are, section by section (the seed's anti-patterns and the
// places a secret must never be), each finding with its evidence and a
// command that fixes it. Nothing in the report is a value, a prefix of
// one or an unkeyed hash of one: values are compared by HMAC under a
// key made for this run and forgotten with it.

// Severities, from least to worst; PostureSeverity orders them.
const (
	SevInfo     = "info"
	SevLow      = "low"
	SevMedium   = "medium"
	SevHigh     = "high"
	SevCritical = "critical"
)

var severityRank = map[string]int{SevInfo: 0, SevLow: 1, SevMedium: 2, SevHigh: 3, SevCritical: 4}

// PostureSeverity is a severity's rank, or -1 for a name that is none.
func PostureSeverity(name string) int {
	r, ok := severityRank[name]
	if !ok {
		return -1
	}
	return r
}

// PostureOptions say what hush posture looks at.
type PostureOptions struct {
	// Sensitive are the environments whose readers are checked for reads
	// (default: those named prod or production).
	Sensitive []string
	// IdleDays is how long a reader of a sensitive environment may go
	// without reading it (default 30).
	IdleDays int
	// AuditFiles are other members' logs (hush audit export), so idle
	// readers are known beyond this user.
	AuditFiles []NamedReader
	// History also scans every commit; Paths are more places to scan (an
	// image tarball, a build directory).
	History bool
	Paths   []string
}

// NamedReader is an exported audit log and the name it was given by.
type NamedReader = audit.MergeInput

// PostureFinding is one problem found: never a value.
type PostureFinding struct {
	Severity string `json:"severity"`
	What     string `json:"what"`
	Where    string `json:"where"`
	Evidence string `json:"evidence"`
	Fix      string `json:"fix,omitempty"`
}

// PostureSection is one item of the report.
type PostureSection struct {
	ID       string           `json:"id"`
	Title    string           `json:"title"`
	Findings []PostureFinding `json:"findings"`
	// Notes say what the section could not check, and why.
	Notes []string `json:"notes,omitempty"`
}

// SecretAge is one secret's age since rotation against its period.
type SecretAge struct {
	Env     string        `json:"env"`
	Key     string        `json:"key"`
	Type    string        `json:"type,omitempty"`
	Age     time.Duration `json:"-"`
	Since   time.Time     `json:"since,omitzero"` // last rotated, or created
	AgeDays int           `json:"age_days"`
	Every   string        `json:"rotate_every,omitempty"`
	State   store.State   `json:"state"`
	Source  string        `json:"rotation_source,omitempty"` // provider of rotation.sources, "" when manual
	// Kind is how the credential changes: "manual" (hush rotate by
	// hand), "at-source" (a rotation.sources provider changes it where it
	// lives) or "vault-static-role" (Vault changes it; provider vault).
	// Every stored credential is static: a dynamic one (a Vault lease,
	// hush run --vault-lease) is never in a store.
	Kind string `json:"kind"`
}

// AccessRow is one recipient's row of the members × environments matrix.
type AccessRow struct {
	Label string          `json:"label"`
	Key   string          `json:"key"`
	CI    bool            `json:"ci"`
	Envs  map[string]bool `json:"envs"`
}

// PostureReport is the whole report.
type PostureReport struct {
	Project string   `json:"project"`
	Envs    []string `json:"environments"`
	// Unread are the environments this identity could not read: their
	// values were not compared nor their ages checked.
	Unread   []string         `json:"not_read,omitempty"`
	Sections []PostureSection `json:"sections"`
	Ages     []SecretAge      `json:"secrets_by_age"`
	Access   []AccessRow      `json:"access"`
}

// Worst is the highest severity found, or -1 when nothing was.
func (r *PostureReport) Worst() int {
	w := -1
	for _, s := range r.Sections {
		for _, f := range s.Findings {
			w = max(w, PostureSeverity(f.Severity))
		}
	}
	return w
}

// postureEnv is what one readable environment gave the report.
type postureEnv struct {
	name    string
	entries []store.Entry
	err     error
}

// Posture builds the report. The values it decrypts are read lines, one
// per environment naming its keys (they are compared and searched for);
// an environment the user cannot read is reported as not compared, never
// guessed at.
func (s *Session) Posture(o PostureOptions) (*PostureReport, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if o.IdleDays <= 0 {
		o.IdleDays = 30
	}
	now := s.Now()
	rep := &PostureReport{Project: p.Config.Project, Envs: p.Config.EnvNames(), Access: []AccessRow{}}
	id, idErr := s.Identity()
	envs := make([]postureEnv, 0, len(rep.Envs))
	var groups []EnvKeys
	known := map[string]string{}
	if idErr == nil {
		if err := s.AuditReady(); err != nil {
			return nil, err
		}
	}
	for _, e := range rep.Envs {
		pe := postureEnv{name: e, err: idErr}
		if idErr == nil {
			pe.entries, pe.err = ownStores(p, e, id)
		}
		g := EnvKeys{Env: e}
		for _, en := range pe.entries {
			g.Keys = append(g.Keys, en.Name)
			if v := en.Secret.Value.Reveal(); len(v) >= scan.MinKnownLength {
				known[e+"/"+en.Name] = v
			}
		}
		if len(g.Keys) > 0 {
			groups = append(groups, g)
		}
		if pe.err != nil {
			rep.Unread = append(rep.Unread, e)
		}
		envs = append(envs, pe)
	}
	// One read line per environment naming its keys, as hush run writes:
	// every value was decrypted, compared and searched for.
	if len(groups) > 0 {
		if err := s.AuditRunFrom(audit.SecretRead, groups, nil); err != nil {
			return nil, err
		}
	}

	shared, err := postureShared(envs)
	if err != nil {
		return nil, err
	}
	rep.Sections = append(rep.Sections, shared)
	ages, err := s.postureAges(p, envs, now, rep)
	if err != nil {
		return nil, err
	}
	rep.Sections = append(rep.Sections, ages)
	access := s.postureAccess(p, o, id, now, rep)
	s.postureVault(&access)
	rep.Sections = append(rep.Sections, access)
	places, err := s.posturePlaces(o, known)
	if err != nil {
		return nil, err
	}
	rep.Sections = append(rep.Sections, places)
	rep.Sections = append(rep.Sections, s.postureHygiene(id, rep))
	return rep, nil
}

// valueRef is one value to compare: where it is and its keyed hash.
type valueRef struct {
	Env, Key string
	Sum      [sha256.Size]byte
}

// minShared is the shortest value the shared-credential check compares:
// shorter ones (a PIN, "true") are equal by chance, not by reuse.
const minShared = 8

// inShared reports whether a value takes part in the shared check: not
// configuration (type config, or evidently so), not short.
func inShared(name string, sec *store.Secret) bool {
	v := sec.Value.Reveal()
	if sec.Type == store.TypeConfig || len(v) < minShared {
		return false
	}
	return !store.IsConfigValue(name, v)
}

// keyedSum is the HMAC-SHA256 of v under key: equal values give equal sums
// under one key, and without the key (which lives only in this run's
// memory) a sum says nothing of the value.
func keyedSum(key []byte, v string) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	var out [sha256.Size]byte
	copy(out[:], m.Sum(nil))
	return out
}

// sameValues groups refs by equal sum, keeping the groups of two or more,
// each sorted by environment then key, the groups in order of their first.
func sameValues(refs []valueRef) [][]valueRef {
	by := map[[sha256.Size]byte][]valueRef{}
	for _, r := range refs {
		by[r.Sum] = append(by[r.Sum], r)
	}
	var out [][]valueRef
	for _, g := range by {
		if len(g) < 2 {
			continue
		}
		slices.SortFunc(g, func(a, b valueRef) int {
			if c := strings.Compare(a.Env, b.Env); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b []valueRef) int {
		if c := strings.Compare(a[0].Env, b[0].Env); c != 0 {
			return c
		}
		return strings.Compare(a[0].Key, b[0].Key)
	})
	return out
}

func postureShared(envs []postureEnv) (PostureSection, error) {
	sec := PostureSection{ID: "shared", Title: "Shared credentials across environments and keys", Findings: []PostureFinding{}}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return sec, err
	}
	var refs []valueRef
	for _, e := range envs {
		if e.err != nil {
			sec.Notes = append(sec.Notes, fmt.Sprintf("%s not compared: %s", e.name, firstLineOf(e.err)))
			continue
		}
		for _, en := range e.entries {
			if inShared(en.Name, en.Secret) {
				refs = append(refs, valueRef{Env: e.name, Key: en.Name, Sum: keyedSum(key, en.Secret.Value.Reveal())})
			}
		}
	}
	clear(key)
	for _, g := range sameValues(refs) {
		envSet := map[string]bool{}
		where := make([]string, len(g))
		for i, r := range g {
			envSet[r.Env] = true
			where[i] = r.Env + "/" + r.Key
		}
		f := PostureFinding{Where: strings.Join(where, ", "),
			Evidence: "equal HMAC-SHA256 of the values under a key made for this run (no value or hash is kept)",
			Fix:      fmt.Sprintf("hush rotate %s --env %s --generate", g[len(g)-1].Key, g[len(g)-1].Env)}
		if len(envSet) > 1 {
			f.Severity, f.What = SevHigh, fmt.Sprintf("the same value in %d environments (%s)", len(envSet), strings.Join(slices.Sorted(maps.Keys(envSet)), ", "))
		} else {
			f.Severity, f.What = SevMedium, fmt.Sprintf("the same value under %d keys of %s", len(g), g[0].Env)
		}
		sec.Findings = append(sec.Findings, f)
	}
	return sec, nil
}

func firstLineOf(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

func (s *Session) postureAges(p *store.Project, envs []postureEnv, now time.Time, rep *PostureReport) (PostureSection, error) {
	sec := PostureSection{ID: "long-lived", Title: "Long-lived credentials", Findings: []PostureFinding{}}
	var sources map[string]map[string]any
	if p.Config.Rotation != nil {
		sources = p.Config.Rotation.Sources
	}
	// The repository's word that a key rotates at its source counts once
	// this user acknowledged it (hush ack), as hush rotate requires.
	if len(sources) > 0 {
		if err := p.CheckSettings("rotation.sources"); err != nil {
			sec.Notes = append(sec.Notes, "rotation.sources not counted, as not acknowledged: "+firstLineOf(err))
			sources = nil
		}
	}
	rep.Ages = []SecretAge{}
	leasable := 0
	for _, e := range envs {
		if e.err != nil {
			sec.Notes = append(sec.Notes, fmt.Sprintf("%s not checked: %s", e.name, firstLineOf(e.err)))
			continue
		}
		doc := store.NewDocument(e.name)
		for _, en := range e.entries {
			doc.Secrets[en.Name] = en.Secret
		}
		sts, err := p.Config.Evaluate(doc, now)
		if err != nil {
			return sec, err
		}
		for _, st := range sts {
			if st.Type == store.TypeConfig {
				continue
			}
			s0 := doc.Secrets[st.Name]
			last := s0.Rotated
			if last.IsZero() {
				last = s0.Created
			}
			a := SecretAge{Env: e.name, Key: st.Name, Type: st.Type, Every: st.Every, State: st.State}
			if !last.IsZero() {
				a.Since, a.Age = last, now.Sub(last)
				a.AgeDays = int(a.Age.Hours() / 24)
			}
			if set, ok, err := rotate.Lookup(sources, e.name, st.Name); err == nil && ok {
				a.Source, a.Kind = set.Provider, "at-source"
				if set.Provider == "vault" {
					a.Kind = "vault-static-role"
				}
			} else {
				a.Kind = "manual"
			}
			if st.Type == "database" || st.Type == "service-token" {
				leasable++
			}
			rep.Ages = append(rep.Ages, a)
			where := e.name + "/" + st.Name
			switch st.State {
			case store.StateOverdue:
				f := PostureFinding{Severity: SevHigh, What: "rotation overdue", Where: where,
					Evidence: fmt.Sprintf("last rotated %s ago (%s), period %s (type %s)", days(a.Age), last.UTC().Format("2006-01-02"), st.Every, st.Type),
					Fix:      fmt.Sprintf("hush rotate %s --env %s", st.Name, e.name)}
				if a.Source == "" && st.Type == "database" {
					f.Fix += "   # or lease it per run: hush run --vault-lease " + st.Name + "=database/creds/ROLE -- CMD"
				}
				sec.Findings = append(sec.Findings, f)
			case store.StateExposed, store.StateCompromised:
				sec.Findings = append(sec.Findings, PostureFinding{Severity: SevCritical, What: "secret " + string(st.State) + " and not rotated", Where: where,
					Evidence: "marked " + string(st.State) + " in the store's metadata", Fix: fmt.Sprintf("hush rotate %s --env %s", st.Name, e.name)})
			}
		}
	}
	sort.SliceStable(rep.Ages, func(i, j int) bool { return rep.Ages[i].Age > rep.Ages[j].Age })
	if len(rep.Ages) > 0 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("all %d stored credentials are static (a dynamic one, leased per run, is never stored); %d database credentials or service tokens could be leased from Vault instead: hush run --vault-lease NAME=database/creds/ROLE -- CMD", len(rep.Ages), leasable))
	}
	return sec, nil
}

// days renders a duration in whole days (hours under a day).
func days(d time.Duration) string {
	if d < 24*time.Hour {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
