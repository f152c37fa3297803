package store

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"
)

// FuzzDecodeFast: whatever the fast path accepts, encoding/json decodes to
// the same document. (What it declines goes to encoding/json anyway.)
func FuzzDecodeFast(f *testing.F) {
	for _, seed := range []string{
		`{"version":1,"environment":"dev","secrets":{"A":{"value":"x","type":"api-key","rotate_every":"30d"}}}`,
		`{"version":1,"environment":"dev","secrets":{}}`,
		` { "version" : 12 , "environment" : "d\u00e9v\n" , "secrets" : { } } ` + "\n",
		`{"version":1,"environment":"dev","secrets":{"A":{"value":"a\"b\\c\/d\b\f\n\r\t\u0041\u00ff"}}}`,
		`{"version":1,"environment":"dev","secrets":{"A":{"value":"x","exposed":[{"to":"b","since":"2026-01-01T00:00:00Z"}],"compromised":"2026-02-01T00:00:00.5+01:00"}}}`,
		`{"version":1,"environment":"dev","secrets":{"A":{"value":"x","exposed":[]}}}`,
		`{"version":1,"environment":"dev","secrets":{"A":{"value":"x"},"A":{"value":"y"}}}`,
		`{"version":1,"Version":2}`,
		`{"version":01}`,
		`{"version":1e0}`,
		`{"version":-1}`,
		`{"secrets":null}`,
		`{"secrets":{"A":null}}`,
		`{"secrets":{"A":{"created":"2026-01-01T00:00:00\u005a"}}}`,
		`{"secrets":{"A":{"value":"\ud83d\ude00"}}}`,
		`{"secrets":{"A":{"note":"\xff"}}}`,
		`{"environment":"dev"}x`,
		`{"unknown":1}`,
		`{"version":2,"environment":"dev","secrets":{"A":{"value":"/wD+","encoding":"base64"}}}`,
		`{"version":2,"environment":"dev","secrets":{"A":{"value":"x","Encoding":""}}}`,
		`{"version":2,"environment":"dev","secrets":{"A":{"value":"eA==","encoding":"base64","value":"eQ=="}}}`,
		`{"version":2,"environment":"dev","secrets":{"A":{"VALUE":"x"}}}`,
	} {
		f.Add([]byte(seed))
	}
	plain, _ := benchDoc(3).Encode()
	f.Add(plain)
	f.Fuzz(func(t *testing.T, in []byte) {
		fast, ok := decodeFast(string(in))
		if !ok {
			return
		}
		var slow Document
		if err := json.Unmarshal(in, &slow); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, in)
		}
		if !reflect.DeepEqual(fast, &slow) {
			t.Fatalf("fast path and encoding/json differ on %q:\nfast %#v\njson %#v", in, fast, &slow)
		}
	})
}

// The fast path must take what hush writes, or it speeds nothing up.
func TestDecodeFastTakesHushOutput(t *testing.T) {
	d := benchDoc(50)
	d.Secrets["KEY_00001"].Note = "a note with \"quotes\", a tab\t, é and \u2028"
	d.Secrets["KEY_00002"].Value = "line1\nline2\\"
	d.Secrets["KEY_00003"].Exposed = []Exposure{{To: "bob", Since: d.Secrets["KEY_00003"].Created}}
	d.Secrets["KEY_00004"].Compromised = d.Secrets["KEY_00004"].Created
	plain, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := decodeFast(string(plain))
	if !ok {
		t.Fatalf("fast path declined hush's own encoding:\n%s", plain)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("fast path decoded a different document")
	}
}

// The hand-written name checks accept exactly what the documented
// grammars (as regular expressions) accept.
func FuzzNameGrammars(f *testing.F) {
	for _, s := range []string{"", "a", "A_1", "_x", "1a", "dev", "dev-1", "-x", "a.b", "é", "a b", "prod_eu"} {
		f.Add(s)
	}
	env := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	key := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	project := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := matches(s, envFirst, envRest), env.MatchString(s); got != want {
			t.Errorf("environment name %q: %v, grammar says %v", s, got, want)
		}
		if got, want := matches(s, keyFirst, keyRest), key.MatchString(s); got != want {
			t.Errorf("key name %q: %v, grammar says %v", s, got, want)
		}
		if got, want := matches(s, projectFirst, projectRest), project.MatchString(s); got != want {
			t.Errorf("project name %q: %v, grammar says %v", s, got, want)
		}
	})
}

