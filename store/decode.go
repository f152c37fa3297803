package store

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeFast parses the documents hush itself writes, and any JSON close to
// them, without reflection: at 1,000 secrets encoding/json spends about
// 2.5 ms on a document this parser reads in a fraction of that, and every
// `hush get` and `hush run` pays it.
//
// It is a fast path, not a second definition of the format. It accepts
// only a strict subset of JSON whose meaning under encoding/json is plain —
// field names spelled exactly as Document and Secret declare them, each at
// most once, no null, no duplicate secret, simple escapes, valid UTF-8,
// versions as plain digits, no value encoding (a base64 value, which only
// documents with binary values hold, is left to Secret.UnmarshalJSON) —
// and reports ok=false on anything else, so
// DecodeDocument falls back to encoding/json, whose answer (document or
// error) stands. FuzzDecodeFast checks that whatever this accepts,
// encoding/json decodes to the same document.
//
// Strings are sliced from plain, so a document of n secrets costs a
// handful of allocations per secret, not one per field.
func decodeFast(plain string) (*Document, bool) {
	return decodeFastOnly(plain, "")
}

func decodeFastOnly(plain, want string) (*Document, bool) {
	d, _, ok := decodeFastNames(plain, want)
	return d, ok
}

// decodeFastNames is decodeFastOnly that also returns the names of the
// secrets in the order the document holds them: sorted, in a document
// hush wrote (encoding/json writes a map's keys in order), so a caller
// that lists them sorted has nothing left to sort.
func decodeFastNames(plain, want string) (*Document, []string, bool) {
	p := fastParser{s: plain, want: want}
	d, ok := p.document()
	if !ok {
		return nil, nil, false
	}
	p.ws()
	return d, p.names, p.i == len(p.s)
}

type fastParser struct {
	s string
	i int
	// want, when set, makes secrets keep only that one (decodeOne).
	want string
	// names are the secrets' names in document order (not for want).
	names []string
}

