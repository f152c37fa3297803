package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/internal/safe"
)

// Settings pinning. Recipients are not the only thing in hush.yaml that
// decides where secrets or credentials go or what runs: the vault: section
// picks the server a token is sent to and the files read as credentials,
// allow_inject lets loader variables reach a child, and a future hush will
// read sections this one does not know. So every top-level setting is
// pinned by default, as one canonical string per setting; only the inert
// ones below are left out. A new field added to Config is pinned without
// anyone remembering to, because the settings are computed from the
// encoded config, not from a list of known fields.

// inertSettings are the top-level keys of hush.yaml that are not pinned,
// each with the reason it cannot send a secret or a credential anywhere
// nor make anything run. default_env is not among them although every
// environment is pinned: switched from prod to dev by a dev member, it
// would send the next `hush set KEY` meant for prod to dev's readers.
var inertSettings = map[string]string{
	// The format version only decides whether this hush parses the file.
	"version": "format version: an unsupported one is refused anyway",
	// Rotation periods only change when hush warns or fails a policy
	// check (exit 7): at worst noise, never a disclosure. Its sources
	// (which provider changes a credential where, with which command and
	// admin secret) are not inert: they are pinned as rotation.sources.
	"rotation": "rotation periods: warnings and policy checks only; rotation.sources is pinned",
	// Environments are pinned per environment (recipients, and any other
	// field below as "environments.NAME.FIELD", inherits among them).
	"environments": "pinned per environment",
}

// Settings returns the pinned settings of c, by key, each in a canonical
// form: JSON with sorted keys, so reformatting the YAML (indentation, key
// order, quoting, flow style) is not a change. An absent or empty setting
// is absent from the map.
func (c *Config) Settings() (map[string]string, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range top {
		if _, inert := inertSettings[k]; inert {
			continue
		}
		if err := putSetting(out, k, v); err != nil {
			return nil, err
		}
	}
	if c.Rotation != nil && len(c.Rotation.Sources) > 0 {
		if err := putSetting(out, "rotation.sources", normalise(anyMap(c.Rotation.Sources))); err != nil {
			return nil, err
		}
	}
	for name, e := range c.Environments {
		if e == nil {
			continue
		}
		for k, v := range e.Extra {
			if err := putSetting(out, "environments."+name+"."+k, v); err != nil {
				return nil, err
			}
		}
		// Whom an environment inherits from decides what a program run
		// in it is given: pinned under the key an older hush, which kept
		// it in Extra, pinned it under.
		if err := putSetting(out, InheritSetting(name), e.Inherits); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func anyMap(m map[string]map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func putSetting(out map[string]string, key string, v any) error {
	s, err := canonical(v)
	if err != nil {
		return fmt.Errorf("%w: .hush/hush.yaml: %s: %v", ErrIntegrity, key, err)
	}
	if s == "" {
		return nil
	}
	out[key] = s
	return nil
}

// canonical renders a decoded YAML value as JSON with sorted keys. Empty
// values (null, "", false, [], {}) are "" so that writing a default out
// explicitly is not a change.
func canonical(v any) (string, error) {
	v = normalise(v)
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		if t == "" {
			return "", nil
		}
	case bool:
		if !t {
			return "", nil
		}
	case []any:
		if len(t) == 0 {
			return "", nil
		}
	case map[string]any:
		if len(t) == 0 {
			return "", nil
		}
	}
	// JSON escapes control characters; HTML escaping (< as \u003c) would
	// only make the shown value harder to read.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// normalise turns YAML's map[any]any into map[string]any, which JSON can
// encode and sorts by key.
func normalise(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = normalise(x)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalise(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = normalise(x)
		}
		return l
	}
	return v
}

// SettingChange is a pinned setting whose value in hush.yaml differs from
// the one this user acknowledged. Old or New is "" when the setting was
// absent on that side.
type SettingChange struct {
	Key, Old, New string
}

func (c SettingChange) String() string {
	// Values are JSON, whose escapes already cover control characters and
	// backslashes; what JSON leaves raw (DEL, C1 controls, bidi
	// overrides) is escaped on top.
	show := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return escapeRaw(s)
	}
	return fmt.Sprintf("%s: %s -> %s", Printable(c.Key), show(c.Old), show(c.New))
}

// Leaves breaks a change of a section into the changes of its fields
// (vault.address, vault.auth.token_file…), which is what a reader needs
// to see. A change of a plain value is itself.
func (c SettingChange) Leaves() []SettingChange {
	var o, n any
	if c.Old != "" && json.Unmarshal([]byte(c.Old), &o) != nil {
		return []SettingChange{c}
	}
	if c.New != "" && json.Unmarshal([]byte(c.New), &n) != nil {
		return []SettingChange{c}
	}
	om, ook := o.(map[string]any)
	nm, nok := n.(map[string]any)
	if !(ook || o == nil) || !(nok || n == nil) || (o == nil && n == nil) {
		return []SettingChange{c}
	}
	old, cur := map[string]string{}, map[string]string{}
	flatten(c.Key, om, old)
	flatten(c.Key, nm, cur)
	return diffSettings(old, cur)
}

func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(prefix+"."+k, sub, out)
			continue
		}
		if s, err := canonical(v); err == nil && s != "" {
			out[prefix+"."+k] = s
		}
	}
}

// diffSettings lists the settings that differ between pinned and current,
// sorted by key.
func diffSettings(pinned, current map[string]string) []SettingChange {
	keys := map[string]bool{}
	for k := range pinned {
		keys[k] = true
	}
	for k := range current {
		keys[k] = true
	}
	var out []SettingChange
	for k := range keys {
		if pinned[k] != current[k] {
			out = append(out, SettingChange{Key: k, Old: pinned[k], New: current[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// SettingsError is a command refused because settings it would use
// changed since this user acknowledged them. It is an ErrConflict (exit 6).
type SettingsError struct {
	Changes []SettingChange
}

func (e *SettingsError) Error() string {
	var parts []string
	for _, c := range e.Changes {
		for _, l := range c.Leaves() {
			parts = append(parts, l.String())
		}
	}
	keys := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		keys[i] = Printable(c.Key)
	}
	return fmt.Sprintf(".hush/hush.yaml changed %s since you last acknowledged it (%s); check the change (git log -p .hush/hush.yaml), then run: hush ack",
		strings.Join(keys, ", "), strings.Join(parts, "; "))
}

// Unwrap makes a SettingsError an ErrConflict.
func (e *SettingsError) Unwrap() error { return ErrConflict }

// escapeRaw is Printable for text whose backslashes are already escapes.
func escapeRaw(s string) string {
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, n := utf8.DecodeRuneInString(s[i:])
		w = n
		if r == '\\' || (strconv.IsGraphic(r) && !(r == utf8.RuneError && n == 1)) {
			b.WriteString(s[i : i+n])
			continue
		}
		b.WriteString(Printable(s[i : i+n]))
	}
	return b.String()
}

// Printable escapes what a terminal would interpret in a string that came
// from the repository (control characters, C1, invalid UTF-8, bidi and
// other invisible characters), with the one escaper cmd renders through.
func Printable(s string) string { return safe.Term(s) }
