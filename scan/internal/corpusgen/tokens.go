// Package corpusgen makes deterministic test corpora for hush's scanner:
// source-like files in several languages with fake secrets of every rule
// planted at recorded places, and decoys that only look secret. It also
// writes the per-rule test fixtures and scores scanners' reports against a
// corpus's manifest. Every value it makes is random and fake.
package corpusgen

import (
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Character sets named in token templates as {name:N}.
var charsets = map[string]string{
	"an":    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"url":   "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
	"b64":   "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/",
	"hex":   "0123456789abcdef",
	"HEX":   "0123456789ABCDEF",
	"dig":   "0123456789",
	"AZ27":  "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
	"AZ09":  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"az09":  "0123456789abcdefghijklmnopqrstuvwxyz",
	"alpha": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"bech":  "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
	"pw":    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#%*+-_.~^",
}

// Token is how to make a fake secret for one rule. Context, when set, is the
// line around it ("%s" marks the secret); otherwise the corpus picks an
// assignment in the file's language.
type Token struct {
	Template string
	Context  string
	// Multi marks secrets that span lines (key blocks); Context may too.
	Multi bool
}

// Tokens maps each rule ID of hush's scanner to how its secrets look, from
// the providers' documented formats.
var Tokens = map[string]Token{
	"github-pat":                        {Template: "ghp_{an:36}"},
	"github-fine-grained-pat":           {Template: "github_pat_{an:22}_{an:59}"},
	"github-oauth-token":                {Template: "gho_{an:36}"},
	"github-user-to-server-token":       {Template: "ghu_{an:36}"},
	"github-server-to-server-token":     {Template: "ghs_{an:36}"},
	"github-refresh-token":              {Template: "ghr_{an:36}"},
	"gitlab-pat":                        {Template: "glpat-{url:20}"},
	"gitlab-pipeline-trigger-token":     {Template: "glptt-{hex:40}"},
	"gitlab-runner-token":               {Template: "glrt-{url:20}"},
	"gitlab-runner-registration-token":  {Template: "GR1348941{url:20}"},
	"gitlab-deploy-token":               {Template: "gldt-{url:20}"},
	"gitlab-feed-token":                 {Template: "glft-{url:20}"},
	"gitlab-oauth-app-secret":           {Template: "gloas-{hex:64}"},
	"npm-access-token":                  {Template: "npm_{an:36}"},
	"gitlab-incoming-mail-token":        {Template: "glimt-{url:25}"},
	"gitlab-cicd-job-token":             {Template: "glcbt-{url:20}"},
	"gitlab-kubernetes-agent-token":     {Template: "glagent-{url:50}"},
	"gitlab-scim-token":                 {Template: "glsoat-{url:20}"},
	"gitlab-feature-flag-client-token":  {Template: "glffct-{url:20}"},
	"gitlab-session-cookie":             {Template: "{az09:32}", Context: "Cookie: _gitlab_session=%s"},
	"hashicorp-vault-token-legacy":      {Template: "s.{an:24}", Context: "VAULT_TOKEN=%s"},
	"onepassword-secret-key":            {Template: "A3-{AZ09:6}-{AZ09:11}-{AZ09:5}-{AZ09:5}-{AZ09:5}"},
	"onepassword-service-account-token": {Template: "ops_eyJ{an:200}"},
	"slack-config-token":                {Template: "xoxe.xoxp-1-{an:160}"},
	"slack-refresh-token":               {Template: "xoxe-1-{an:146}"},
	"slack-token":                       {Template: "xoxr-{dig:10}-{dig:12}-{an:32}"},
	"slack-workflow-webhook-url":        {Template: "https://hooks.slack.com/workflows/T{AZ09:8}/A{AZ09:10}/{dig:18}/{an:24}"},
	"mailgun-public-key":                {Template: "pubkey-{hex:32}"},
	"square-access-token-eaaa":          {Template: "EAAA{url:60}"},
	"twitter-bearer-token":              {Template: "AAAAAAAAAAAAAAAAAAAAA{an:26}%3D{an:50}"},
	"twitter-credential":                {Template: "{an:25}", Context: "TWITTER_API_KEY=%s"},
	"aws-bedrock-api-key":               {Template: "ABSK{b64:130}"},
	"jwt-base64":                        {Template: "{b64jwt}"},
	"http-authorization":                {Template: "{an:40}", Context: "curl -H \"Authorization: Bearer %s\" https://api.example.org/v1/me"},
	"curl-basic-auth":                   {Template: "deploy:{an:16}", Context: "curl -u %s https://ci.internal.test/api"},
	"nuget-config-password":             {Template: "{an:18}", Context: `<add key="ClearTextPassword" value="%s" />`},
	"azure-storage-key":                 {Template: "{b64:86}==", Context: "AZURE_STORAGE_KEY=%s"},
	"kubernetes-secret-data": {Template: "{b64an:24}",
		Context: "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app-{az09:6}\ntype: Opaque\ndata:\n  api-token: %s\n---"},
	"basic-credential-base64": {Template: "{b64cred}", Context: "    \"registry.internal.test\": { \"auth\": \"%s\" },"},
	"netrc-password":          {Template: "{an:20}", Context: "machine api.internal.test login deploy password %s"},
	"kubernetes-secret-data-json": {Template: "{b64an:24}",
		Context: "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"data\": {\"api-token\": \"%s\"}}"},
	"pkcs12-keystore":               {Template: "{p12}"},
	"pypi-upload-token":             {Template: "pypi-AgEIcHlwaS5vcmc{url:70}"},
	"rubygems-api-key":              {Template: "rubygems_{hex:48}"},
	"nuget-api-key":                 {Template: "oy2{az09:43}"},
	"dockerhub-pat":                 {Template: "dckr_pat_{url:27}"},
	"clojars-deploy-token":          {Template: "CLOJARS_{az09:60}"},
	"atlassian-api-token":           {Template: "ATATT3{an:177}={HEX:8}"},
	"bitbucket-app-password":        {Template: "ATBB{an:32}"},
	"postman-api-key":               {Template: "PMAK-{hex:24}-{hex:34}"},
	"linear-api-key":                {Template: "lin_api_{an:40}"},
	"sentry-org-token":              {Template: "sntrys_eyJ{an:90}_{an:43}"},
	"sentry-user-token":             {Template: "sntryu_{hex:64}"},
	"terraform-cloud-token":         {Template: "{an:14}.atlasv1.{an:67}"},
	"hashicorp-vault-token":         {Template: "hvs.{an:92}"},
	"pulumi-access-token":           {Template: "pul-{hex:40}"},
	"doppler-token":                 {Template: "dp.pt.{an:43}"},
	"age-secret-key":                {Template: "AGE-SECRET-KEY-1{bech:58}"},
	"grafana-cloud-token":           {Template: "glc_{an:80}"},
	"grafana-service-account-token": {Template: "glsa_{an:32}_{hex:8}"},
	"newrelic-user-key":             {Template: "NRAK-{AZ09:27}"},
	"dynatrace-token":               {Template: "dt0c01.{AZ09:24}.{AZ09:64}"},
	"supabase-access-token":         {Template: "sbp_{hex:40}"},
	"planetscale-token":             {Template: "pscale_tkn_{an:43}"},
	"prefect-api-key":               {Template: "pnu_{an:36}"},

	"aws-access-key-id":          {Template: "AKIA{AZ27:16}"},
	"aws-secret-access-key":      {Template: "{b64:40}", Context: "aws_secret_access_key = %s"},
	"google-api-key":             {Template: "AIza{url:35}"},
	"gcp-service-account-key":    {Template: "{gcpkey}", Context: `  "private_key": "%s",`},
	"google-oauth-client-secret": {Template: "GOCSPX-{url:28}"},
	"google-oauth-access-token":  {Template: "ya29.{url:120}"},
	"azure-storage-account-key": {Template: "{b64:86}==",
		Context: "DefaultEndpointsProtocol=https;AccountName=acct{az09:8};AccountKey=%s;EndpointSuffix=core.windows.net"},
	"azure-shared-access-key": {Template: "{b64:43}=",
		Context: "Endpoint=sb://ns{az09:8}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=%s"},
	"azure-sas-token": {Template: "{an:43}%3D",
		Context: "blob_url = \"https://acct{az09:6}.blob.core.windows.net/data/report.csv?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig=%s\""},
	"azure-ad-client-secret":      {Template: "{an:3}{dig:1}Q~{an:34}"},
	"digitalocean-pat":            {Template: "dop_v1_{hex:64}"},
	"digitalocean-oauth-token":    {Template: "doo_v1_{hex:64}"},
	"digitalocean-refresh-token":  {Template: "dor_v1_{hex:64}"},
	"heroku-api-key":              {Template: "HRKU-AA{url:58}"},
	"heroku-api-key-legacy":       {Template: "{uuid}", Context: "HEROKU_API_KEY=%s"},
	"databricks-token":            {Template: "dapi{hex:32}"},
	"alibaba-access-key-id":       {Template: "LTAI{an:20}"},
	"cloudflare-origin-ca-key":    {Template: "v1.0-{hex:24}-{hex:146}"},
	"shopify-access-token":        {Template: "shpat_{hex:32}"},
	"shopify-custom-app-token":    {Template: "shpca_{hex:32}"},
	"shopify-private-app-token":   {Template: "shppa_{hex:32}"},
	"shopify-shared-secret":       {Template: "shpss_{hex:32}"},
	"slack-bot-token":             {Template: "xoxb-{dig:12}-{dig:13}-{an:24}"},
	"slack-user-token":            {Template: "xoxp-{dig:12}-{dig:12}-{dig:13}-{hex:32}"},
	"slack-app-token":             {Template: "xapp-1-A{AZ09:10}-{dig:13}-{hex:64}"},
	"slack-webhook-url":           {Template: "https://hooks.slack.com/services/T{AZ09:8}/B{AZ09:10}/{an:24}"},
	"discord-webhook-url":         {Template: "https://discord.com/api/webhooks/{dig:18}/{url:68}"},
	"discord-bot-token":           {Template: "M{an:25}.{url:6}.{url:38}", Context: "DISCORD_BOT_TOKEN=%s"},
	"telegram-bot-token":          {Template: "{dig:10}:AA{url:33}"},
	"stripe-secret-key":           {Template: "sk_live_{an:24}"},
	"stripe-restricted-key":       {Template: "rk_live_{an:24}"},
	"stripe-webhook-secret":       {Template: "whsec_{an:32}"},
	"twilio-api-key":              {Template: "SK{hex:32}"},
	"twilio-auth-token":           {Template: "{hex:32}", Context: "TWILIO_AUTH_TOKEN=%s"},
	"sendgrid-api-key":            {Template: "SG.{url:22}.{url:43}"},
	"mailgun-api-key":             {Template: "key-{hex:32}"},
	"mailchimp-api-key":           {Template: "{hex:32}-us1{dig:1}"},
	"brevo-api-key":               {Template: "xkeysib-{hex:64}-{an:16}"},
	"square-access-token":         {Template: "sq0atp-{url:22}"},
	"square-oauth-secret":         {Template: "sq0csp-{url:43}"},
	"notion-integration-token":    {Template: "ntn_{dig:11}{an:35}"},
	"mapbox-secret-token":         {Template: "sk.eyJ{url:60}.{url:22}"},
	"openai-api-key":              {Template: "sk-proj-{url:58}T3BlbkFJ{url:58}"},
	"anthropic-api-key":           {Template: "sk-ant-api03-{url:93}AA"},
	"huggingface-token":           {Template: "hf_{alpha:34}"},
	"huggingface-org-token":       {Template: "api_org_{alpha:34}"},
	"groq-api-key":                {Template: "gsk_{an:52}"},
	"replicate-api-token":         {Template: "r8_{an:37}"},
	"perplexity-api-key":          {Template: "pplx-{an:48}"},
	"langsmith-api-key":           {Template: "lsv2_pt_{hex:32}_{hex:10}"},
	"private-key-rsa":             {Template: "{pem:RSA PRIVATE KEY}", Multi: true},
	"private-key-dsa":             {Template: "{pem:DSA PRIVATE KEY}", Multi: true},
	"private-key-ec":              {Template: "{pem:EC PRIVATE KEY}", Multi: true},
	"private-key-openssh":         {Template: "{pem:OPENSSH PRIVATE KEY}", Multi: true},
	"private-key-pkcs8":           {Template: "{pem:PRIVATE KEY}", Multi: true},
	"private-key-pkcs8-encrypted": {Template: "{pem:ENCRYPTED PRIVATE KEY}", Multi: true},
	"private-key-pgp":             {Template: "{pgp}", Multi: true},
	"private-key-ssh2":            {Template: "{ssh2}", Multi: true},
	"private-key-putty":           {Template: "{putty}", Multi: true},
	"jwt":                         {Template: "eyJ{url:20}.eyJ{url:40}.{url:43}"},
	"database-url":                {Template: "postgres://app_{az09:4}:{an:18}@db-{az09:6}.internal:5432/app"},
	"basic-auth-url":              {Template: "https://deploy:{an:20}@git.corp-{az09:5}.net/team/repo.git"},
	"generic-secret":              {Template: "{an:12}{pw:3}{dig:1}", Context: `password = "%s"`},
}

// Expand fills a template: {set:N} is N random characters of a set,
// {uuid} a random UUID, {pem:KIND} a fake PEM block, {gcpkey} a PEM key as a
// JSON string, {pgp}, {ssh2} and {putty} fake key files.
func Expand(r *rand.Rand, tmpl string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		b.WriteString(expandOne(r, tmpl[i+1:i+j]))
		tmpl = tmpl[i+j+1:]
	}
}

