package corpusgen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Fixture files hold test cases for one rule, each after a line "--- pos"
// (must be found by the rule) or "--- neg" (must not be).
const (
	PosMarker = "--- pos"
	NegMarker = "--- neg"
)

// extraNeg are near misses written by hand for rules whose automatic
// negatives (truncated, placeholder-filled, glued to a word) say little.
var extraNeg = map[string][]string{
	"aws-access-key-id":     {"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIA1234567890123456 (digits 0, 1, 8, 9 are not base32)"},
	"aws-secret-access-key": {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = aaaaaaaaaabbbbbbbbbbaaaaaaaaaabbbbbbbbbb"},
	"stripe-secret-key":     {`Stripe.apiKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";`},
	"slack-bot-token":       {"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"},
	"jwt": {"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		"eyJhbGciOi.eyJzdWIi.abc"},
	"database-url": {"DATABASE_URL=postgres://user:password@localhost:5432/app",
		"DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app", "redis://localhost:6379/0",
		"mysql://root@localhost/test"},
	"basic-auth-url": {"git clone https://user:${GITHUB_TOKEN}@github.com/org/repo.git",
		"https://example.com/path?a=b", "see https://admin:admin@localhost:8080/",
		"Get \"http://user:***@dummy.test/\": dummy impl"},
	"generic-secret": {`password = "your-password-here"`, "password: xxxxxxxx", "token: ${SECRET}",
		`secret = os.Getenv("SECRET")`, `password_hash = "5f4dcc3b5aa765d61d8327deb882cf99"`,
		`token = "123e4567-e89b-12d3-a456-426614174000"`, `sha256_token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`,
		"secret_key = settings.SECRET_KEY", "password = None", `tokenizer = Tokenizer("wordpiece")`,
		"passwordField = document.getElementById(\"pw\")", `secretName: "my-app-credentials"`,
		`client_secret = "********"`, `api_key: "<API_KEY>"`, `password = "hunter2hunter"`,
		"tokens = 2*maxConcurrency + minTokens*cfg.BuildP", "case tokenAfterVariable.typ == itemSpace:",
		"Secret: Bug4Secret{1},", `const fakeConnectionToken = "X-Fake-Connection-Token"`,
		"// Required permissions: secretsmanager:GetResourcePolicy. For more", `<SecretEngine::ConfigureWif @path={{this.id}}`,
		`lastPasswordVerification: '2019-08-24T14:15:22Z'`, `ctxCredentials = "github.com/jcmturner/gokrb5/v8/ctxCredentials"`,
		`"identitytoken": "9cbaf023786cd7..."`, `secret_access_key="ktriNYvULAWLzUmTGb***"`,
		`"ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestDatabaseSecret-a1b2c3",`,
		`expectedAccessKey: "ec2_custom_key",`, "credential_config=key_bits=2048"},
	"private-key-rsa": {"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
		`if strings.HasPrefix(s, "-----BEGIN RSA PRIVATE KEY-----") {`},
	"private-key-pkcs8":     {"-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----"},
	"private-key-openssh":   {"const header = \"-----BEGIN OPENSSH PRIVATE KEY-----\"\n"},
	"heroku-api-key-legacy": {"HEROKU_APP_ID=123e4567-e89b-12d3-a456-426614174000"},
	"twilio-auth-token":     {"TWILIO_AUTH_TOKEN=your_auth_token"},
}

// WriteFixtures writes one fixture file per rule into dir, deterministically
// from seed.
func WriteFixtures(dir string, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed+1))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, id := range RuleIDs() {
		var b strings.Builder
		fmt.Fprintf(&b, "# TEST FIXTURES for hush's scan rule %s. Every value here is FAKE: random\n", id)
		fmt.Fprintf(&b, "# text shaped like the provider's documented format, not a real credential.\n")
		fmt.Fprintf(&b, "# Made by `go run ./scan/cmd/hush-corpus fixtures`; cases follow %q / %q lines.\n", PosMarker, NegMarker)
		for _, c := range positives(r, id) {
			fmt.Fprintf(&b, "%s\n%s\n", PosMarker, c)
		}
		for _, c := range negatives(r, id) {
			fmt.Fprintf(&b, "%s\n%s\n", NegMarker, c)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".txt"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// inContext puts a secret in the rule's context, or in an assignment.
func inContext(r *rand.Rand, id, secret, fallback string) string {
	ctx := fallback
	if c := Tokens[id].Context; c != "" {
		ctx = Expand(r, c)
	}
	return strings.Replace(ctx, "%s", secret, 1)
}

func positives(r *rand.Rand, id string) []string {
	t := Tokens[id]
	if t.Multi {
		return []string{Expand(r, t.Template), "key: |\n  " + strings.ReplaceAll(Expand(r, t.Template), "\n", "\n  ")}
	}
	return []string{
		inContext(r, id, Expand(r, t.Template), `const token = "%s";`),
		inContext(r, id, Expand(r, t.Template), "  value: %s # fake"),
	}
}

func negatives(r *rand.Rand, id string) []string {
	t := Tokens[id]
	out := extraNeg[id]
	if t.Multi {
		// The header and footer around a stand-in body; the header alone
		// in code.
		lines := strings.Split(Expand(r, t.Template), "\n")
		return append(out, lines[0]+"\n...\n"+lines[len(lines)-1],
			"header := \""+lines[0]+"\"\nbody := readBody()")
	}
	secret := Expand(r, t.Template)
	// Truncated: the literal prefix and six characters, or half of a
	// template that starts with random text.
	cut := secret[:len(secret)/2]
	if i := strings.IndexByte(t.Template, '{'); i > 0 {
		cut = secret[:i+6]
	}
	if id != "generic-secret" {
		out = append(out, inContext(r, id, cut, `const token = "%s";`))
	}
	// Placeholder-filled: every random character an x (or the set's first).
	out = append(out, inContext(r, id, placeholder(t.Template), `const token = "%s";`))
	// Glued to the end of a word.
	if t.Context == "" && !strings.Contains(t.Template, "://") {
		out = append(out, "const token = \"Z"+secret+"\";")
	}
	return out
}

// placeholder expands a template with a constant character.
func placeholder(tmpl string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		j := strings.IndexByte(tmpl, '}')
		if i < 0 || j < i {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		name, arg, _ := strings.Cut(tmpl[i+1:j], ":")
		n := 0
		fmt.Sscan(arg, &n)
		c := "x"
		if set := charsets[name]; set != "" && !strings.Contains(set, "x") {
			c = set[:1]
		}
		if name == "uuid" {
			b.WriteString("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
		} else {
			b.WriteString(strings.Repeat(c, n))
		}
		tmpl = tmpl[j+1:]
	}
}