func (p *fastParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// eat skips whitespace and consumes c if it comes next.
func (p *fastParser) eat(c byte) bool {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object parses '{' (name ':' value (',' name ':' value)*)? '}', calling
// member after each ':' to parse the value. An empty object is fine.
func (p *fastParser) object(member func(name string) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	for {
		p.ws()
		name, ok := p.str()
		if !ok || !p.eat(':') {
			return false
		}
		p.ws()
		if !member(name) {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// fields is object for a struct: every member is one of known, at most
// once (encoding/json would let a repeated field override the first).
func (p *fastParser) fields(known []string, member func(name string) bool) bool {
	var seen uint32
	return p.object(func(name string) bool {
		i := slices.Index(known, name)
		if i < 0 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		return member(name)
	})
}

var (
	documentFields = []string{"version", "environment", "secrets", "lineage", "previous_lineage"}
	secretFields   = []string{"value", "type", "created", "updated", "rotated", "rotate_every", "note", "exposed", "compromised"}
	exposureFields = []string{"to", "since"}
)

func (p *fastParser) document() (*Document, bool) {
	d := &Document{}
	ok := p.fields(documentFields, func(name string) (ok bool) {
		switch name {
		case "version":
			d.Version, ok = p.version()
		case "environment":
			d.Environment, ok = p.str()
		case "lineage":
			d.Lineage, ok = p.str()
		case "previous_lineage":
			d.Previous, ok = p.str()
		case "secrets":
			d.Secrets, ok = p.secrets()
		}
		return ok
	})
	return d, ok
}

// decodeOne is decodeDocument for a caller that wants one secret (hush
// get): the whole document is parsed and checked, but only key is kept.
// ok is false when the fast path declines; the caller then decodes the
// whole document, whose answer (a document or an error) stands.
// It returns the document holding that one secret (or none).
func decodeOne(plain, env, key string) (d *Document, ok bool) {
	if key == "" {
		return nil, false
	}
	d, ok = decodeFastOnly(plain, key)
	if !ok || (d.Version != formatText && d.Version != FormatVersion) || d.Environment != env ||
		!validLineage(d.Lineage) || !validLineage(d.Previous) || d.Previous != "" && d.Lineage == "" {
		return nil, false
	}
	return d, true
}

// version reads a non-negative integer of at most nine digits, written as
// JSON writes integers (no sign, exponent, fraction or leading zero).
func (p *fastParser) version() (int, bool) {
	start := p.i
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 9 || (digits > 1 && p.s[start] == '0') {
		return 0, false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

func (p *fastParser) secrets() (map[string]*Secret, bool) {
	if p.want != "" {
		return p.wanted()
	}
	m := make(map[string]*Secret, p.estimateSecrets())
	p.names = make([]string, 0, p.estimateSecrets())
	// The secrets are carved from slabs of up to 256, not allocated one
	// by one: at 1,000 secrets, 4 allocations instead of 1,000.
	var slab []Secret
	ok := p.object(func(name string) bool {
		if _, dup := m[name]; dup {
			return false
		}
		if len(slab) == 0 {
			slab = make([]Secret, min(256, max(1, p.estimateSecrets())))
		}
		s := &slab[0]
		slab = slab[1:]
		m[name] = s
		p.names = append(p.names, name)
		return p.secret(s)
	})
	return m, ok
}

// wanted is secrets for decodeOne: every secret is parsed and checked as
// DecodeDocument checks it, into one scratch Secret, and only the wanted
// one is kept — no allocation per secret, which in a fresh process is
// mostly page faults. Anything DecodeDocument would report (a bad name or
// value), and a repeated wanted name (encoding/json keeps the last),
// declines, so the full decoder gives its answer.
func (p *fastParser) wanted() (map[string]*Secret, bool) {
	m := map[string]*Secret{}
	var scratch Secret
	ok := p.object(func(name string) bool {
		scratch = Secret{}
		if !p.secret(&scratch) || ValidKeyName(name) != nil || checkStored(&scratch, formatText) != nil {
			return false
		}
		if name == p.want {
			if _, dup := m[name]; dup {
				return false
			}
			s := scratch
			m[name] = &s
		}
		return true
	})
	return m, ok
}

// estimateSecrets sizes the map from the document's length: hush writes
// one secret per line of about 150 bytes, and a map that grows by
// doubling costs more than one a little too large.
func (p *fastParser) estimateSecrets() int {
	return (len(p.s) - p.i) / 128
}

func (p *fastParser) secret(s *Secret) bool {
	return p.fields(secretFields, func(name string) (ok bool) {
		switch name {
		case "value":
			var v string
			v, ok = p.str()
			s.Value = Value(v)
		case "type":
			s.Type, ok = p.str()
		case "created":
			ok = p.time(&s.Created)
		case "updated":
			ok = p.time(&s.Updated)
		case "rotated":
			ok = p.time(&s.Rotated)
		case "rotate_every":
			s.RotateEvery, ok = p.str()
		case "note":
			s.Note, ok = p.str()
		case "exposed":
			s.Exposed, ok = p.exposures()
		case "compromised":
			ok = p.time(&s.Compromised)
		}
		return ok
	})
}

func (p *fastParser) exposures() ([]Exposure, bool) {
	if !p.eat('[') {
		return nil, false
	}
	// encoding/json turns [] into an empty, non-nil slice.
	list := []Exposure{}
	if p.eat(']') {
		return list, true
	}
	for {
		var e Exposure
		ok := p.fields(exposureFields, func(name string) (ok bool) {
			switch name {
			case "to":
				e.To, ok = p.str()
			case "since":
				ok = p.time(&e.Since)
			}
			return ok
		})
		if !ok {
			return nil, false
		}
		list = append(list, e)
		if p.eat(',') {
			continue
		}
		return list, p.eat(']')
	}
}

// time hands the quoted string to time.Time's own UnmarshalJSON, exactly
// as encoding/json does, so both paths accept the same timestamps. Escapes
// are left to the slow path: UnmarshalJSON would see them unprocessed.
func (p *fastParser) time(t *time.Time) bool {
	start := p.i
	if _, ok := p.str(); !ok {
		return false
	}
	raw := p.s[start:p.i]
	if v, ok := utcSeconds(raw); ok {
		*t = v
		return true
	}
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] == '\\' {
			return false
		}
	}
	return t.UnmarshalJSON([]byte(raw)) == nil
}

// utcSeconds reads the one form hush writes, "YYYY-MM-DDTHH:MM:SSZ" in
// quotes, without time.Parse: a 1,000-secret store holds 3,000 of them.
// Anything else, or a date that does not exist, is left to UnmarshalJSON,
// whose verdict stands.
func utcSeconds(raw string) (time.Time, bool) {
	if len(raw) != 22 || raw[0] != '"' || raw[21] != '"' || raw[5] != '-' || raw[8] != '-' || raw[11] != 'T' ||
		raw[14] != ':' || raw[17] != ':' || raw[20] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range raw[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(1, 4)
	mo, ok2 := num(6, 2)
	d, ok3 := num(9, 2)
	h, ok4 := num(12, 2)
	mi, ok5 := num(15, 2)
	sec, ok6 := num(18, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	if y < 1970 {
		t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
		if t.Day() != d { // 31 February: normalised by Date, refused by Parse
			return time.Time{}, false
		}
		return t, true
	}
	// From 1970 on, the seconds since the epoch are counted here rather
	// than by time.Date (whose normalisation cost a 1,000-secret store
	// about 0.1 ms): the same instant, in UTC, and the same Time value.
	if d > daysIn(mo, y) { // 31 February: refused by Parse
		return time.Time{}, false
	}
	days := int64(daysBefore(y)) + int64(monthDays[mo-1]) + int64(d-1)
	if mo > 2 && leap(y) {
		days++
	}
	return time.Unix(days*86400+int64(h*3600+mi*60+sec), 0).UTC(), true
}

// monthDays are the days of a common year before each month.
var monthDays = [12]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(mo, y int) int {
	if mo == 2 && leap(y) {
		return 29
	}
	if mo == 12 {
		return 31
	}
	return monthDays[mo] - monthDays[mo-1]
}

// daysBefore is the days from 1970-01-01 to January 1 of year y >= 1970.
func daysBefore(y int) int {
	leaps := func(y int) int { return y/4 - y/100 + y/400 } // leap years in 1…y
	return 365*(y-1970) + leaps(y-1) - leaps(1969)
}

// str reads a JSON string. Strings without escapes are slices of the one
// copy of the document; escaped ones are built. Control characters, bad
// UTF-8 and \u escapes of surrogates (which encoding/json repairs or
// pairs) send the document to the slow path.
func (p *fastParser) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	p.i++
	start := p.i
	// Most strings are plain ASCII: find the closing quote, then check
	// that nothing before it needs the careful loop below.
	if q := strings.IndexByte(p.s[start:], '"'); q >= 0 {
		v := p.s[start : start+q]
		plain := true
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			p.i = start + q + 1
			return v, true
		}
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			return v, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			p.i += size
		}
	}
	return "", false
}

// escaped finishes a string that holds an escape, copying from start.
func (p *fastParser) escaped(start int) (string, bool) {
	buf := make([]byte, 0, p.i-start+16)
	buf = append(buf, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), true
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", false
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok || utf16Surrogate(r) {
					return "", false
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", false
			}
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			buf = append(buf, p.s[p.i:p.i+size]...)
			p.i += size
		}
	}
	return "", false
}

func (p *fastParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	p.i += 4
	return r, true
}

func utf16Surrogate(r rune) bool { return r >= 0xd800 && r < 0xe000 }
