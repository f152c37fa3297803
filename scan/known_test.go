package scan

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// TestKnownValueForms finds a known value verbatim, in base64 (both
// alphabets, at every alignment inside a longer encoded stream), URL-encoded
// and hex (either case), and names its key.
func TestKnownValueForms(t *testing.T) {
	t.Parallel()
	value := "p@ss/w0rd+?~Long>value"
	s := newTestScanner(t, Config{Known: map[string]string{"prod/DB_PASSWORD": value, "dev/SHORT": "1234567"}})
	cases := map[string]struct{ text, form string }{
		"verbatim":       {"db: " + value, "verbatim"},
		"base64 alone":   {"v: " + base64.StdEncoding.EncodeToString([]byte(value)), "base64"},
		"base64 raw url": {"v: " + base64.RawURLEncoding.EncodeToString([]byte(value)), "base64url"},
		"query":          {"?pw=" + url.QueryEscape(value), "url"},
		"path":           {"/p/" + url.PathEscape(value), "url"},
		"hex":            {"h=" + hex.EncodeToString([]byte(value)), "hex"},
		"HEX":            {"h=" + strings.ToUpper(hex.EncodeToString([]byte(value))), "hex"},
	}
	for skip := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			stream := enc.EncodeToString([]byte(strings.Repeat("Z", skip) + value + "tail bytes"))
			cases["base64 embedded "+string(rune('0'+skip))+enc.EncodeToString([]byte{0xfb})] = struct{ text, form string }{"blob " + stream, ""}
		}
	}
	for name, c := range cases {
		fs := scanString(t, s, c.text+"\n")
		if len(fs) != 1 {
			t.Errorf("%s: %d findings, want 1: %v", name, len(fs), fs)
			continue
		}
		f := fs[0]
		if f.Rule != knownValueRule || f.Key != "prod/DB_PASSWORD" || c.form != "" && f.Form != c.form {
			t.Errorf("%s: got %+v", name, f)
		}
		if !strings.HasPrefix(f.String(), "value of prod/DB_PASSWORD in fixture.txt:1:") {
			t.Errorf("%s: text %q", name, f.String())
		}
		assertNoSecret(t, f.String(), value)
	}
	if fs := scanString(t, s, "pin 1234567\n"); len(fs) != 0 {
		t.Errorf("a value under %d characters was searched for: %v", MinKnownLength, fs)
	}
}

// TestKnownFingerprintStable: every form of one value shares a fingerprint,
// which differs between keys and hides the value.
func TestKnownFingerprintStable(t *testing.T) {
	t.Parallel()
	value := "Tr0ub4dor&3-horse"
	s := newTestScanner(t, Config{Known: map[string]string{"a/K": value, "b/K": "another-value-99"}})
	fs := scanString(t, s, value+"\n"+hex.EncodeToString([]byte(value))+"\nanother-value-99\n")
	if len(fs) != 3 {
		t.Fatalf("got %v", fs)
	}
	if fs[0].Fingerprint != fs[1].Fingerprint || fs[0].Fingerprint == fs[2].Fingerprint {
		t.Errorf("fingerprints %s %s %s", fs[0].Fingerprint, fs[1].Fingerprint, fs[2].Fingerprint)
	}
	if strings.Contains(fs[0].Fingerprint, hex.EncodeToString([]byte(value))[:8]) {
		t.Errorf("fingerprint shows the value")
	}
}

// TestBase64Core checks the alignment arithmetic against a brute force.
func TestBase64Core(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"12345678", "123456789", "1234567890", "a longer value with spaces"} {
		for skip := range 3 {
			core := base64Core(base64.StdEncoding, v, skip)
			for pre := range 5 {
				for post := range 4 {
					if (pre-skip)%3 != 0 {
						continue
					}
					full := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xff", pre) + v + strings.Repeat("\x01", post)))
					if !strings.Contains(full, core) {
						t.Errorf("%q skip %d: core %q not in %q", v, skip, core, full)
					}
				}
			}
		}
	}
}
