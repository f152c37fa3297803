package scan

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"unicode/utf8"
)

// MinKnownLength is the shortest known value searched for, in characters:
// shorter values (a port, "true") would match everywhere.
const MinKnownLength = 8

// maxKnownLength bounds a known value so that its longest encoded form fits
// the look-ahead of a streamed read.
const maxKnownLength = 64 << 10

// knownPrefix is how many leading bytes of each form go into the prefilter
// (8, MinKnownLength: the DFA grows with it, and 3,000 values at 12 took
// 240 ms to compile, at 8 under 70);
// the rest is compared at the hit. It keeps the automaton small however long
// the values are.
const knownPrefix = 8

// knownForm is one encoding of one known value to look for.
type knownForm struct {
	key  string // the caller's name for the value: "prod/DB_PASSWORD"
	form string // verbatim, base64, base64url, url or hex
	text string // the bytes to find
	fold bool   // compare ASCII case-insensitively (hex digits)
	// value is the secret itself, kept only to fingerprint findings.
	value string
}

// knownForms expands each value of 8 characters or more into the forms it is
// searched in. Values shorter than MinKnownLength are skipped: see its doc.
func knownForms(known map[string]string) ([]knownForm, error) {
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var forms []knownForm
	for _, k := range keys {
		v := known[k]
		if utf8.RuneCountInString(v) < MinKnownLength {
			continue
		}
		if len(v) > maxKnownLength {
			return nil, fmt.Errorf("scan: known value %s is longer than %d bytes", k, maxKnownLength)
		}
		first := len(forms) // this value's forms start here: duplicates can only be among them
		add := func(form, text string, fold bool) {
			for _, f := range forms[first:] {
				if f.text == text {
					return
				}
			}
			forms = append(forms, knownForm{key: k, form: form, text: text, fold: fold, value: v})
		}
		add("verbatim", v, false)
		for skip := 0; skip < 3; skip++ {
			add("base64", base64Core(base64.StdEncoding, v, skip), false)
			add("base64url", base64Core(base64.URLEncoding, v, skip), false)
		}
		if q := url.QueryEscape(v); q != v {
			add("url", q, false)
		}
		if p := url.PathEscape(v); p != v {
			add("url", p, false)
		}
		add("hex", hex.EncodeToString([]byte(v)), true)
	}
	return forms, nil
}

// base64Core returns the part of the base64 encoding of v that is the same
// wherever v starts inside a longer encoded stream, when v starts skip bytes
// (0, 1 or 2) after a 3-byte boundary: the characters that depend on
// neighbouring bytes are cut from both ends.
func base64Core(enc *base64.Encoding, v string, skip int) string {
	buf := make([]byte, skip+len(v))
	copy(buf[skip:], v)
	s := enc.EncodeToString(buf)
	n := len(buf)
	// Characters wholly determined by buf: 4 per full group, then for a
	// trailing 1 or 2 bytes, 1 or 2 more (the next would mix in the byte
	// that follows in the stream).
	end := n/3*4 + n%3
	// The first skip bytes are not v's: their characters, and the one that
	// mixes them with v, go (skip 1 → 2 chars, skip 2 → 3 chars).
	start := 0
	if skip > 0 {
		start = skip + 1
	}
	return s[start:end]
}
