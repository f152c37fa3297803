package scan

// uuid is the 8-4-4-4-12 hex form.
const uuid = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`

// assign is what sits between a name and its value in config and code:
// optional closing quote, then = : := => with spaces, then an opening quote.
const assign = `["'\x60]?\s{0,4}(?::=|=>|=|:)\s{0,4}["'\x60]?`

// cloudRules: cloud and hosting providers.
var cloudRules = []ruleSpec{
	{id: "aws-access-key-id", desc: "AWS access key ID",
		keywords: []string{"=AKIA", "=ASIA", "=ABIA", "=ACCA"},
		pattern:  `(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}`},
	{id: "aws-secret-access-key", desc: "AWS secret access key",
		keywords: []string{"secret_access_key", "secretaccesskey", "aws_secret"},
		pattern:  `(?i)(?:aws_?)?secret_?(?:access_?)?key` + assign + `([0-9A-Za-z/+]{40})`,
		check:    func(m []string) bool { return entropy(m[len(m)-1]) >= 4.0 }},
	{id: "google-api-key", desc: "Google API key",
		keywords: []string{"=AIza"}, pattern: `AIza[0-9A-Za-z_-]{35}`},
	{id: "gcp-service-account-key", desc: "Google Cloud service account key (JSON key file)",
		keywords: []string{`"private_key"`},
		pattern:  `"private_key"\s*:\s*"(-----BEGIN PRIVATE KEY-----\\n[0-9A-Za-z+/=\\]{64,}?-----END PRIVATE KEY-----(?:\\n)?)"`},
	{id: "google-oauth-client-secret", desc: "Google OAuth client secret",
		keywords: []string{"=GOCSPX-"}, pattern: `GOCSPX-[0-9A-Za-z_-]{28}`},
	{id: "google-oauth-access-token", desc: "Google OAuth access token",
		keywords: []string{"=ya29."}, pattern: `ya29\.[0-9A-Za-z_-]{30,}`},
	{id: "azure-storage-account-key", desc: "Azure Storage account key in a connection string",
		keywords: []string{"accountkey="}, pattern: `(?i)AccountKey=([0-9A-Za-z+/]{86}==)`},
	{id: "azure-shared-access-key", desc: "Azure Service Bus / Event Hubs / IoT Hub shared access key",
		keywords: []string{"sharedaccesskey="}, pattern: `(?i)SharedAccessKey=([0-9A-Za-z+/]{43}=)`},
	{id: "azure-sas-token", desc: "Azure shared access signature",
		keywords: []string{"sig="},
		pattern:  `sv=\d{4}-\d{2}-\d{2}[^\s"'<>]{0,300}?[?&]sig=([0-9A-Za-z%+/]{40,64})`},
	{id: "azure-ad-client-secret", desc: "Microsoft Entra ID (Azure AD) application client secret",
		keywords: []string{"q~"}, pattern: `[0-9A-Za-z_~.-]{3}\dQ~[0-9A-Za-z_~.-]{31,34}`,
		check: func(m []string) bool { return entropy(m[0]) >= 3.5 }},
	{id: "digitalocean-pat", desc: "DigitalOcean personal access token",
		keywords: []string{"dop_v1_"}, pattern: `dop_v1_[0-9a-f]{64}`},
	{id: "digitalocean-oauth-token", desc: "DigitalOcean OAuth token",
		keywords: []string{"doo_v1_"}, pattern: `doo_v1_[0-9a-f]{64}`},
	{id: "digitalocean-refresh-token", desc: "DigitalOcean OAuth refresh token",
		keywords: []string{"dor_v1_"}, pattern: `dor_v1_[0-9a-f]{64}`},
	{id: "heroku-api-key", desc: "Heroku API key",
		keywords: []string{"=HRKU-AA"}, pattern: `HRKU-AA[0-9A-Za-z_-]{58}`},
	{id: "heroku-api-key-legacy", desc: "Heroku API key (UUID form, next to the word heroku)",
		keywords: []string{"heroku"},
		pattern:  `(?i)heroku[\w.-]{0,20}(?:key|token|secret)` + assign + `(` + uuid + `)`},
	{id: "databricks-token", desc: "Databricks personal access token",
		keywords: []string{"=dapi"}, pattern: `dapi[0-9a-f]{32}(?:-\d)?`},
	{id: "alibaba-access-key-id", desc: "Alibaba Cloud AccessKey ID",
		keywords: []string{"=LTAI"}, pattern: `LTAI[0-9A-Za-z]{20}`},
	{id: "cloudflare-origin-ca-key", desc: "Cloudflare Origin CA key",
		keywords: []string{"v1.0-"}, pattern: `v1\.0-[0-9a-f]{24}-[0-9a-f]{146}`},
	{id: "shopify-access-token", desc: "Shopify Admin API access token",
		keywords: []string{"shpat_"}, pattern: `shpat_[0-9a-fA-F]{32}`},
	{id: "shopify-custom-app-token", desc: "Shopify custom app access token",
		keywords: []string{"shpca_"}, pattern: `shpca_[0-9a-fA-F]{32}`},
	{id: "shopify-private-app-token", desc: "Shopify private app access token",
		keywords: []string{"shppa_"}, pattern: `shppa_[0-9a-fA-F]{32}`},
	{id: "shopify-shared-secret", desc: "Shopify app shared secret",
		keywords: []string{"shpss_"}, pattern: `shpss_[0-9a-fA-F]{32}`},
}
