package scan

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Rule is one detector: keywords that must occur (ASCII case-insensitively)
// for its regular expression to be tried at all, and the expression itself.
type Rule struct {
	// ID names the rule in findings, allowlists and SARIF (`github-pat`).
	ID string
	// Description says what the rule finds, for people.
	Description string
	// Keywords are the literal strings the prefilter looks for. A keyword
	// written with a leading "=" is matched case-sensitively.
	Keywords []string

	re        *regexp.Regexp
	multiline bool // the match may span lines (PEM blocks)
	// until, when set, extends the secret to the end of this marker if it
	// follows within the multi-line window (a PEM block's END line).
	until string
	// human marks rules whose secrets people choose (passwords): their
	// fingerprints use a slow hash so a committed baseline cannot be used to
	// guess them cheaply.
	human bool
	// at, when set, replaces re: it matches at one keyword hit [ks, ke) of
	// win and returns submatch offsets as FindSubmatchIndex does, or nil.
	at func(win []byte, ks, ke int) []int
	// check, when set, vets the submatches (m[0] the whole match) beyond the
	// shared placeholder filter.
	check func(m []string) bool
	// vet, when set, is check with one more fact: whether the match is in
	// a configuration file or on a line that is one shell-style assignment.
	vet func(m []string, conf bool) bool
	// nextLines: the window of at holds the two lines after the hit's
	// (values of YAML block scalars and XML elements).
	nextLines bool
	// all, when set, replaces re and at for rules that judge a block
	// (a Kubernetes Secret's data): its window runs from lookBack bytes
	// before the hit to blockAhead after it, and it returns every match.
	all func(win []byte, ks, ke int) [][]int
}

// ruleSpec is how the rule tables are written.
type ruleSpec struct {
	id, desc  string
	keywords  []string
	pattern   string
	multiline bool
	until     string
	human     bool
	at        func(win []byte, ks, ke int) []int
	check     func(m []string) bool
	vet       func(m []string, conf bool) bool
	nextLines bool
	all       func(win []byte, ks, ke int) [][]int
}

// knownValueRule is the Rule of findings of known values.
const knownValueRule = "known-value"

// builtinRules compiles every table, in priority order: where two findings
// overlap, the rule listed first wins (specific before generic).
func builtinRules() ([]*Rule, error) {
	var specs []ruleSpec
	for _, t := range [][]ruleSpec{devRules, cloudRules, saasRules, aiRules, keyRules, headerRules, containerRules, genericRules} {
		specs = append(specs, t...)
	}
	rules := make([]*Rule, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.id] {
			return nil, fmt.Errorf("scan: duplicate rule %s", s.id)
		}
		seen[s.id] = true
		var re *regexp.Regexp
		if s.at == nil && s.all == nil {
			var err error
			if re, err = regexp.Compile(s.pattern); err != nil {
				return nil, fmt.Errorf("scan: rule %s: %w", s.id, err)
			}
		}
		if len(s.keywords) == 0 {
			return nil, fmt.Errorf("scan: rule %s has no keyword", s.id)
		}
		rules = append(rules, &Rule{ID: s.id, Description: s.desc, Keywords: s.keywords,
			re: re, multiline: s.multiline, until: s.until, human: s.human, at: s.at, check: s.check, vet: s.vet, nextLines: s.nextLines, all: s.all})
	}
	return rules, nil
}

// compiledRules compiles the tables once per process.
var compiledRules = sync.OnceValues(builtinRules)

// Rules returns the built-in rules in priority order.
func Rules() []Rule {
	rules, err := compiledRules()
	if err != nil {
		// The tables are constants checked by TestRules; this cannot happen
		// in a released binary.
		panic(err)
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = *r
	}
	return out
}

