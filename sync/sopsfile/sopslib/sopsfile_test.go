package sopslib

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getsops/sops/v3/keyservice"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

// TestDecryptMatchesSops encrypts each plaintext fixture with the real sops
// and checks every value hush reads against what sops decrypt --extract
// prints for the same path.
func TestDecryptMatchesSops(t *testing.T) {
	isolate(t)
	bin := sopsBin(t)
	key := newKey(t)
	cases := []struct {
		file  string
		names []string
		want  map[string]string // exact values of the tricky ones
	}{
		{"nested.yaml", []string{"API_KEY", "DATABASE_URL", "DB_CERT", "DB_CREATED", "DB_ENABLED", "DB_HEX", "DB_ON", "DB_PASSWORD", "DB_PORT",
			"DB_RATIO", "DB_USER_NAME", "HOSTS_0", "HOSTS_1", "HOSTS_2", "lower_case", "quoted", "spaces", "unicode"},
			map[string]string{"DB_PASSWORD": "p@ss #not-a-comment", "DB_RATIO": "1.5", "DB_HEX": "31", "DB_ON": "yes",
				"DB_CREATED": "2024-01-01T00:00:00Z", "DB_CERT": "-----BEGIN TEST-----\nline two\n", "API_KEY": "k-123",
				"HOSTS_2": "gamma.internal", "quoted": "single 'quoted' value", "spaces": "  padded  ", "DB_ENABLED": "true"}},
		{"app.json", []string{"STRIPE_KEY", "STRIPE_WEBHOOK_SECRET", "SERVERS_0_HOST", "SERVERS_0_PORT", "SERVERS_1_HOST", "SERVERS_1_PORT",
			"escaped", "flag", "float_exp", "price", "retries"},
			map[string]string{"escaped": "tab\there \"quoted\" \\ back\nnewline é", "retries": "3", "flag": "false"}},
		{"app.env", []string{"EMPTY", "EQUALS", "INLINE", "NEWLINE", "PLAIN", "QUOTED", "SINGLE", "SPACES"},
			map[string]string{"QUOTED": `"double quoted"`, "SINGLE": `'single quoted'`, "INLINE": "value # not a comment for sops",
				"EQUALS": "a=b=c", "NEWLINE": "first\nsecond", "EMPTY": "", "SPACES": "  padded  "}},
		{"app.ini", []string{"API_V2_TOKEN", "DATABASE_HOST", "DATABASE_PASSWORD", "TOP_LEVEL"},
			map[string]string{"TOP_LEVEL": "in the default section", "DATABASE_PASSWORD": "ini-pass"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			plain := readFile(t, filepath.Join(testdata, "plain", c.file))
			f := sopsfile.FormatForPath(c.file)
			typ := string(f)
			enc := runSops(t, bin, nil, plain, "encrypt", "--age", key.Recipient().String(), "--input-type", typ, "--output-type", typ, "/dev/stdin")
			got, err := Decrypt(enc, f, keysOf(key))
			if err != nil {
				t.Fatal(err)
			}
			if names := strings.Join(Names(got.Entries), " "); names != strings.Join(sorted(c.names), " ") {
				t.Errorf("names:\n got %s\nwant %s", names, strings.Join(sorted(c.names), " "))
			}
			for _, e := range got.Entries {
				out := string(runSops(t, bin, key, enc, "decrypt", "--extract", e.Path, "--input-type", typ, "--output-type", typ, "/dev/stdin"))
				// sops prints a string as it is and other scalars with a newline.
				if v := e.Value.Reveal(); v != out && v+"\n" != out {
					t.Errorf("%s (%s): hush %q, sops %q", e.Name, e.Path, v, out)
				}
				if w, ok := c.want[e.Name]; ok && w != e.Value.Reveal() {
					t.Errorf("%s: got %q, want %q", e.Name, e.Value.Reveal(), w)
				}
			}
			if f, ok := Detect(enc, ""); !ok || f != sopsfile.FormatForPath(c.file) {
				t.Errorf("Detect = %s, %v", f, ok)
			}
			if _, ok := Detect(plain, sopsfile.FormatForPath(c.file)); ok {
				t.Error("the plaintext file was detected as SOPS")
			}
		})
	}
}