func expandOne(r *rand.Rand, spec string) string {
	name, arg, _ := strings.Cut(spec, ":")
	switch name {
	case "uuid":
		return Expand(r, "{hex:8}-{hex:4}-4{hex:3}-a{hex:3}-{hex:12}")
	case "pem":
		return pemBlock(r, arg, "\n")
	case "b64jwt":
		jwt := "eyJhbGciOiJIUzI1NiJ9.eyJ" + Expand(r, "{url:40}.{url:43}")
		return base64.StdEncoding.EncodeToString([]byte(jwt))
	case "b64cred":
		return base64.StdEncoding.EncodeToString([]byte(Expand(r, "ci-{az09:4}:{an:20}")))
	case "b64an":
		return base64.StdEncoding.EncodeToString([]byte(Expand(r, "{an:"+arg+"}")))
	case "p12":
		// A PFX header (SEQUENCE, version 3, SEQUENCE, OID pkcs7-data)
		// and random bytes: the shape of a .p12 file, base64-encoded.
		der := []byte{0x30, 0x82, 0x01, 0x40, 0x02, 0x01, 0x03, 0x30, 0x82, 0x01, 0x38,
			0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}
		for len(der) < 320 {
			der = append(der, byte(r.IntN(256)))
		}
		return base64.StdEncoding.EncodeToString(der)
	case "gcpkey":
		return pemBlock(r, "PRIVATE KEY", `\n`)
	case "pgp":
		return "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: fake test key\n\n" +
			lines(r, 10, "\n") + "=" + Expand(r, "{an:4}") + "\n-----END PGP PRIVATE KEY BLOCK-----"
	case "ssh2":
		return "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"fake test key\"\n" +
			lines(r, 8, "\n") + "---- END SSH2 ENCRYPTED PRIVATE KEY ----"
	case "putty":
		return "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: fake-test-key\nPublic-Lines: 2\n" +
			lines(r, 2, "\n") + "Private-Lines: 1\n" + lines(r, 1, "\n") + "Private-MAC: " + Expand(r, "{hex:64}")
	}
	set, ok := charsets[name]
	n, err := strconv.Atoi(arg)
	if !ok || err != nil {
		return "{" + spec + "}"
	}
	out := make([]byte, n)
	for k := range out {
		out[k] = set[r.IntN(len(set))]
	}
	return string(out)
}

// pemBlock is a fake PEM block of kind with 64-column base64 lines joined by
// nl (a newline, or `\n` for a JSON string).
func pemBlock(r *rand.Rand, kind, nl string) string {
	return "-----BEGIN " + kind + "-----" + nl + lines(r, 12, nl) + "-----END " + kind + "-----" + strings.Repeat(nl, btoi(nl != "\n"))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lines is n lines of random base64, 64 columns each, every one ended by nl.
func lines(r *rand.Rand, n int, nl string) string {
	raw := make([]byte, 48*n)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	s := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(s) > 0 {
		k := min(64, len(s))
		b.WriteString(s[:k])
		b.WriteString(nl)
		s = s[k:]
	}
	return b.String()
}
