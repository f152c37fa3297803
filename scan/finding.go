package scan

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// Finding is one secret found. It never holds the secret: Redacted keeps its
// first four characters and Fingerprint identifies it without revealing it.
type Finding struct {
	// Rule is the ID of the rule that fired, or "known-value".
	Rule string `json:"rule"`
	// Description says what was found, for people.
	Description string `json:"description,omitempty"`
	// File is the path as given or as git names it, with forward slashes.
	File string `json:"file"`
	// Line and Column (in Unicode code points) are 1-based, and point at
	// the first character of the secret.
	Line   int `json:"line"`
	Column int `json:"column"`
	// Key names the known value found ("prod/DB_PASSWORD"), and Form how it
	// was written: verbatim, base64, base64url, url or hex.
	Key  string `json:"key,omitempty"`
	Form string `json:"form,omitempty"`
	// Commit and Author say where a history scan saw the secret added.
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	// Note says more about where: a file a later image layer deleted (it
	// still ships in the lower layer), a program's byte offset.
	Note string `json:"note,omitempty"`
	// Redacted is the first four characters of the secret and "…".
	Redacted string `json:"redacted"`
	// Fingerprint identifies the secret under its rule (or known key) in
	// this file, whatever its line: a baseline accepts a secret where it
	// was, not the same secret pasted elsewhere.
	Fingerprint string `json:"fingerprint"`
	// SecretFingerprint identifies the secret under its rule wherever it
	// appears: listed in an allowlist, it accepts the secret in every file
	// (baselines written before per-location fingerprints hold these).
	SecretFingerprint string `json:"secret_fingerprint"`
}

// String renders the finding as one line of the text format, for example
// `value of prod/DB_PASSWORD in config/app.yaml:12:7 (base64) hunt… [3f2a…]`.
func (f Finding) String() string {
	var b strings.Builder
	if f.Key != "" {
		fmt.Fprintf(&b, "value of %s in %s:%d:%d", f.Key, f.File, f.Line, f.Column)
		if f.Form != "" && f.Form != "verbatim" {
			fmt.Fprintf(&b, " (%s)", f.Form)
		}
	} else {
		fmt.Fprintf(&b, "%s in %s:%d:%d", f.Rule, f.File, f.Line, f.Column)
	}
	fmt.Fprintf(&b, ": %s", f.Redacted)
	if f.Commit != "" {
		fmt.Fprintf(&b, " in commit %.12s", f.Commit)
		if f.Author != "" {
			fmt.Fprintf(&b, " by %s", f.Author)
		}
	}
	if f.Note != "" {
		fmt.Fprintf(&b, " (%s)", f.Note)
	}
	fmt.Fprintf(&b, " [%s]", f.Fingerprint)
	return b.String()
}

// redact keeps the first four characters of a secret; a secret of four
// characters or fewer is not shown at all.
func redact(secret string) string {
	n := 0
	for i := range secret {
		if n == 4 {
			return secret[:i] + "…"
		}
		n++
	}
	return "…"
}

// locate binds a secret's fingerprint to the file it was found in.
func locate(secretFP, file string) string {
	sum := sha256.Sum256([]byte("hush-scan/location/v1\x00" + secretFP + "\x00" + filepath.ToSlash(file)))
	return hex.EncodeToString(sum[:16])
}

// fingerprintIterations is the PBKDF2 work factor for secrets people choose.
// Tokens from the provider rules are random enough that a plain hash cannot
// be reversed; passwords are not, and a baseline file is often committed.
const fingerprintIterations = 4096

// fingerprint identifies secret under rule: SHA-256 for random tokens,
// PBKDF2-SHA-256 (salted by the rule) for secrets people choose. Results of
// the slow form are cached for the Scanner's lifetime.
func (s *Scanner) fingerprint(rule, secret string, slow bool) string {
	if !slow {
		sum := sha256.Sum256([]byte("hush-scan/v1\x00" + rule + "\x00" + secret))
		return hex.EncodeToString(sum[:16])
	}
	input := rule + "\x00" + secret
	if fp, ok := s.fps.Load(input); ok {
		return fp.(string)
	}
	key, err := pbkdf2.Key(sha256.New, secret, []byte("hush-scan/v1\x00"+rule), fingerprintIterations, 16)
	if err != nil {
		// Only a FIPS-140 mode refusing the parameters gets here; fall
		// back to the fast form rather than lose the finding.
		return s.fingerprint(rule, secret, false)
	}
	fp := hex.EncodeToString(key)
	s.fps.Store(input, fp)
	return fp
}