// TestCommittedFixture needs no sops binary: the file was made by sops
// 3.13.3 for the TEST ONLY key beside it.
func TestCommittedFixture(t *testing.T) {
	isolate(t)
	for _, name := range []string{"nested.enc.yaml", "app.enc.env"} {
		data := readFile(t, filepath.Join(testdata, name))
		f, ok := Detect(data, sopsfile.FormatForPath(strings.Replace(name, ".enc", "", 1)))
		if !ok {
			t.Fatalf("%s: not detected", name)
		}
		got, err := Decrypt(data, f, keysOf(testKey(t)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got.Entries) < 8 || len(got.Plaintext) != 0 {
			t.Errorf("%s: %d entries, plaintext %v", name, len(got.Entries), got.Plaintext)
		}
		_, err = Decrypt(data, f, keysOf(newKey(t)))
		if !errors.Is(err, store.ErrNoIdentity) {
			t.Errorf("%s with another key: %v, want ErrNoIdentity", name, err)
		}
	}
}

func TestTampered(t *testing.T) {
	isolate(t)
	data := string(readFile(t, filepath.Join(testdata, "nested.enc.yaml")))
	key := testKey(t)
	encValue := regexp.MustCompile(`password: ENC\[AES256_GCM,data:([A-Za-z0-9+/]{4})`)
	cases := map[string]string{
		"value": encValue.ReplaceAllStringFunc(data, func(s string) string {
			return s[:len(s)-4] + flip(s[len(s)-4:])
		}),
		"mac":          regexp.MustCompile(`(mac: ENC\[AES256_GCM,data:)(.)`).ReplaceAllStringFunc(data, func(s string) string { return s[:len(s)-1] + flip(s[len(s)-1:]) }),
		"lastmodified": regexp.MustCompile(`lastmodified: "\d{4}`).ReplaceAllString(data, `lastmodified: "2001`),
		"added key":    strings.Replace(data, "sops:\n", "EXTRA_unencrypted: injected\nsops:\n", 1),
		"removed key":  regexp.MustCompile(`(?m)^DATABASE_URL: .*\n`).ReplaceAllString(data, ""),
		"data key":     regexp.MustCompile(`(?m)^(\s+)(YWdl\S{10})`).ReplaceAllStringFunc(data, func(s string) string { return s[:len(s)-3] + flip(s[len(s)-3:]) }),
		"no mac":       regexp.MustCompile(`(?m)^    mac: .*\n`).ReplaceAllString(data, ""),
	}
	for name, tampered := range cases {
		t.Run(name, func(t *testing.T) {
			if tampered == data {
				t.Fatal("the test did not change the file")
			}
			got, err := Decrypt([]byte(tampered), YAML, keysOf(key))
			if !errors.Is(err, store.ErrIntegrity) {
				t.Fatalf("err = %v, want ErrIntegrity", err)
			}
			t.Log(err)
			if got != nil {
				t.Fatal("values returned with the error")
			}
			for _, secret := range []string{"p@ss", "postgres://", "k-123"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes a value", err)
				}
			}
		})
	}
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestEncryptRoundTrip(t *testing.T) {
	isolate(t)
	key, other := newKey(t), newKey(t)
	secrets := []Secret{{Name: "DB_PASSWORD", Value: "p@ss: #x"}, {Name: "MULTI", Value: "a\nb\r\nc"}, {Name: "QUOTES", Value: `"'` + "`"}, {Name: "EMPTY", Value: ""},
		{Name: "lower", Value: "yes"}, {Name: "NUM", Value: "007"}, {Name: "UNICODE", Value: "héllo ✓"}, {Name: "TRAIL", Value: "x\n"}}
	for _, f := range []Format{YAML, JSON, Dotenv} {
		t.Run(string(f), func(t *testing.T) {
			rcpts := []Recipient{{Key: key.Recipient().String(), Label: "me"}, {Key: other.Recipient().String(), Label: "ci"}}
			out, err := Encrypt(secrets, f, rcpts, time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte("p@ss")) {
				t.Fatal("plaintext value in the encrypted file")
			}
			if got, ok := Detect(out, ""); !ok || got != f {
				t.Fatalf("Detect = %s %v", got, ok)
			}
			for _, id := range []Keys{keysOf(key), keysOf(other)} {
				file, err := Decrypt(out, f, id)
				if err != nil {
					t.Fatal(err)
				}
				if len(file.Entries) != len(secrets) {
					t.Fatalf("%d entries, want %d", len(file.Entries), len(secrets))
				}
				for i, e := range file.Entries {
					if e.Name != secrets[i].Name || e.Value != secrets[i].Value {
						t.Errorf("entry %d: %s=%q, want %s=%q", i, e.Name, e.Value.Reveal(), secrets[i].Name, secrets[i].Value.Reveal())
					}
				}
			}
		})
	}
}

func TestEncryptRefuses(t *testing.T) {
	key := newKey(t)
	rcpts := []Recipient{{Key: key.Recipient().String(), Label: "me"}}
	cases := []struct {
		f       Format
		secrets []Secret
		rcpts   []Recipient
		want    string
	}{
		{YAML, []Secret{{Name: "TOKEN_unencrypted", Value: "v"}}, rcpts, "TOKEN_unencrypted: sops leaves keys ending in _unencrypted"},
		{Dotenv, []Secret{{Name: "sops_x", Value: "v"}}, rcpts, "sops_x: sops reserves names starting with sops_"},
		{JSON, []Secret{{Name: "sops", Value: "v"}}, rcpts, "sops: sops reserves"},
		{Dotenv, []Secret{{Name: "PATHS", Value: `C:\new`}}, rcpts, `PATHS: its value holds a backslash followed by n`},
		{YAML, []Secret{{Name: "A", Value: "v"}}, []Recipient{{Key: "age1notakey", Label: "bob"}}, "recipient bob: sops cannot encrypt"},
		{YAML, []Secret{{Name: "A", Value: "v"}}, nil, "no recipients"},
		{INI, []Secret{{Name: "A", Value: "v"}}, rcpts, "yaml, json or dotenv"},
	}
	for _, c := range cases {
		_, err := Encrypt(c.secrets, c.f, c.rcpts, time.Now())
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s %v: err = %v, want %q", c.f, c.secrets[0].Name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), `C:\new`) {
			t.Errorf("error quotes the value: %v", err)
		}
	}
}

