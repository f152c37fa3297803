package scan

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The independent evaluation: secrets made from providers' published token
// formats (see testdata/eval-independent/README.md for the source of each)
// with values from a seeded generator, and realistic non-secrets. None of
// it comes from the tuning corpus (internal/corpusgen) or from any
// scanner's test files. The files are written by
//
//	go test ./scan -run TestIndependentEval -eval-write
//
// and committed, so that other scanners can be scored on the same bytes.

var evalWrite = flag.Bool("eval-write", false, "rewrite testdata/eval-independent from the generator")

const (
	evalDir   = "testdata/eval-independent"
	evalSeed  = 20261201
	evalPerCx = 6 // examples per provider and context
	// evalMinRecall and evalMaxFP are the bars the test holds hush to.
	evalMinRecall = 0.95
	evalMaxFP     = 3
)

const (
	b62  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b64s = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b64u = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	hexl = "0123456789abcdef"
	dig  = "0123456789"
	b32  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	up36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lo36 = "0123456789abcdefghijklmnopqrstuvwxyz"
	alph = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	bech = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
)

func pick(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// crc62 is the checksum GitHub and npm append to their tokens: CRC32 of
// the random part, in base62, left-padded to six characters.
func crc62(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = b62[n%62]
		n /= 62
	}
	return string(out)
}

func checksummed(prefix string) func(r *rand.Rand) string {
	return func(r *rand.Rand) string {
		body := pick(r, b62, 30)
		return prefix + body + crc62(body)
	}
}

// evalFormat is one provider's documented token shape and the variable
// name it usually goes by.
type evalFormat struct {
	provider, name string
	gen            func(r *rand.Rand) string
	// line, when set, is the whole line (contexts are not applied): URLs,
	// headers and command lines carry their own syntax.
	line bool
	ext  string // the file's extension for a line format; .txt if unset
}

func fixed(prefix, set string, n int) func(r *rand.Rand) string {
	return func(r *rand.Rand) string { return prefix + pick(r, set, n) }
}