// FuzzDecodeOne: whatever single secret decodeOne returns, the whole
// document decodes (DecodeDocument accepts it) and holds exactly that
// secret under the key, or none.
func FuzzDecodeOne(f *testing.F) {
	plain, _ := benchDoc(3).Encode()
	f.Add(plain, "KEY_00001")
	f.Add(plain, "MISSING")
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"A":{"value":"x"},"A":{"value":"y"}}}`), "A")
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"A":{"value":"x"},"B":{"value":"\u0000"}}}`), "A")
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"1A":{"value":"x"},"B":{"value":"y"}}}`), "B")
	f.Add([]byte(`{"version":2,"environment":"dev","secrets":{"A":{"value":"x"}}}`), "A")
	f.Add([]byte(`{"version":1,"environment":"prod","secrets":{"A":{"value":"x"}}}`), "A")
	f.Fuzz(func(t *testing.T, in []byte, key string) {
		one, ok := decodeOne(string(in), "dev", key)
		if !ok {
			return
		}
		sec := one.Secrets[key]
		d, err := DecodeDocument(in, "dev")
		if err != nil {
			t.Fatalf("decodeOne took a secret from a document DecodeDocument refuses (%v): %q", err, in)
		}
		if one.Lineage != d.Lineage || one.Previous != d.Previous {
			t.Fatalf("decodeOne's lineage %q/%q, the document's %q/%q", one.Lineage, one.Previous, d.Lineage, d.Previous)
		}
		if !reflect.DeepEqual(sec, d.Secrets[key]) {
			t.Fatalf("decodeOne(%q) = %#v, the document holds %#v", key, sec, d.Secrets[key])
		}
	})
}

func TestDecodeOneTakesHushOutput(t *testing.T) {
	d := benchDoc(20)
	plain, _ := d.Encode()
	for _, key := range []string{"KEY_00000", "KEY_00019", "KEY_99999"} {
		one, ok := decodeOne(string(plain), "dev", key)
		if !ok {
			t.Fatalf("decodeOne declined hush's own encoding for %s", key)
		}
		sec := one.Secrets[key]
		if !reflect.DeepEqual(sec, d.Secrets[key]) {
			t.Fatalf("decodeOne(%s) = %#v, want %#v", key, sec, d.Secrets[key])
		}
	}
}

// TestUTCSecondsAgreesWithParse: the fast reader of hush's timestamps
// gives what encoding/json gives, and declines whatever it would not.
func TestUTCSecondsAgreesWithParse(t *testing.T) {
	for _, raw := range []string{
		`"2026-01-02T03:04:05Z"`, `"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59Z"`, `"2024-02-29T12:00:00Z"`,
		`"2023-02-29T12:00:00Z"`, `"2026-13-01T00:00:00Z"`, `"2026-00-01T00:00:00Z"`, `"2026-01-00T00:00:00Z"`,
		`"2026-01-02T24:00:00Z"`, `"2026-01-02T03:60:00Z"`, `"2026-01-02T03:04:60Z"`, `"2026-04-31T00:00:00Z"`,
		`"2026-01-02T03:04:05+00:00"`, `"2026-01-02T03:04:05.5Z"`, `"2026-01-02 03:04:05Z"`, `"2026-01-0aT03:04:05Z"`,
		`"+026-01-02T03:04:05Z"`, `"2026-01-02T03:04:05z"`,
	} {
		var want time.Time
		werr := want.UnmarshalJSON([]byte(raw))
		got, ok := utcSeconds(raw)
		switch {
		case ok && werr != nil:
			t.Errorf("%s: fast reader accepts what Parse refuses (%v)", raw, werr)
		case ok && (!got.Equal(want) || got.Location() != want.Location()):
			t.Errorf("%s: fast %v, Parse %v", raw, got, want)
		}
		var viaParser time.Time
		p := &fastParser{s: raw}
		if p.time(&viaParser) != (werr == nil) || werr == nil && !viaParser.Equal(want) {
			t.Errorf("%s: parser gives %v, Parse %v (%v)", raw, viaParser, want, werr)
		}
	}
}
