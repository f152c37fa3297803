package rotate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/store"
)

// Settings are one rotation.sources entry of hush.yaml.
type Settings struct {
	// Name is the entry's key in rotation.sources ("DB_PASSWORD" or
	// "prod/DB_PASSWORD"), for messages.
	Name string
	// Provider picks the Provider ("postgres", "mysql", "vault",
	// "command", "acme").
	Provider string
	// Grace is how long the old credential stays valid after the new one
	// is verified; 0 retires it at once.
	Grace time.Duration
	// Timeout bounds each provider call (default 1m).
	Timeout time.Duration
	// Length and Charset shape Request.Proposed (default 32, alnum).
	Length  int
	Charset string
	// Raw is the provider's own fields (everything but the common ones).
	Raw map[string]any
}

// common are the fields Settings parses; the rest are the provider's.
var common = map[string]bool{"provider": true, "grace": true, "timeout": true, "length": true, "charset": true}

// DefaultTimeout bounds a provider call when the settings name none.
const DefaultTimeout = time.Minute

// ParseSettings reads one rotation.sources entry.
func ParseSettings(name string, raw map[string]any) (Settings, error) {
	s := Settings{Name: name, Timeout: DefaultTimeout, Length: 32, Charset: "alnum", Raw: map[string]any{}}
	for k, v := range raw {
		if !common[k] {
			s.Raw[k] = v
		}
	}
	str := func(k string) (string, error) {
		v, ok := raw[k]
		if !ok || v == nil {
			return "", nil
		}
		t, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("rotation.sources.%s.%s: want a string", name, k)
		}
		return t, nil
	}
	var err error
	if s.Provider, err = str("provider"); err != nil {
		return s, err
	}
	if s.Provider == "" {
		return s, fmt.Errorf("rotation.sources.%s: no provider", name)
	}
	for _, f := range []struct {
		k string
		d *time.Duration
	}{{"grace", &s.Grace}, {"timeout", &s.Timeout}} {
		t, err := str(f.k)
		if err != nil {
			return s, err
		}
		if t == "" {
			continue
		}
		// A Go duration (30s, 10m, 1h30m), or a period in days and
		// weeks as rotate_every writes them (1d, 2w).
		d, err := time.ParseDuration(t)
		if err != nil {
			if d, err = store.ParsePeriod(t); err != nil || !strings.HasSuffix(t, "d") && !strings.HasSuffix(t, "w") {
				return s, fmt.Errorf("%w rotation.sources.%s.%s %q: use a duration such as 30s, 10m, 2h or 1d", store.ErrInvalid, name, f.k, t)
			}
		}
		if d < 0 || f.k == "timeout" && d == 0 {
			return s, fmt.Errorf("%w rotation.sources.%s.%s %q: must be positive", store.ErrInvalid, name, f.k, t)
		}
		*f.d = d
	}
	if v, ok := raw["length"]; ok {
		n, ok := v.(int)
		if !ok || n < 16 || n > 4096 {
			return s, fmt.Errorf("rotation.sources.%s.length: want a number from 16 to 4096", name)
		}
		s.Length = n
	}
	if t, err := str("charset"); err != nil {
		return s, err
	} else if t != "" {
		s.Charset = t
	}
	if _, err := store.GenerateValue(s.Length, s.Charset); err != nil {
		return s, fmt.Errorf("rotation.sources.%s: %w", name, err)
	}
	return s, nil
}

// Decode fills the provider's settings struct v (with yaml tags) from Raw.
// A field v does not have is an error, so a typo fails before anything
// changes.
func (s Settings) Decode(v any) error {
	b, err := yaml.Marshal(s.Raw)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		return fmt.Errorf("rotation.sources.%s (provider %s): %w", s.Name, s.Provider, err)
	}
	return nil
}

// Lookup finds the settings of key in env: ENV/KEY first, then KEY. ok is
// false when the key rotates only in the store.
func Lookup(sources map[string]map[string]any, env, key string) (Settings, bool, error) {
	for _, name := range []string{env + "/" + key, key} {
		if raw, ok := sources[name]; ok {
			s, err := ParseSettings(name, raw)
			return s, true, err
		}
	}
	return Settings{}, false, nil
}

// Names lists the keys sources configure for env, sorted.
func Names(sources map[string]map[string]any, env string) []string {
	seen := map[string]bool{}
	for name := range sources {
		e, k, scoped := cut(name)
		if scoped && e != env {
			continue
		}
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cut(name string) (env, key string, scoped bool) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i], name[i+1:], true
		}
	}
	return "", name, false
}
