package scan

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// b64 is standard base64, for writing Secrets' data.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestKubernetesSecret: data: values are judged decoded, stringData: values
// as written, and only in a document of kind Secret. Every value is fake.
func TestKubernetesSecret(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	doc := func(kind, section string, entries ...string) string {
		return "apiVersion: v1\nkind: " + kind + "\nmetadata:\n  name: app\ntype: Opaque\n" + section + ":\n  " +
			strings.Join(entries, "\n  ") + "\n"
	}
	rawKey := string([]byte{0x9c, 0x01, 0xf3, 0x5e, 0x77, 0xa0, 0x12, 0xcd, 0x88, 0x3b, 0x4f, 0xe1, 0x06, 0xba, 0x59, 0x2d, 0xc4, 0x70})
	cases := []struct {
		name, file, text string
		want             int // findings of kubernetes-secret-data
	}{
		{"password", "secret.yaml", doc("Secret", "data", "password: "+b64("Tr0ub4dor3xK9q")), 1},
		{"any name", "secret.yaml", doc("Secret", "data", "widget: "+b64("kQ8jdXmpQwLzRtNbVcHs3Fd")), 1},
		{"provider token", "secret.yaml", doc("Secret", "data", "GH: "+b64("ghp_"+strings.Repeat("kQ8jdXmp3", 4))), 1},
		{"binary key", "secret.yaml", doc("Secret", "data", "aes.key: "+b64(rawKey)), 1},
		{"pem", "secret.yaml", doc("Secret", "data", "tls.key: "+b64(fakeToken(t, "private-key-rsa", 3))), 1},
		{"database url", "secret.yaml", doc("Secret", "data", "DATABASE_URL: "+b64("postgres://app:kQ8jdXmpQw3L@db:5432/app")), 1},
		{"quoted", "secret.json.yaml", doc(`"Secret"`, "data", `"api-key": "`+b64("kQ8jdXmpQwLzRtNbVcHs3Fd")+`"`), 1},
		{"several", "s.yml", doc("Secret", "data", "user: "+b64("deploy"), "pass: "+b64("Zt5nQ2vK8mW3xB7c"),
			"key: "+b64("Hx7Lp2Qw9Ks4Vb6NmRt3")), 2},
		{"stringData", "secret.yaml", doc("Secret", "stringData", "widget: kQ8jdXmpQwLzRtNbVcHs3Fd"), 1},
		// kubectl writes data before kind.
		{"kind after", "secret.yaml", "apiVersion: v1\ndata:\n  password: " + b64("Tr0ub4dor3xK9q") + "\nkind: Secret\nmetadata:\n  name: db\n", 1},
		{"list", "list.yaml", "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Secret\n  data:\n    token: " + b64("Zt5nQ2vK8mW3xB7c") + "\nkind: List\n", 1},
		{"not a secret", "cm.yaml", doc("ConfigMap", "data", "widget: "+b64("kQ8jdXmpQwLzRtNbVcHs3Fd")), 0},
		{"other document", "two.yaml", "kind: Secret\n---\n" + doc("ConfigMap", "data", "widget: "+b64("kQ8jdXmpQwLzRtNbVcHs3Fd")), 0},
		{"public halves", "secret.yaml", doc("Secret", "data", "username: "+b64("deploy-bot-7"), "host: "+b64("db7.internal"),
			"port: "+b64("5432"), "ca.crt: "+b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")), 0},
		{"stand-ins", "secret.yaml", doc("Secret", "data", "password: "+b64("password"), "token: "+b64("changeme"),
			"api-key: "+b64("your-api-key-here"), "secret: "+b64("xxxxxxxxxxxxxxxx")), 0},
		{"not base64", "secret.yaml", doc("Secret", "data", "widget: kQ8jdXmp!QwLzRtNbVcHs3Fd"), 0},
		{"template", "secret.yaml", doc("Secret", "stringData", "widget: ${WIDGET_TOKEN}", "other: {{ .Values.token }}"), 0},
		{"metadata", "secret.yaml", "kind: Secret\nmetadata:\n  labels:\n    app: kQ8jdXmpQwLzRtNbVcHs3Fd\n", 0},
		// kubectl get secret -o json.
		{"json", "secret.json", "{\n  \"apiVersion\": \"v1\",\n  \"data\": {\n    \"widget\": \"" + b64("kQ8jdXmpQwLzRtNbVcHs3Fd") +
			"\",\n    \"user\": \"" + b64("deploy") + "\",\n    \"pass\": \"" + b64("Zt5nQ2vK8mW3xB7c") + "\"\n  },\n  \"kind\": \"Secret\"\n}\n", 2},
		{"json stringData", "s.json", `{"kind":"Secret","stringData":{"widget":"kQ8jdXmpQwLzRtNbVcHs3Fd"}}` + "\n", 1},
		{"json configmap", "cm.json", `{"kind":"ConfigMap","data":{"widget":"` + b64("kQ8jdXmpQwLzRtNbVcHs3Fd") + `"}}` + "\n", 0},
		{"json api", "r.json", `{"status":"ok","data":{"widget":"` + b64("kQ8jdXmpQwLzRtNbVcHs3Fd") + `"}}` + "\n", 0},
	}
	for _, c := range cases {
		fs := scanNamed(t, s, c.file, c.text)
		n, other := 0, 0
		for _, f := range fs {
			if strings.HasPrefix(f.Rule, "kubernetes-secret-data") {
				n++
			} else {
				other++
			}
		}
		if n != c.want {
			t.Errorf("%s: %d findings of kubernetes-secret-data, want %d (%v):\n%s", c.name, n, c.want, fs, c.text)
		}
		// Another rule may find a secret where this one cannot (a
		// stringData PEM block), never a stand-in this one rejected.
		if c.want == 0 && other > 0 && c.name != "not a secret" {
			t.Errorf("%s: other rules found %v", c.name, fs)
		}
	}
}

// fakePFX is the head of a PKCS #12 file (SEQUENCE, version 3, SEQUENCE,
// OID pkcs7-data) and random bytes; NULs make it binary.
func fakePFX(seed uint64, oidLast byte) []byte {
	r := rand.New(rand.NewPCG(seed, 12))
	der := []byte{0x30, 0x82, 0x04, 0x00, 0x02, 0x01, 0x03, 0x30, 0x82, 0x03, 0x00,
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, oidLast, 0xa0, 0x82, 0x00, 0x00}
	for len(der) < 1024 {
		der = append(der, byte(r.IntN(256)))
	}
	return der
}

// TestPKCS12: a key store is a finding whether binary (by its header or
// its name) or base64 in a text file; other binaries and lookalike headers
// are not.
func TestPKCS12(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	notPFX := fakePFX(2, 0x01)
	notPFX[6] = 0x01 // version 1: a PKCS #7 or other DER structure
	cases := []struct {
		name, file string
		data       []byte
		want       bool
	}{
		{"p12 by header", "keys/client.p12", fakePFX(1, 0x01), true},
		{"pfx, signed data", "site.pfx", fakePFX(3, 0x02), true},
		{"renamed", "backup.bin", fakePFX(4, 0x01), true},
		{"by name", "old.PFX", []byte("\x00\x00binary of some older tool"), true},
		{"base64 text", "values.yaml", []byte("keystore: " + base64.StdEncoding.EncodeToString(fakePFX(5, 0x01)) + "\n"), true},
		{"other DER", "cert.der", notPFX, false},
		{"other binary", "logo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), false},
		{"base64 other DER", "a.txt", []byte(base64.StdEncoding.EncodeToString(notPFX) + "\n"), false},
		{"git-lfs pointer", "store.p12", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 2543\n"), false},
	}
	for _, c := range cases {
		fs, err := s.ScanReader(context.Background(), c.file, strings.NewReader(string(c.data)))
		if err != nil {
			t.Fatal(err)
		}
		if got := hasRule(fs, "pkcs12-keystore"); got != c.want {
			t.Errorf("%s: found %v (%v), want %v", c.name, got, fs, c.want)
		}
		for _, f := range fs {
			if strings.ContainsRune(f.Redacted, 0) || strings.ContainsRune(f.Redacted, 0x82) {
				t.Errorf("%s: binary in the report: %q", c.name, f.Redacted)
			}
		}
	}
	// Disabled by the allowlist, binaries are skipped again.
	s2 := newTestScanner(t, Config{Allow: Allowlist{Rules: []string{"pkcs12-keystore"}}})
	if fs, _ := s2.ScanReader(context.Background(), "a.p12", strings.NewReader(string(fakePFX(1, 1)))); len(fs) != 0 {
		t.Errorf("allowlisted rule still reports: %v", fs)
	}
}

// TestStagedPKCS12: git does not diff binaries; a staged .p12 is a finding
// by its name.
func TestStagedPKCS12(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	writeFile(t, dir+"/certs/client.p12", string(fakePFX(9, 1)))
	writeFile(t, dir+"/logo.bin", "\x00\x01\x02")
	runGit(t, dir, "add", ".")
	fs, err := newTestScanner(t, Config{}).ScanStaged(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Rule != "pkcs12-keystore" || fs[0].File != "certs/client.p12" {
		t.Errorf("got %v, want one pkcs12-keystore finding in certs/client.p12", fs)
	}
}

// TestPublicSampleKeys: Google's documented sample keys are not findings;
// any other AIza key is (Firebase web keys are public by design, but the
// same format carries Maps, Gemini and other billable keys, which the value
// cannot tell apart).
func TestPublicSampleKeys(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	cases := []struct {
		text string
		want bool
	}{
		{`  apiKey: "AIzaSyDOCAbC123dEf456GhI789jKl01-MnO",`, false},
		{`  apiKey: "AIzaSyDOCAbC123dEf456GhI789jKl012-MnO",`, false},
		{`FIREBASE_API_KEY=AIzaSyDOCAbC123dEf456GhI789jKl01-MnO`, false},
		{`const key = "AIzaSyAbC123dEf456GhI789jKlMnOpQrStUv";`, false}, // the same typed sequence
		{`  apiKey: "AIzaSyB7kQ8jdXmpQwLzRtNbVcHsFd3Ga7Pe2Ky",`, true},
		{`GEMINI_API_KEY=AIzaSyC2Hx7Lp2Qw9Ks4Vb6NmRt3Zy8WcJ5dFg1`, true},
	}
	for _, c := range cases {
		fs := scanNamed(t, s, "firebase.js", c.text+"\n")
		if got := len(fs) > 0; got != c.want {
			t.Errorf("%q: found %v (%v), want %v", c.text, got, fs, c.want)
		}
	}
}
