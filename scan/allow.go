package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Allowlist accepts findings that are not leaks. The caller loads it from
// `.hush/scan.yaml`:
//
//	paths:          # globs; see below
//	  - testdata/**
//	  - "*.lock"
//	rules:          # rule IDs not to run, "known-value" included
//	  - generic-secret
//	fingerprints:   # findings accepted one by one
//	  - 3f2a9c…
//
// A path glob uses `*` and `?` within one path element, `**` for any number
// of elements, and a trailing `/` for everything below a directory. Globs are
// not anchored: `testdata/**` accepts `testdata/a` and `pkg/testdata/a`
// alike, as a .gitignore pattern with a slash in its middle would not. That
// keeps them meaningful whichever directory a scan is started from.
//
// Besides the allowlist, a line that contains `hush:allow` (in a comment,
// typically) reports nothing.
type Allowlist struct {
	Paths        []string `yaml:"paths" json:"paths,omitempty"`
	Rules        []string `yaml:"rules" json:"rules,omitempty"`
	Fingerprints []string `yaml:"fingerprints" json:"fingerprints,omitempty"`
}

// ErrAllowlist marks an invalid allowlist or baseline.
var ErrAllowlist = errors.New("invalid allowlist")

// ParseAllowlist parses the YAML of `.hush/scan.yaml`. Unknown fields, bad
// globs and unknown rule IDs are errors: a typo must not silently allow
// nothing or everything.
func ParseAllowlist(data []byte) (Allowlist, error) {
	var a Allowlist
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil && !errors.Is(err, io.EOF) {
		return Allowlist{}, fmt.Errorf("scan: %w: %w", ErrAllowlist, err)
	}
	if _, err := newAllowMatcher(a, nil); err != nil {
		return Allowlist{}, err
	}
	return a, nil
}

// ReadBaseline reads a JSON findings file written by an earlier run (the
// `json` format) and returns the fingerprints it holds.
func ReadBaseline(r io.Reader) ([]string, error) {
	var fs []Finding
	if err := json.NewDecoder(r).Decode(&fs); err != nil {
		return nil, fmt.Errorf("scan: %w: baseline: %w", ErrAllowlist, err)
	}
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.Fingerprint != "" {
			out = append(out, f.Fingerprint)
		}
	}
	return out, nil
}

// allowMatcher is an Allowlist compiled.
type allowMatcher struct {
	paths []*regexp.Regexp
	rules map[string]bool
	fps   map[string]bool
}

func newAllowMatcher(a Allowlist, baseline []string) (*allowMatcher, error) {
	m := &allowMatcher{rules: map[string]bool{}, fps: map[string]bool{}}
	ids := map[string]bool{knownValueRule: true}
	rules, err := compiledRules()
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		ids[r.ID] = true
	}
	for _, id := range a.Rules {
		if !ids[id] {
			return nil, fmt.Errorf("scan: %w: unknown rule %q", ErrAllowlist, id)
		}
		m.rules[id] = true
	}
	for _, g := range a.Paths {
		re, err := globRegexp(g, `(?:^|/)`)
		if err != nil {
			return nil, fmt.Errorf("scan: %w: path %q: %w", ErrAllowlist, g, err)
		}
		m.paths = append(m.paths, re)
	}
	for _, fp := range append(a.Fingerprints, baseline...) {
		m.fps[strings.ToLower(strings.TrimSpace(fp))] = true
	}
	return m, nil
}

// path reports whether a file is allowed as a whole.
func (m *allowMatcher) path(file string) bool {
	file = strings.TrimPrefix(strings.ReplaceAll(file, `\`, "/"), "./")
	for _, re := range m.paths {
		if re.MatchString(file) {
			return true
		}
	}
	return false
}

// finding reports whether a finding is accepted.
func (m *allowMatcher) finding(f Finding) bool {
	return m.rules[f.Rule] || m.fps[f.Fingerprint] || m.fps[f.SecretFingerprint] || m.path(f.File)
}

// globRegexp compiles a path glob to an expression that matches a path
// whose start matches lead (`^` for anchored, `(?:^|/)` for any trailing
// sub-path) and whose rest matches the glob.
func globRegexp(glob, lead string) (*regexp.Regexp, error) {
	g := strings.TrimPrefix(strings.TrimSpace(glob), "./")
	g = strings.TrimPrefix(g, "/")
	if g == "" {
		return nil, errors.New("empty glob")
	}
	if strings.HasSuffix(g, "/") {
		g += "**"
	}
	var b strings.Builder
	b.WriteString(lead)
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			if i+1 < len(g) && g[i+1] == '*' {
				i++
				if i+1 < len(g) && g[i+1] == '/' {
					i++
					b.WriteString(`(?:.*/)?`)
				} else {
					b.WriteString(`.*`)
				}
			} else {
				b.WriteString(`[^/]*`)
			}
		case '?':
			b.WriteString(`[^/]`)
		case '[':
			j := strings.IndexByte(g[i:], ']')
			if j < 0 {
				return nil, errors.New("unclosed [")
			}
			class := g[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}