var evalFormats = []evalFormat{
	{"github-classic-pat", "GITHUB_TOKEN", checksummed("ghp_"), false, ""},
	{"github-oauth", "GH_OAUTH_TOKEN", checksummed("gho_"), false, ""},
	{"github-app-user", "GITHUB_USER_TOKEN", checksummed("ghu_"), false, ""},
	{"github-app-installation", "GITHUB_APP_TOKEN", checksummed("ghs_"), false, ""},
	{"github-refresh", "GITHUB_REFRESH_TOKEN", checksummed("ghr_"), false, ""},
	{"github-fine-grained", "GITHUB_PAT", func(r *rand.Rand) string {
		return "github_pat_" + pick(r, b62, 22) + "_" + pick(r, b62, 59)
	}, false, ""},
	{"npm", "NPM_TOKEN", checksummed("npm_"), false, ""},
	{"npm-legacy-uuid", "", func(r *rand.Rand) string {
		return "//registry.npmjs.org/:_authToken=" + uuidv4(r)
	}, true, ""},
	{"gitlab-pat", "GITLAB_TOKEN", fixed("glpat-", b64u, 20), false, ""},
	{"gitlab-pat-routable", "GITLAB_TOKEN", func(r *rand.Rand) string {
		return "glpat-" + pick(r, b64u, 31+r.IntN(90)) + ".01." + pick(r, lo36, 9)
	}, false, ""},
	{"gitlab-runner", "CI_RUNNER_TOKEN", fixed("glrt-", b64u, 20), false, ""},
	{"gitlab-deploy", "DEPLOY_TOKEN", fixed("gldt-", b64u, 20), false, ""},
	{"gitlab-trigger", "TRIGGER_TOKEN", fixed("glptt-", hexl, 40), false, ""},
	{"slack-bot", "SLACK_BOT_TOKEN", func(r *rand.Rand) string {
		return "xoxb-" + pick(r, dig, 11) + "-" + pick(r, dig, 13) + "-" + pick(r, b62, 24)
	}, false, ""},
	{"slack-user", "SLACK_USER_TOKEN", func(r *rand.Rand) string {
		return "xoxp-" + pick(r, dig, 11) + "-" + pick(r, dig, 12) + "-" + pick(r, dig, 13) + "-" + pick(r, hexl, 32)
	}, false, ""},
	{"slack-webhook", "", func(r *rand.Rand) string {
		return "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T" + pick(r, up36, 10) + "/B" + pick(r, up36, 10) + "/" + pick(r, b62, 24)
	}, true, ""},
	{"stripe-secret", "STRIPE_SECRET_KEY", func(r *rand.Rand) string {
		return "sk_live_" + pick(r, b62, []int{24, 99}[r.IntN(2)])
	}, false, ""},
	{"stripe-restricted", "STRIPE_KEY", fixed("rk_live_", b62, 99), false, ""},
	{"stripe-webhook", "STRIPE_WEBHOOK_SECRET", fixed("whsec_", b62, 32), false, ""},
	{"aws-access-key-id", "AWS_ACCESS_KEY_ID", fixed("AKIA", b32, 16), false, ""},
	{"aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", func(r *rand.Rand) string { return pick(r, b64s, 40) }, false, ""},
	{"google-api-key", "GOOGLE_API_KEY", fixed("AIza", b64u, 35), false, ""},
	{"openai", "OPENAI_API_KEY", func(r *rand.Rand) string {
		return "sk-proj-" + pick(r, b64u, 74) + "T3BlbkFJ" + pick(r, b64u, 74)
	}, false, ""},
	{"anthropic", "ANTHROPIC_API_KEY", func(r *rand.Rand) string {
		return "sk-ant-api03-" + pick(r, b64u, 93) + "AA"
	}, false, ""},
	{"sendgrid", "SENDGRID_API_KEY", func(r *rand.Rand) string {
		return "SG." + pick(r, b64u, 22) + "." + pick(r, b64u, 43)
	}, false, ""},
	{"mailgun", "MAILGUN_API_KEY", fixed("key-", hexl, 32), false, ""},
	{"twilio-api-key", "TWILIO_API_KEY", fixed("SK", hexl, 32), false, ""},
	{"digitalocean", "DIGITALOCEAN_TOKEN", fixed("dop_v1_", hexl, 64), false, ""},
	{"shopify", "SHOPIFY_ACCESS_TOKEN", fixed("shpat_", hexl, 32), false, ""},
	{"pypi", "PYPI_TOKEN", func(r *rand.Rand) string {
		return "pypi-AgEIcHlwaS5vcmc" + pick(r, b64u, 150)
	}, false, ""},
	{"huggingface", "HF_TOKEN", fixed("hf_", alph, 34), false, ""},
	{"databricks", "DATABRICKS_TOKEN", fixed("dapi", hexl, 32), false, ""},
	{"dockerhub", "DOCKERHUB_TOKEN", fixed("dckr_pat_", b64u, 27), false, ""},
	{"telegram-bot", "TELEGRAM_BOT_TOKEN", func(r *rand.Rand) string {
		return pick(r, "123456789", 1) + pick(r, dig, 9) + ":AA" + pick(r, b64u, 33)
	}, false, ""},
	{"discord-webhook", "", func(r *rand.Rand) string {
		return "DISCORD_WEBHOOK=https://discord.com/api/webhooks/" + pick(r, "123456789", 1) + pick(r, dig, 18) + "/" + pick(r, b64u, 68)
	}, true, ""},
	{"azure-storage-connection-string", "", func(r *rand.Rand) string {
		return "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acct" + pick(r, lo36, 6) +
			";AccountKey=" + pick(r, b64s, 86) + "==;EndpointSuffix=core.windows.net"
	}, true, ""},
	{"age-identity", "AGE_KEY", func(r *rand.Rand) string {
		return strings.ToUpper("AGE-SECRET-KEY-1" + pick(r, bech, 58))
	}, false, ""},
	{"vault-service-token", "VAULT_TOKEN", fixed("hvs.", b64u, 91), false, ""},
	{"postman", "POSTMAN_API_KEY", func(r *rand.Rand) string {
		return "PMAK-" + pick(r, hexl, 24) + "-" + pick(r, hexl, 34)
	}, false, ""},
	{"linear", "LINEAR_API_KEY", fixed("lin_api_", b62, 40), false, ""},
	{"newrelic-user", "NEW_RELIC_API_KEY", fixed("NRAK-", up36, 27), false, ""},
	{"doppler", "DOPPLER_TOKEN", fixed("dp.pt.", b62, 43), false, ""},
	{"planetscale", "PLANETSCALE_TOKEN", fixed("pscale_tkn_", b64u, 43), false, ""},
	{"supabase", "SUPABASE_ACCESS_TOKEN", fixed("sbp_", hexl, 40), false, ""},
	{"rubygems", "GEM_HOST_API_KEY", fixed("rubygems_", hexl, 48), false, ""},
	{"square-access", "SQUARE_ACCESS_TOKEN", fixed("EAAA", b64u, 60), false, ""},
	{"square-oauth-secret", "SQUARE_APP_SECRET", fixed("sq0csp-", b64u, 43), false, ""},
	{"grafana-service-account", "GRAFANA_TOKEN", func(r *rand.Rand) string {
		body := pick(r, b62, 32)
		return "glsa_" + body + "_" + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body)))
	}, false, ""},
	{"jwt", "ID_TOKEN", func(r *rand.Rand) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%s","iat":%d}`, pick(r, lo36, 12), 1700000000+r.IntN(1e8))))
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString([]byte(pick(r, b62, 32)))
	}, false, ""},
	{"gcp-service-account", "", func(r *rand.Rand) string {
		var b strings.Builder
		for range 12 {
			b.WriteString(pick(r, b64s, 64) + `\n`)
		}
		return `  "private_key": "-----BEGIN PRIVATE KEY-----\n` + b.String() + `-----END PRIVATE KEY-----\n",`
	}, true, ""},
	{"postgres-url", "", func(r *rand.Rand) string {
		return "DATABASE_URL=postgres://app_" + pick(r, lo36, 4) + ":" + pick(r, b62, 20) + "@db-" + pick(r, lo36, 5) + ".internal:5432/app"
	}, true, ""},
	{"datadog-api-key", "DD_API_KEY", func(r *rand.Rand) string { return pick(r, hexl, 32) }, false, ""},
	{"algolia-admin-key", "ALGOLIA_ADMIN_API_KEY", func(r *rand.Rand) string { return pick(r, hexl, 32) }, false, ""},
	{"password", "DB_PASSWORD", func(r *rand.Rand) string { return pick(r, b62+"!#%*+-_.~^", 16) }, false, ""},
	{"api-key", "API_KEY", func(r *rand.Rand) string { return pick(r, b62, 32) }, false, ""},
	{"bearer-header", "", func(r *rand.Rand) string {
		return `curl -H "Authorization: Bearer ` + pick(r, b64u, 40) + `" https://api.internal.test/v2/items`
	}, true, ""},
	{"basic-header", "", func(r *rand.Rand) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("svc-"+pick(r, lo36, 5)+":"+pick(r, b62, 18)))
	}, true, ""},
	{"curl-user", "", func(r *rand.Rand) string {
		return "curl -u deploy:" + pick(r, b62, 16) + " https://ci.internal.test/api/jobs"
	}, true, ""},
	// Files that hold credentials in their own syntax.
	{"netrc", "", func(r *rand.Rand) string {
		return "machine api.internal.test login deploy password " + pick(r, b62, 20)
	}, true, ".netrc"},
	{"docker-config-auth", "", func(r *rand.Rand) string {
		return `    "registry.internal.test": { "auth": "` + base64.StdEncoding.EncodeToString([]byte("ci-bot:"+pick(r, b62, 20))) + `" },`
	}, true, ".json"},
	{"npmrc-auth", "", func(r *rand.Rand) string {
		return "//npm.internal.test/:_auth=" + base64.StdEncoding.EncodeToString([]byte("ci-bot:"+pick(r, b62, 20)))
	}, true, ".npmrc"},
	{"pypirc-password", "", func(r *rand.Rand) string { return "password = " + pick(r, b62, 24) }, true, ".pypirc"},
	{"url-query-token", "", func(r *rand.Rand) string {
		return `fetch("https://api.internal.test/v1/items?limit=50&access_token=` + pick(r, b62, 40) + `")`
	}, true, ".js"},
	{"git-credential-url", "", func(r *rand.Rand) string {
		return "git clone https://oauth2:" + pick(r, b64u, 26) + "@git.internal.test/group/repo.git"
	}, true, ".sh"},
	{"dockerfile-env", "", func(r *rand.Rand) string { return "ENV SERVICE_API_TOKEN=" + pick(r, b62, 32) }, true, ".dockerfile"},
	{"xml-element", "", func(r *rand.Rand) string { return "    <password>" + pick(r, b62, 18) + "</password>" }, true, ".xml"},
	{"terraform", "", func(r *rand.Rand) string { return `  password = "` + pick(r, b62+"!#%*+-_", 20) + `"` }, true, ".tf"},
}