// docExamples are values published in providers' documentation. They are
// never reported: they appear in READMEs and tests everywhere.
var docExamples = map[string]bool{
	"AKIAIOSFODNN7EXAMPLE":                                  true,
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY":              true,
	"sk_test_4eC39HqLyjWDarjtT1zdp7dc":                      true,
	"sk_test_BQokikJOvBiI2HlWgH4olfQ2":                      true,
	"123e4567-e89b-12d3-a456-426614174000":                  true, // the UUID of RFC 4122's examples and of Wikipedia
	"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy": true,
	// Firebase's documented sample web API keys: the config snippet of
	// its setup guides and the "example value" of the JS SDK's
	// FirebaseOptions.apiKey.
	"AIzaSyDOCAbC123dEf456GhI789jKl01-MnO":  true,
	"AIzaSyDOCAbC123dEf456GhI789jKl012-MnO": true,
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c": true,
}

// placeholderMarks make a value a stand-in wherever they occur in it.
var placeholderMarks = []string{
	"example", "xxxx", "***", "...", "…", "${", "{{", "<", ">", "%(", "$(", "12345678", "abcdefgh",
}

// placeholderWords make a value a stand-in when they stand as a word: at the
// start, after a non-alphanumeric character, or before - or _
// ("your-api-key", "sk_live_yourkey"). Inside random text ("…fyournb…")
// they are chance.
var placeholderWords = []string{
	"your", "sample", "placeholder", "changeme", "redacted", "replace", "dummy", "insert",
}

// isPlaceholder reports whether a candidate secret is a documentation value,
// a template or a stand-in rather than a credential.
func isPlaceholder(s string) bool {
	if docExamples[s] {
		return true
	}
	low := strings.ToLower(s)
	if len(s) > 200 {
		// Long secrets (key blocks) hold random text where short words turn
		// up by chance; only a deliberate marker counts there.
		return strings.Contains(low, "example") || strings.Contains(low, "xxxxxxxx")
	}
	for _, w := range placeholderMarks {
		if w == "xxxx" && len(s) >= 40 {
			// Four x's turn up by chance in long random text; a masked
			// long token has a longer run.
			w = "xxxxxxxx"
		}
		if strings.Contains(low, w) {
			return true
		}
	}
	for _, w := range placeholderWords {
		for i := 0; ; {
			k := strings.Index(low[i:], w)
			if k < 0 {
				break
			}
			k += i
			end := k + len(w)
			if k == 0 || !isAlnum(low[k-1]) || end < len(low) && (low[end] == '-' || low[end] == '_') {
				return true
			}
			i = k + 1
		}
	}
	// 123, 456 and 789 in order: typed to look random ("AbC123dEf456GhI789").
	if i := strings.Index(low, "123"); i >= 0 {
		if j := strings.Index(low[i:], "456"); j >= 0 && strings.Contains(low[i+j:], "789") {
			return true
		}
	}
	// A run of one character in a value that is half that character is a
	// mask or a filler ("ghp_000…", "xoxp-000…-000…"); runs also occur in
	// real tokens (an X bearer token opens with some twenty As).
	return longestRun(s) >= 6 && 2*mostCommon(s) >= len(s)
}

// mostCommon is how many times the commonest byte of s occurs in it.
func mostCommon(s string) int {
	var counts [256]int
	best := 0
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
		best = max(best, counts[s[i]])
	}
	return best
}

// longestRun is the length of the longest run of one repeated byte.
func longestRun(s string) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i] == s[i-1] {
			run++
		} else {
			run = 1
		}
		best = max(best, run)
	}
	return best
}

// isAlnum reports whether b continues a token: a match that is preceded or
// followed by one is a piece of a longer string, not a token.
func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// secretOf returns the index of the submatch holding the secret: the last
// group that took part in the match, or 0 for the whole match.
func secretOf(loc []int) int {
	for g := len(loc)/2 - 1; g > 0; g-- {
		if loc[2*g] >= 0 && loc[2*g+1] > loc[2*g] {
			return g
		}
	}
	return 0
}
