package scan

import (
	"context"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Config configures a Scanner. The zero value scans with every built-in rule,
// no known values and no allowlist.
type Config struct {
	// Known maps a name for each secret the user can decrypt
	// ("prod/DB_PASSWORD") to its value. Each value of MinKnownLength
	// characters or more is searched for verbatim and in its base64 (standard and URL
	// alphabets, at any alignment), URL-encoded and hex forms. Findings name
	// the key, never the value.
	Known map[string]string
	// Allow suppresses findings by path, rule or fingerprint. Rules it lists
	// are not run at all.
	Allow Allowlist
	// Baseline holds fingerprints accepted from an earlier run (see
	// ReadBaseline).
	Baseline []string
	// Workers bounds how many files are scanned at once; 0 means GOMAXPROCS.
	Workers int
}

// Scanner finds secrets. It is safe for concurrent use; build one with New
// and reuse it.
type Scanner struct {
	rules   []*Rule
	forms   []knownForm
	ac      *automaton
	targets [][]target // by prefilter pattern
	back    int64      // bytes kept before a hit
	fwd     int64      // bytes needed after a hit before it is handled
	allow   *allowMatcher
	workers int
	engines sync.Pool
	pkcs12  int32    // index of the PKCS #12 rule, which also judges binary files; -1 when disabled
	fps     sync.Map // slow fingerprints already computed, by input
}

// target is what a prefilter hit stands for.
type target struct {
	rule  int32  // index in rules, or -1
	known int32  // index in forms, or -1
	exact string // when set, the bytes ending at the hit must be exactly this
}

// New builds a Scanner: it compiles the rules not disabled by the allowlist
// and the known values into one prefilter.
func New(cfg Config) (*Scanner, error) {
	all, err := compiledRules()
	if err != nil {
		return nil, err
	}
	allow, err := newAllowMatcher(cfg.Allow, cfg.Baseline)
	if err != nil {
		return nil, err
	}
	forms, err := knownForms(cfg.Known)
	if err != nil {
		return nil, err
	}
	s := &Scanner{forms: forms, allow: allow, workers: cfg.Workers}
	if s.workers <= 0 {
		s.workers = runtime.GOMAXPROCS(0)
	}
	s.pkcs12 = -1
	for _, r := range all {
		if !allow.rules[r.ID] {
			if r.ID == pkcs12Rule {
				s.pkcs12 = int32(len(s.rules))
			}
			s.rules = append(s.rules, r)
		}
	}

	// One prefilter pattern per distinct folded string; each knows its
	// targets.
	var patterns []string
	index := map[string]int{}
	add := func(p string, t target) {
		key := asciiLower(p) // strings.ToLower would rewrite invalid UTF-8
		i, ok := index[key]
		if !ok {
			i = len(patterns)
			index[key] = i
			patterns = append(patterns, key)
			s.targets = append(s.targets, nil)
		}
		if !slices.Contains(s.targets[i], t) {
			s.targets[i] = append(s.targets[i], t)
		}
	}
	for ri, r := range s.rules {
		for _, kw := range r.Keywords {
			t := target{rule: int32(ri), known: -1}
			if exact, ok := strings.CutPrefix(kw, "="); ok {
				kw, t.exact = exact, exact
			}
			add(kw, t)
		}
	}
	maxForm := 0
	for fi, f := range forms {
		add(f.text[:min(len(f.text), knownPrefix)], target{rule: -1, known: int32(fi)})
		maxForm = max(maxForm, len(f.text))
	}
	s.ac = newAutomaton(patterns)
	maxPat := 0
	for _, p := range patterns {
		maxPat = max(maxPat, len(p))
	}
	s.back = lookBack + int64(maxPat)
	s.fwd = blockAhead + int64(maxForm)
	s.engines.New = func() any { return newEngine(s) }
	return s, nil
}

// ScanReader scans one stream, reporting findings against the name file
// (used for the allowlist's path globs too). Binary content (a NUL byte in
// the first 8 KiB) yields no findings but one: a PKCS #12 key store, known by
// its header or its .p12/.pfx name. The stream is read in chunks: memory
// use does not grow with its size.
func (s *Scanner) ScanReader(ctx context.Context, file string, r io.Reader) ([]Finding, error) {
	if s.allow.path(file) {
		return nil, nil
	}
	ms, err := s.scanStream(ctx, r, file, 1, true)
	if err != nil {
		return nil, err
	}
	return s.finish(ms, file, "", ""), nil
}

// scanStream runs one pass with a pooled engine.
func (s *Scanner) scanStream(ctx context.Context, r io.Reader, file string, firstLine int, sniff bool) ([]match, error) {
	e := s.engines.Get().(*engine)
	defer s.engines.Put(e)
	return e.scan(ctx, r, file, firstLine, sniff)
}

// finish turns matches into findings: it fingerprints them and drops those
// the allowlist or baseline accepts.
func (s *Scanner) finish(ms []match, file, commit, author string) []Finding {
	out := make([]Finding, 0, len(ms))
	for _, m := range ms {
		f := Finding{
			File: file, Line: m.line, Column: m.col,
			Commit: commit, Author: author,
			Redacted: redact(m.secret),
		}
		if m.rule >= 0 {
			r := s.rules[m.rule]
			f.Rule, f.Description = r.ID, r.Description
			f.SecretFingerprint = s.fingerprint(r.ID, m.secret, r.human)
		} else {
			k := s.forms[m.known]
			f.Rule, f.Key, f.Form = knownValueRule, k.key, k.form
			f.Description = "value of " + k.key
			// Keyed by the value, not the form: accepting one encoding of
			// a value in a baseline accepts the others too.
			f.SecretFingerprint = s.fingerprint(knownValueRule+"\x00"+k.key, k.value, true)
		}
		f.Fingerprint = locate(f.SecretFingerprint, file)
		if s.allow.finding(f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// asciiLower folds ASCII letters only, leaving every other byte as it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = fold(c)
	}
	return string(b)
}
