package store

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// defaultPeriods are the rotation periods per secret type. "password" has
// none: its rotation is the user's call.
var defaultPeriods = map[string]string{
	"api-key":       "90d",
	"database":      "30d",
	"tls":           "90d",
	"signing-key":   "1y",
	"service-token": "24h",
	"password":      "",
}

// RotationConfig is hush.yaml's rotation section: periods overriding the
// defaults per type and per key.
type RotationConfig struct {
	Types map[string]string `yaml:"types,omitempty"`
	Keys  map[string]string `yaml:"keys,omitempty"`
	// DueWithin is how long before its deadline a secret shows as due
	// (default 7d).
	DueWithin string `yaml:"due_within,omitempty"`
	// Sources say where a key's credential lives and which provider
	// changes it there (package rotate), by KEY or ENV/KEY. Unlike the
	// periods above they are PINNED (settings.go): a provider runs code
	// and sends credentials.
	Sources map[string]map[string]any `yaml:"sources,omitempty"`
}

// typeRules infer a type from a name, first match wins. Suffixes and
// whole-word parts, so DB_PASSWORD is a database credential and
// GITHUB_TOKEN a service token.
var typeRules = []struct {
	typ   string
	match func(n string) bool
}{
	{"database", func(n string) bool {
		return n == "DATABASE_URL" || strings.HasSuffix(n, "_DATABASE_URL") || strings.HasSuffix(n, "DB_PASSWORD") ||
			strings.HasSuffix(n, "DB_URL") || strings.HasPrefix(n, "POSTGRES") || strings.HasPrefix(n, "MYSQL") ||
			strings.HasPrefix(n, "PG") && strings.HasSuffix(n, "PASSWORD") || strings.HasPrefix(n, "REDIS") && strings.HasSuffix(n, "PASSWORD")
	}},
	{"tls", func(n string) bool {
		return strings.HasSuffix(n, "_TLS_KEY") || strings.HasSuffix(n, "_TLS_CERT") || strings.HasPrefix(n, "TLS_") ||
			strings.HasSuffix(n, "_CERT") || strings.HasSuffix(n, "_CERTIFICATE") || strings.HasSuffix(n, "_SSL_KEY")
	}},
	{"signing-key", func(n string) bool {
		return strings.Contains(n, "SIGNING") || strings.HasSuffix(n, "_PRIVATE_KEY") || strings.HasPrefix(n, "JWT_SECRET") ||
			strings.HasSuffix(n, "_JWT_SECRET") || strings.HasSuffix(n, "_HMAC_KEY")
	}},
	{"api-key", func(n string) bool {
		return strings.HasSuffix(n, "API_KEY") || strings.HasSuffix(n, "APIKEY") || strings.HasSuffix(n, "_ACCESS_KEY") ||
			strings.HasSuffix(n, "_ACCESS_KEY_ID") || strings.HasSuffix(n, "_SECRET_ACCESS_KEY") || strings.HasSuffix(n, "_CLIENT_SECRET")
	}},
	{"service-token", func(n string) bool {
		return strings.HasSuffix(n, "_TOKEN") || n == "TOKEN" || strings.HasSuffix(n, "_SESSION_TOKEN")
	}},
	{"password", func(n string) bool {
		return strings.HasSuffix(n, "PASSWORD") || strings.HasSuffix(n, "_PASS") || strings.HasSuffix(n, "PASSWD")
	}},
}

// inferType guesses a secret's type from its name, "" when nothing fits.
func inferType(name string) string {
	n := strings.ToUpper(name)
	for _, r := range typeRules {
		if r.match(n) {
			return r.typ
		}
	}
	return ""
}

// Policy is the rotation period of one secret and where it came from.
type Policy struct {
	Type   string
	Period time.Duration // 0: no rotation required
	Every  string        // the period as written ("90d")
	Source string        // "secret", "hush.yaml key", "hush.yaml type", "default"
}

// PolicyFor resolves a secret's rotation period: its own rotate_every,
// then hush.yaml's per-key and per-type overrides, then the default of its
// type (given or inferred from the name).
func (c *Config) PolicyFor(name string, s *Secret) (Policy, error) {
	typ := s.Type
	if typ == "" {
		typ = inferType(name)
	}
	p := Policy{Type: typ}
	var rc RotationConfig
	if c.Rotation != nil {
		rc = *c.Rotation
	}
	switch {
	case s.RotateEvery != "":
		p.Every, p.Source = s.RotateEvery, "secret"
	case rc.Keys[name] != "":
		p.Every, p.Source = rc.Keys[name], "hush.yaml key"
	case rc.Types[typ] != "":
		p.Every, p.Source = rc.Types[typ], "hush.yaml type"
	default:
		p.Every, p.Source = defaultPeriods[typ], "default"
	}
	if p.Every == "" || p.Every == "never" {
		p.Every = ""
		return p, nil
	}
	d, err := ParsePeriod(p.Every)
	if err != nil {
		return p, fmt.Errorf("%s: rotation period from %s: %w", name, p.Source, err)
	}
	p.Period = d
	return p, nil
}

// State is a secret's rotation state.
type State string

// States, from best to worst.
const (
	StateOK          State = "ok"
	StateDue         State = "due"
	StateOverdue     State = "overdue"
	StateExposed     State = "exposed"
	StateCompromised State = "compromised"
)

// SecretStatus is one secret as hush status reports it.
type SecretStatus struct {
	Name        string     `json:"name"`
	Type        string     `json:"type,omitempty"`
	Rotated     time.Time  `json:"rotated,omitzero"`
	Every       string     `json:"rotate_every,omitempty"`
	Due         time.Time  `json:"due,omitzero"`
	State       State      `json:"state"`
	Exposed     []Exposure `json:"exposed,omitempty"`
	Compromised time.Time  `json:"compromised,omitzero"`
	// From is the environment the secret is inherited from ("" when it is
	// the environment's own): its state is that one's, and so is the fix.
	From string `json:"inherited_from,omitempty"`
}

// Bad reports whether the state should fail `hush status --fail`.
func (s SecretStatus) Bad() bool { return s.State != StateOK && s.State != StateDue }

// Evaluate computes the rotation state of every secret of doc at now. The
// clock is a parameter so tests never sleep.
func (c *Config) Evaluate(doc *Document, now time.Time) ([]SecretStatus, error) {
	dueWithin := 7 * 24 * time.Hour
	if c.Rotation != nil && c.Rotation.DueWithin != "" {
		d, err := ParsePeriod(c.Rotation.DueWithin)
		if err != nil {
			return nil, fmt.Errorf("hush.yaml rotation.due_within: %w", err)
		}
		dueWithin = d
	}
	out := make([]SecretStatus, 0, len(doc.Secrets))
	for _, name := range doc.Names() {
		s := doc.Secrets[name]
		pol, err := c.PolicyFor(name, s)
		if err != nil {
			return nil, err
		}
		st := SecretStatus{Name: name, Type: pol.Type, Rotated: s.Rotated, Every: pol.Every, State: StateOK,
			Exposed: s.Exposed, Compromised: s.Compromised}
		last := s.Rotated
		if last.IsZero() {
			last = s.Created
		}
		if pol.Period > 0 && !last.IsZero() {
			st.Due = last.Add(pol.Period)
			switch {
			case !now.Before(st.Due):
				st.State = StateOverdue
			case !now.Before(st.Due.Add(-min(dueWithin, pol.Period/4))):
				st.State = StateDue
			}
		}
		if len(s.Exposed) > 0 {
			st.State = StateExposed
		}
		if !s.Compromised.IsZero() {
			st.State = StateCompromised
		}
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
