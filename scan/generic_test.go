package scan

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// scanNamed scans text as the file name.
func scanNamed(t *testing.T, s *Scanner, name, text string) []Finding {
	t.Helper()
	fs, err := s.ScanReader(context.Background(), name, strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestGenericClasses: the generic rule on the forms of issue 17, each
// class with the lookalikes it must leave alone. Every value is fake.
func TestGenericClasses(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	cases := []struct {
		class, file, text string
		want              bool
	}{
		// 1. unquoted values in config files and on assignment lines.
		{"bare", ".env", "API_KEY=kq8Jd7Xm2pQ9wL4zR", true},
		{"bare", "app.sh", "export API_TOKEN=Zt5nQ2vK8mW3xB7c", true},
		{"bare", "config.yaml", "  api_token: kq8JXm2pQ9wL4zRt7", true},
		{"bare", ".env.production", "DB_PASSWORD=Tr0ub4dor3xK9", true},
		{"bare", "settings.ini", "secret_key = Wm3kR9tQ2zX8vB5n", true},
		{"bare", "app.properties", "service.api-key=Hx7Lp2Qw9Ks4Vb6N", true},
		{"bare", "fixture.txt", "SLACK_TOKEN=Hx7Lp2Qw9Ks4Vb6N # rotated", true},
		{"bare", ".env", "SECRET_KEY=HxLpQwKsVbNmRtZyWcJdFg", true},
		{"bare", ".env", "API_KEY=changeme", false},
		{"bare", ".env", "PASSWORD=${DB_PASSWORD}", false},
		{"bare", "config.yml", "token: null", false},
		{"bare", ".env", "API_KEY=xxxxxxxxxxxxxxxx", false},
		{"bare", ".env", "API_KEY=<your-key>", false},
		{"bare", ".env", "API_KEY=your_api_key_here", false},
		{"bare", ".env", "DB_PASSWORD=db_password_v2", false},
		{"bare", ".env", "SECRET_KEY=MyApplicationSecretKey", false},
		{"bare", "main.go", "\ttoken = accessTokenFromEnv", false},
		{"bare", "main.py", "    password = user2password", false},
		{"bare", "main.py", "    secret = sha256sum(data)", false},
		{"bare", "app.js", "  apiKey = config.apiKey2", false},
		{"bare", "main.go", "\tsecret := base64Encode(raw)", false},
		// 2. hex and UUIDs under a secret's name; hashes elsewhere.
		{"hex", ".env", "DD_API_KEY=3f9a2c7b1e8d4f6a0b5c9e2d7f1a4b8c", true},
		{"hex", "app.js", `const algoliaAdminKey = "b1e8d4f6a0b5c9e23f9a2c7b7f1a4b8c";`, true},
		{"hex", "config.yaml", "facebook_app_secret: 9e2d7f1a4b8c3f9a2c7b1e8d4f6a0b5c", true},
		{"hex", "settings.py", `HUBSPOT_API_KEY = "4b8c3f9a-2c7b-41e8-9d4f-6a0b5c9e2d7f"`, true},
		{"hex", ".env", "SENTRY_AUTH_TOKEN=0b5c9e2d7f1a4b8c3f9a2c7b1e8d4f6a3f9a2c7b1e8d4f6a0b5c9e2d7f1a4b8c", true},
		{"hex", "package-lock.json", `"integrity": "sha512-3f9a2c7b1e8d4f6a0b5c9e2d7f1a4b8c"`, false},
		{"hex", "go.sum", "github.com/x/y v1.2.3 h1:3f9a2c7b1e8d4f6a0b5c9e2d7f1a4b8c=", false},
		{"hex", "build.txt", `commit = "3f9a2c7b1e8d4f6a0b5c9e2d7f1a4b8c9e2d7f1a"`, false},
		{"hex", "db.py", `password_hash = "5f4dcc3b5aa765d61d8327deb882cf99"`, false},
		{"hex", "x.go", `token = "00000000000000000000000000000000"`, false},
		{"hex", "x.go", `api_key_id = "4b8c3f9a-2c7b-41e8-9d4f-6a0b5c9e2d7f"`, false},
		{"hex", "x.go", `token = "4b8c3f9a-2c7b-41e8-9d4f-6a0b5c9e2d7f"`, false},
		{"hex", "x.go", `hubspotToken = "4b8c3f9a-2c7b-41e8-9d4f-6a0b5c9e2d7f"`, true},
		// 3. prefixed tokens whose random part starts with a letter.
		{"prefix", "ci.yml", "GITLAB_TOKEN: glimt-kq8jd7xm2pq9wl4zrt5nb3vc", true},
		{"prefix", "x.py", `mailgun_key = "pubkey-kq8jd7xm2pq9wl4zrt5nb3vc6hs1fd"`, true},
		{"prefix", "x.py", `token_type = "bearer_token_v2"`, false},
		{"prefix", "x.py", `secret_name = "ec2-custom-key"`, false},
		// 4. assignment syntaxes.
		{"assign", "Makefile", "API_TOKEN ?= Zt5nQ2vK8mW3xB7c", true},
		{"assign", "Makefile", "API_TOKEN ::= Zt5nQ2vK8mW3xB7c", true},
		{"assign", "x.php", `$secret .= "Zt5nQ2vK8mW3xB7c";`, true},
		{"assign", "x.go", `var apiToken string = "Zt5nQ2vK8mW3xB7c"`, true},
		{"assign", "x.ts", `const apiKey: string = "Zt5nQ2vK8mW3xB7c";`, true},
		{"assign", "x.kt", `val clientSecret: String = "Zt5nQ2vK8mW3xB7c"`, true},
		{"assign", "X.java", `System.setProperty("X_TOKEN", "Zt5nQ2vK8mW3xB7c");`, true},
		{"assign", "x.py", `os.environ.setdefault("API_KEY", "Zt5nQ2vK8mW3xB7c")`, true},
		{"assign", "pom.xml", "<apiKey>Zt5nQ2vK8mW3xB7c</apiKey>", true},
		{"assign", "app.config", `<add key="ApiSecret" value="Zt5nQ2vK8mW3xB7c" />`, true},
		{"assign", "x.json", `{"body": "{\"api_key\": \"Zt5nQ2vK8mW3xB7c\"}"}`, true},
		{"assign", "x.go", `var apiToken string = os.Getenv("API_TOKEN")`, false},
		{"assign", "X.java", `System.setProperty("X_TOKEN", System.getenv("X"));`, false},
		{"assign", "pom.xml", "<apiKey>${api.key}</apiKey>", false},
		{"assign", "build.gradle", "implementation 'io.jsonwebtoken:jjwt-jackson:0.11.2'", false},
		{"assign", "build.gradle", "implementation 'io.jsonwebtoken:jjwt-jackson-0.11.2'", false},
		{"assign", "x.go", `if token == "Zt5nQ2vK8mW3xB7c" {`, true},
		// Lookalikes from real code.
		{"real", "types.pb.go", "Metadata map[string]string `protobuf:\"bytes,6,rep,name=metadata,proto3\" protobuf_key:\"bytes,1,opt,name=key,proto3\"`", false},
		{"real", "x_test.go", `verifyExportsCorrectVersion(t, "encryption-key", "rsa-4096", "", "")`, false},
		{"real", "scanner_test.go", `{token.FLOAT, "-42.54e+10"},`, false},
		{"real", "spec.go", `&types.OptionValue{Key: "memory.noHotAddOver4GB", Value: "FALSE"},`, false},
		{"real", "x_test.go", `verifyExportsCorrectVersion(t, "hmac-key", "chacha20-poly1305", "", "")`, false},
		{"real", "x_test.go", `require.Equal(t, x509.KeyUsageCRLSign, intCert.KeyUsage&x509.KeyUsageCRLSign, "not present")`, false},
		{"real", "policy.go", `newKeys := make([]KeyEntry, p.LatestVersion-p.MinAvailableVersion+1)`, false},
		{"real", "mock.go", `"app_ssh_host_key_fingerprint": "96:4d:89:2d:39:18:bc:16:e1:d3:d8:44:f8:16:af:85",`, false},
		{"real", "x_test.go", `authAndSecretLease(0, "autoauthtoken", "many-ancestors-token;0")`, false},
		{"real", "x_test.go", `header: "AWS4-HMAC-SHA256 Credential=AAAAAAAAAAAAAAAAAAAA/20230719/us-west-2/sts/aws4_request, Signed"`, false},
		{"real", "README.md", "path to key to use as CF_INSTANCE_KEY: /tmp/5c08f79d-b2a5-c211-2862-00fe0a3b647d601276662", false},
		{"assign", "a.conf", `  "hubspotToken" => "/Ob+S1DI2NLccenNL33rPG/+f27EUj5obEZ6Vjek"`, true},
		{"assign", "a.conf", `  "secretPath" => "/var/lib/app/secrets"`, false},
		{"assign", "run.sh", "export CONTENTFUL_API_KEY=FdeYWFLK11sYop", true},
		{"assign", "a.yaml", "acme_token: |\n  os.getenv('X')", false},
		{"assign", "a.xml", "<acmeToken>os.getenv('X2')</acmeToken>", false},
		// Passwords may start with or hold any symbol; references,
		// paths, globs and colours may not pass for them.
		{"symbols", ".env", "DB_PASSWORD=%LjnZMC#VJG0CipT", true},
		{"symbols", "app.sh", `export DB_PASSWORD=".5Hyk_Qu3M-7KShj"`, true},
		{"symbols", "db.yaml", "  dbPassword: 3*oyYwdTm.8fL*Tq", true},
		{"symbols", "x.py", `DB_PASSWORD = "%Uvt#AbHU.O_+%H*"`, true},
		{"symbols", "a.properties", "app.dbPassword=TNx-WFHjGmIr^l_o", true},
		{"symbols", "nuget.config", `<add key="Password" value="%NUGET_PASSWORD%" />`, false},
		{"symbols", "x.py", `DB_PASSWORD = "%(db_password)s"`, false},
		{"symbols", ".env", "SECRET_FILE=./secrets/db-password.txt", false},
		{"symbols", "x.go", `	secretGlob := "**/secret-*.yaml"`, false},
		{"symbols", "theme.yaml", "  token_color: #3fa9c2", false},
		{"symbols", "x.go", "	password := *passwordFlag", false},
		// Public by design: publishable keys and CAPTCHA site keys.
		{"public", ".env", "STRIPE_PUBLISHABLE_KEY=pk_live_n10XabKd8aCES7vfIvZNo58ixU6RZH2B4UiC", false},
		{"public", ".env", "NEXT_PUBLIC_KEY=pk_test_n10XabKd8aCES7vfIvZNo58ixU6RZH2B4UiC", false},
		{"public", ".env", "RECAPTCHA_SITE_KEY=6LdKq8jdXmpQwLzRtNbVcHsFd3Ga7Pe2Ky9Wn4Bv", false},
		{"public", ".env", "RECAPTCHA_SECRET_KEY=6LdKq8jdXmpQwLzRtNbVcHsFd3Ga7Pe2Ky9Wn4Bv", true},
		// Four x's in a long random token are chance, not a mask.
		{"mask", "x.js", "const pypiToken = 'pypi-AgEIcHlwaS5vcmcJd_5SWrrB7vi6SfgQtd-5lwlI7sV2MOqp0JEl4xHbbU-FsR0oS4hHmGUeuX7OvliWL-cZqqHq5NjZRN21yw9ogUzI_KEqlrtvSnvKraSzrqALOK0jOEMTGnTOydDGQCs5XXXxsc7thBeZZMQ2XAxlc';", true},
		{"mask", "x.js", "const pypiToken = 'pypi-AgEIcHlwaS5vcmcxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';", false},
	}
	for _, c := range cases {
		fs := scanNamed(t, s, c.file, c.text+"\n")
		if got := len(fs) > 0; got != c.want {
			t.Errorf("%s: %s: %q: found %v (%v), want %v", c.class, c.file, c.text, got, fs, c.want)
		}
	}
}

// syntaxes are the ways config files and programs assign a value to a
// name: {i} stands for the name's stem, {s} for the value.
var syntaxes = []struct{ file, text string }{
	{"app.ini", `{i}Token="{s}"`}, {"app.ini", `{i}Token = "{s}"`},
	{"app.ini", `{i}Token={s}`}, {"app.ini", `{i}Token = {s}`},
	{"a.json", "{\n    \"{i}_token\": \"{s}\"\n}"},
	{"a.json", "\\{\n    \\\"{i}_token\\\": \\\"{s}\\\"\n\\}"},
	{"a.xml", "<{i}Token>{s}</{i}Token>"}, {"a.xml", "<{i}Token>\n    {s}\n</{i}Token>"},
	{"a.yaml", "{i}_token: {s}"}, {"a.yaml", "{i}_token: '{s}'"}, {"a.yaml", `{i}_token: "{s}"`},
	{"a.yaml", "{i}_token: |\n  {s}"}, {"a.yaml", "{i}_token: >\n  {s}"},
	{"a.cs", `string {i}Token = "{s}";`}, {"a.go", `var {i}Token string = "{s}"`},
	{"a.go", `{i}Token := "{s}"`}, {"a.go", "{i}Token := `{s}`"}, {"A.java", `String {i}Token = "{s}";`},
	{"a.kt", `var {i}Token: String = "{s}"`}, {"a.kt", `var {i}Token = "{s}"`},
	{"a.php", `${i}Token .= "{s}"`}, {"a.php", `${i}Token ??= "{s}"`},
	{"a.py", `{i}Token = '{s}'`}, {"a.py", `{i}Token = "{s}"`},
	{"a.csv", `{i}Token,{s},`}, {"a.conf", `  "{i}Token" => "{s}"`},
	{"Makefile", `{i}_TOKEN = "{s}"`}, {"Makefile", `{i}_TOKEN := "{s}"`}, {"Makefile", `{i}_TOKEN ::= "{s}"`},
	{"Makefile", `{i}_TOKEN :::= "{s}"`}, {"Makefile", `{i}_TOKEN ?= "{s}"`}, {"Makefile", `{i}_TOKEN += "{s}"`},
	{".env", "{I}_API_KEY={s}"}, {"deploy.sh", "export {I}_API_KEY={s}"},
	{"app.properties", "{i}.api.key={s}"}, {"A.java", `System.setProperty("{I}_TOKEN", "{s}");`},
}

// TestAssignmentSyntaxes: every syntax finds random values of the shapes
// providers use (alphanumeric, hex, UUID, base64) and no stand-in.
func TestAssignmentSyntaxes(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	pos := []struct{ stem, value string }{
		{"acme", "Hx7Lp2Qw9Ks4Vb6NmRt3Zy8WcJ5dFg1a"},
		{"datadog", "3f9a2c7b1e8d4f6a0b5c9e2d7f1a4b8c"},
		{"algolia", "b1e8d4f6a0b5c9e23f9a2c7b7f1a4b8c9e2d7f1a"},
		{"hubspot", "4b8c3f9a-2c7b-41e8-9d4f-6a0b5c9e2d7f"},
		{"widget", "kQ8jdXmp/QwLzRtNb+VcHsFd3Ga7Pe2Ky9Wn4Bv5"},
		{"shop", "Tr0ub4dor3xK9"},
	}
	neg := []string{"changeme", "your_api_key_here", "xxxxxxxxxxxxxxxx", "${API_TOKEN}", "null",
		"<your-token>", "placeholder", "00000000000000000000000000000000"}
	for _, sx := range syntaxes {
		for _, p := range pos {
			text := strings.NewReplacer("{i}", p.stem, "{I}", strings.ToUpper(p.stem), "{s}", p.value).Replace(sx.text)
			if fs := scanNamed(t, s, sx.file, text+"\n"); len(fs) == 0 {
				t.Errorf("%s: not found:\n%s", sx.file, text)
			}
		}
		for _, v := range neg {
			text := strings.NewReplacer("{i}", "acme", "{I}", "ACME", "{s}", v).Replace(sx.text)
			if fs := scanNamed(t, s, sx.file, text+"\n"); len(fs) > 0 {
				t.Errorf("%s: found %v in:\n%s", sx.file, fs, text)
			}
		}
	}
}

// TestGenericAtBounds throws random text built from assignment syntax at
// the generic matcher: it must not panic, and every offset it returns must
// lie in the window, each group ordered.
func TestGenericAtBounds(t *testing.T) {
	t.Parallel()
	pieces := []string{"token", "Key", "_key", "password", "=", ":", ":=", "::=", ":::=", "?=", ".=", "+=", "=>",
		",", "\"", "'", "`", "\\\"", "<", ">", "</", "|", ">-", " ", "\t", "\n", "  ", "value=", "string",
		"Zt5nQ2vK8mW3xB7c", "abc", "x", "()", "$", "{", "}", ";", "#", "\r"}
	r := rand.New(rand.NewPCG(17, 17))
	s := newTestScanner(t, Config{})
	for n := range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(14) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		win := []byte(b.String())
		low := strings.ToLower(b.String())
		if n%10 == 0 {
			scanNamed(t, s, []string{"a.go", ".env", "a.yaml"}[n%3], b.String()) // the whole path, vet included
		}
		for _, kw := range []string{"token", "key", "password"} {
			for i := 0; ; {
				k := strings.Index(low[i:], kw)
				if k < 0 {
					break
				}
				ks := i + k
				loc := genericAt(win, ks, ks+len(kw))
				for g := 0; loc != nil && g < len(loc)/2; g++ {
					s, e := loc[2*g], loc[2*g+1]
					if s == -1 && e == -1 {
						continue
					}
					if s < 0 || e < s || e > len(win) {
						t.Fatalf("%q at %d: group %d = [%d, %d)", win, ks, g, s, e)
					}
				}
				i = ks + 1
			}
		}
	}
}