// TestExportReadBySops checks that the real sops decrypts hush's files to
// the same values.
func TestExportReadBySops(t *testing.T) {
	isolate(t)
	bin := sopsBin(t)
	key := newKey(t)
	secrets := []Secret{{Name: "DB_PASSWORD", Value: "p@ss: #x"}, {Name: "MULTI", Value: "a\nb"}, {Name: "QUOTES", Value: `"'`}, {Name: "NUM", Value: "007"}, {Name: "BOOLISH", Value: "yes"}}
	for _, f := range []Format{YAML, JSON, Dotenv} {
		out, err := Encrypt(secrets, f, []Recipient{{Key: key.Recipient().String(), Label: "me"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			got := runSops(t, bin, key, out, "decrypt", "--extract", `["`+s.Name+`"]`, "--input-type", string(f), "--output-type", string(f), "/dev/stdin")
			if string(got) != s.Value.Reveal() {
				t.Errorf("%s %s: sops gives %q, want %q", f, s.Name, got, s.Value.Reveal())
			}
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// FuzzDecrypt feeds damaged SOPS files to the decryption hush-sops runs: no
// panic, and either every value with a verified MAC or a classified error
// and none.
func FuzzDecrypt(f *testing.F) {
	for _, name := range []string{"nested.enc.yaml", "app.enc.env"} {
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{\"sops\": {}}"))
	f.Add([]byte("[sops]\nmac = x\n"))
	// A mutated file can name KMS, Vault or PGP keys: sops' own key
	// sources would go to the network or run gpg. Only the identity here.
	prev := sopsSources
	sopsSources = func() []keyservice.KeyServiceClient { return nil }
	f.Cleanup(func() { sopsSources = prev })
	f.Add([]byte("A=ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:bytes]\nsops_version=3.13.3\n"))
	f.Add([]byte("A=1\nsops_lastmodifi=2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// What hush recognises as SOPS (Candidates) decrypts whole or is a
		// classified error; it is never sent back to the plain parsers.
		formats := sopsfile.Candidates(data, "")
		if len(formats) == 0 {
			return
		}
		file, err := Lib{}.Decrypt(data, formats, keysOf(testKey(t)))
		if err != nil {
			if file != nil {
				t.Fatal("entries returned with an error")
			}
			if !errors.Is(err, store.ErrIntegrity) && !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrNoIdentity) {
				t.Fatalf("unclassified error: %v", err)
			}
		}
	})
}