func uuidv4(r *rand.Rand) string {
	return pick(r, hexl, 8) + "-" + pick(r, hexl, 4) + "-4" + pick(r, hexl, 3) + "-" + pick(r, "89ab", 1) + pick(r, hexl, 3) + "-" + pick(r, hexl, 12)
}

// evalContexts are the ways a value is written down: {N} is the
// variable's name as is, {n} in camelCase.
var evalContexts = []struct{ ext, text string }{
	{".env", "{N}={v}"},
	{".sh", `export {N}="{v}"`},
	{".yaml", "  {n}: {v}"},
	{".json", `  "{n}": "{v}",`},
	{".py", `{N} = "{v}"`},
	{".go.txt", `	{n} := "{v}"`}, // .txt: gofmt walks testdata
	{".js", `const {n} = '{v}';`},
	{".properties", "app.{n}={v}"},
}

func camel(name string) string {
	parts := strings.Split(strings.ToLower(name), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// evalNegatives: values that look random but are no secret, each in the
// place it is usually found.
var evalNegatives = []struct {
	kind, ext string
	gen       func(r *rand.Rand) string
}{
	{"sha256-checksum", ".txt", func(r *rand.Rand) string { return pick(r, hexl, 64) + "  dist/app-linux-amd64.tar.gz" }},
	{"checksum-var", ".py", func(r *rand.Rand) string { return `EXPECTED_SHA256 = "` + pick(r, hexl, 64) + `"` }},
	{"git-commit", ".yaml", func(r *rand.Rand) string { return "    rev: " + pick(r, hexl, 40) }},
	{"commit-var", ".go.txt", func(r *rand.Rand) string { return `	commit := "` + pick(r, hexl, 40) + `"` }},
	{"docker-digest", ".yaml", func(r *rand.Rand) string { return "    image: nginx@sha256:" + pick(r, hexl, 64) }},
	{"request-uuid", ".json", func(r *rand.Rand) string { return `  "request_id": "` + uuidv4(r) + `",` }},
	{"uuid-id", ".go.txt", func(r *rand.Rand) string { return `	tenantID := "` + uuidv4(r) + `"` }},
	{"version", ".toml", func(r *rand.Rand) string {
		return fmt.Sprintf(`version = "%d.%d.%d-rc.%d+build.%s"`, r.IntN(9), r.IntN(30), r.IntN(30), r.IntN(9), pick(r, hexl, 7))
	}},
	{"go-sum", ".sum", func(r *rand.Rand) string {
		return "github.com/acme/" + pick(r, lo36, 6) + " v1." + pick(r, dig, 1) + ".0 h1:" + pick(r, b64s, 43) + "="
	}},
	{"npm-integrity", ".json", func(r *rand.Rand) string { return `      "integrity": "sha512-` + pick(r, b64s, 86) + `==",` }},
	{"yarn-checksum", ".lock", func(r *rand.Rand) string { return "  checksum: " + pick(r, hexl, 128) }},
	{"base64-image", ".css", func(r *rand.Rand) string {
		img := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []byte(pick(r, b62, 90))...)
		return ".logo { background: url(data:image/png;base64," + base64.StdEncoding.EncodeToString(img) + "); }"
	}},
	{"identifier", ".go.txt", func(r *rand.Rand) string {
		return "	token := " + []string{"auth.TokenFromContext(ctx)", "cfg.APIToken", "os.Getenv(\"API_TOKEN\")", "newTokenSource(client)"}[r.IntN(4)]
	}},
	{"identifier-py", ".py", func(r *rand.Rand) string {
		return "    password = " + []string{"getpass.getpass()", "settings.DB_PASSWORD", "request.form['password']", "None"}[r.IntN(4)]
	}},
	{"env-reference", ".yaml", func(r *rand.Rand) string {
		return "      API_KEY: " + []string{"${{ secrets.API_KEY }}", "${API_KEY}", "{{ .Values.apiKey }}", "$(API_KEY)"}[r.IntN(4)]
	}},
	{"maven-coordinates", ".gradle", func(r *rand.Rand) string {
		return "    implementation 'io.jsonwebtoken:jjwt-" + []string{"api", "impl", "jackson"}[r.IntN(3)] + ":0.11." + pick(r, dig, 1) + "'"
	}},
	{"firebase-sample", ".js", func(r *rand.Rand) string {
		return `  apiKey: "` + []string{"AIzaSyDOCAbC123dEf456GhI789jKl01-MnO", "AIzaSyDOCAbC123dEf456GhI789jKl012-MnO"}[r.IntN(2)] + `",`
	}},
	{"aws-doc-example", ".env", func(r *rand.Rand) string {
		return []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}[r.IntN(2)]
	}},
	{"public-key", ".pub", func(r *rand.Rand) string {
		return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + pick(r, b64s, 43) + " deploy@ci"
	}},
	{"password-hash", ".py", func(r *rand.Rand) string { return `password_hash = "$2b$12$` + pick(r, b64s[:62]+"./", 53) + `"` }},
	{"css-color-hash", ".css", func(r *rand.Rand) string {
		return ".btn-" + pick(r, lo36, 4) + " { color: #" + pick(r, hexl, 6) + "; }"
	}},
	{"placeholder", ".env", func(r *rand.Rand) string {
		return []string{"API_KEY=your-api-key-here", "DB_PASSWORD=changeme", "SECRET_KEY=<secret>", "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "TOKEN=REPLACE_ME"}[r.IntN(5)]
	}},
	{"twilio-account-sid", ".env", func(r *rand.Rand) string { return "TWILIO_ACCOUNT_SID=AC" + pick(r, hexl, 32) }},
	{"stripe-publishable", ".env", func(r *rand.Rand) string { return "STRIPE_PUBLISHABLE_KEY=pk_live_" + pick(r, b62, 99) }},
	{"public-key-base64", ".json", func(r *rand.Rand) string {
		return `  "publicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE` + pick(r, b64s, 86) + `==",`
	}},
	{"recaptcha-site-key", ".env", func(r *rand.Rand) string { return "RECAPTCHA_SITE_KEY=6L" + pick(r, b64u, 38) }},
	{"secret-metadata", ".yaml", func(r *rand.Rand) string {
		return []string{"  secretName: app-" + pick(r, lo36, 5) + "-credentials", "  token_url: https://auth.internal.test/oauth/token",
			"  password_min_length: 12", "  api_key_header: X-Api-Key", "  secret_ref: projects/p" + pick(r, dig, 6) + "/secrets/db/versions/latest"}[r.IntN(5)]
	}},
	{"content-hash-filename", ".html", func(r *rand.Rand) string {
		return `<script src="/static/js/main.` + pick(r, hexl, 8) + `.chunk.js" integrity="sha384-` + pick(r, b64s, 64) + `"></script>`
	}},
}

// evalFile is one file of the set: its name and its lines, each one
// example.
type evalFile struct {
	name     string
	positive bool
	group    string // provider or negative kind
	lines    []string
}

func evalFiles() []evalFile {
	r := rand.New(rand.NewPCG(evalSeed, 17))
	var out []evalFile
	for _, f := range evalFormats {
		if f.line {
			ext := f.ext
			if ext == "" {
				ext = ".txt"
			}
			ef := evalFile{name: "pos/" + f.provider + ext, positive: true, group: f.provider}
			for range 2 * evalPerCx {
				ef.lines = append(ef.lines, f.gen(r))
			}
			out = append(out, ef)
			continue
		}
		for _, c := range evalContexts {
			ef := evalFile{name: "pos/" + f.provider + c.ext, positive: true, group: f.provider}
			for range evalPerCx {
				ef.lines = append(ef.lines, strings.NewReplacer("{N}", f.name, "{n}", camel(f.name), "{v}", f.gen(r)).Replace(c.text))
			}
			out = append(out, ef)
		}
	}
	for _, n := range evalNegatives {
		ef := evalFile{name: "neg/" + n.kind + n.ext, group: n.kind}
		for range 4 * evalPerCx {
			ef.lines = append(ef.lines, n.gen(r))
		}
		out = append(out, ef)
	}
	return out
}

// TestIndependentEval scores hush on the independent set: recall on the
// positives per provider, and false positives (lines of the negatives with
// a finding).
func TestIndependentEval(t *testing.T) {
	t.Parallel()
	files := evalFiles()
	if *evalWrite {
		for _, f := range files {
			p := filepath.Join(evalDir, f.name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(strings.Join(f.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := newTestScanner(t, Config{})
	var tp, pos, fp, neg int
	perProvider := map[string][2]int{}
	var misses, fps []string
	for _, f := range files {
		// The committed files must be what the generator makes: the set
		// is scored on the bytes other scanners see.
		disk, err := os.ReadFile(filepath.Join(evalDir, f.name))
		if err != nil || string(disk) != strings.Join(f.lines, "\n")+"\n" {
			t.Fatalf("%s differs from the generator (run with -eval-write): %v", f.name, err)
		}
		fs, err := s.ScanReader(context.Background(), f.name, strings.NewReader(string(disk)))
		if err != nil {
			t.Fatal(err)
		}
		found := map[int]bool{}
		for _, x := range fs {
			found[x.Line] = true
		}
		for i, l := range f.lines {
			hit := found[i+1]
			if f.positive {
				pos++
				c := perProvider[f.group]
				c[1]++
				if hit {
					tp++
					c[0]++
				} else {
					misses = append(misses, fmt.Sprintf("%s:%d: %.90s", f.name, i+1, l))
				}
				perProvider[f.group] = c
			} else {
				neg++
				if hit {
					fp++
					fps = append(fps, fmt.Sprintf("%s:%d: %.90s", f.name, i+1, l))
				}
			}
		}
	}
	recall := float64(tp) / float64(pos)
	var low []string
	for p, c := range perProvider {
		if c[0] < c[1] {
			low = append(low, fmt.Sprintf("%s %d/%d", p, c[0], c[1]))
		}
	}
	slices.Sort(low)
	t.Logf("independent set: recall %d/%d = %.1f%% over %d providers; false positives %d of %d negatives",
		tp, pos, 100*recall, len(perProvider), fp, neg)
	if len(low) > 0 {
		t.Logf("providers missed: %s", strings.Join(low, ", "))
	}
	for _, m := range misses {
		t.Logf("missed %s", m)
	}
	for _, m := range fps {
		t.Logf("false positive %s", m)
	}
	if recall < evalMinRecall {
		t.Errorf("recall %.1f%% is under %.0f%%", 100*recall, 100*evalMinRecall)
	}
	if fp > evalMaxFP {
		t.Errorf("%d false positives, more than %d", fp, evalMaxFP)
	}
}
