package corpusgen

import (
	"math/rand/v2"
	"strings"
)

// language is one kind of file in a corpus.
type language struct {
	ext    string
	filler []string // ordinary lines; {w} a word, {W} a capitalised word, {n} a number
	plant  []string // lines that hold a secret: %s marks it
}

var languages = []language{
	{ext: ".go", filler: []string{
		"func ({w} *{W}) {W}{W}(ctx context.Context, {w} string) error {",
		"\t{w}, err := {w}.{W}(ctx, {w})",
		"\tif err != nil {", "\t\treturn fmt.Errorf(\"{w} {w}: %w\", err)", "\t}", "}", "",
		"\t{w} := make(map[string]int, {n})", "\tfor _, {w} := range {w}.{W} {",
		"\t// {W} {w} the {w} before {w} {w} is {w}.",
		"\ttok := lexer.NextToken() // token handling for {w}",
		"\tif !checkPassword(user, password) {",
		"\tsecretName := fmt.Sprintf(\"%s-creds\", {w})",
		"\ttokens := strings.Fields({w})", "import \"github.com/{w}/{w}\"",
	}, plant: []string{"\tapiToken := \"%s\"", "\tclient := {W}.NewClient(\"%s\")", "\tcfg.Token = \"%s\" // {w}"}},
	{ext: ".py", filler: []string{
		"def {w}_{w}(self, {w}, {w}=None):", "    \"\"\"{W} the {w} of {w}.\"\"\"",
		"    {w} = self.{w}.get({w}, {n})", "    if not {w}:", "        return {w}", "",
		"class {W}{W}({W}):", "    for {w} in {w}.{w}():", "        {w}.append({w}[{n}])",
		"    password = request.form[\"password\"]", "    token = get_token({w})",
		"    # the {w} secret sauce: {w} {w}", "import {w}.{w} as {w}",
	}, plant: []string{"API_TOKEN = \"%s\"", "    client = {W}(api_key=\"%s\")", "{w}_token = '%s'"}},
	{ext: ".js", filler: []string{
		"function {w}{W}({w}, {w}) {", "  const {w} = await {w}.{w}({w});", "  return {w}.{w}({n});", "}",
		"export default {W};", "  if ({w} === {n}) {", "  // {W} {w} {w} the {w}", "",
		"const tokenizer = new Tokenizer({ {w}: true });", "  passwordField.value = '';",
		"const token = process.env.{W}_TOKEN;", "import { {W} } from './{w}';",
	}, plant: []string{"const apiToken = \"%s\";", "  headers: { Authorization: `Bearer %s` },", "  {w}Key: '%s',"}},
	{ext: ".ts", filler: []string{
		"export interface {W} {", "  {w}: string;", "  password: string;", "  {w}?: number;", "}",
		"export async function {w}({w}: {W}): Promise<{W}> {", "  return this.{w}.{w}({w});", "",
		"  private readonly tokenStore = new Map<string, {W}>();",
	}, plant: []string{"const serviceToken: string = \"%s\";", "  apiKey: \"%s\","}},
	{ext: ".java", filler: []string{
		"public class {W}{W} implements {W} {", "    private final {W} {w};",
		"    public {W} get{W}() { return {w}; }", "    @Override", "    public void {w}({W} {w}) {",
		"        {w}.{w}({w}, {n});", "    }", "}", "",
		"    private String passwordEncoder = \"bcrypt\";",
	}, plant: []string{"    private static final String API_TOKEN = \"%s\";", "        conn.setToken(\"%s\");"}},
	{ext: ".rb", filler: []string{
		"  def {w}_{w}({w})", "    @{w} ||= {W}.new({w})", "  end", "", "module {W}", "class {W} < {W}",
		"    {w}.each do |{w}|", "    validates :password, presence: true",
	}, plant: []string{"  config.api_token = \"%s\"", "{W}.token = '%s'"}},
	{ext: ".yaml", filler: []string{
		"{w}:", "  {w}: {w}", "  {w}: {n}", "  - name: {w}-{w}", "    image: {w}/{w}:{n}",
		"    env:", "      - name: {W}_TOKEN", "        valueFrom:", "          secretKeyRef:",
		"            name: {w}-secret", "# {W} {w} {w}", "",
	}, plant: []string{"  token: %s", "  api_key: \"%s\"", "      value: %s"}},
	{ext: ".json", filler: []string{
		"{", "  \"{w}\": \"{w}\",", "  \"{w}\": {n},", "  \"{w}\": [\"{w}\", \"{w}\"],", "  \"{w}\": {", "  },", "}",
		"  \"tokenEndpoint\": \"/oauth/token\",",
	}, plant: []string{"  \"token\": \"%s\",", "  \"{w}Key\": \"%s\","}},
	{ext: ".env", filler: []string{"{W}_HOST={w}.internal", "{W}_PORT={n}", "# {w} {w}", "{W}_ENABLED=true", ""},
		plant: []string{"SERVICE_TOKEN=%s", "{W}_API_KEY=%s"}},
	{ext: ".sh", filler: []string{
		"#!/bin/sh", "set -eu", "{w}=\"$1\"", "if [ -z \"${w}\" ]; then", "  echo \"usage: {w} {w}\" >&2", "fi",
		"exec {w} --{w} \"${w}\"", "# {W} {w}", "read -r -s password",
	}, plant: []string{"export SERVICE_TOKEN=\"%s\"", "curl -H \"Authorization: token %s\" https://api.{w}.test/v1"}},
	{ext: ".md", filler: []string{
		"# {W} {W}", "", "The {w} {w} the {w} of {w} when {w} is {w}.", "- {W} {w} {w}", "```sh", "```",
		"Set a token with `{w} login`; never commit a password.",
	}, plant: []string{"Use `%s` to authenticate.", "    export TOKEN=%s"}},
	{ext: ".tf", filler: []string{
		"resource \"{w}_{w}\" \"{w}\" {", "  {w} = \"{w}\"", "  {w} = {n}", "}", "",
		"variable \"db_password\" {", "  sensitive = true",
	}, plant: []string{"  token = \"%s\"", "  api_key = \"%s\""}},
}

var words = strings.Fields(`account action address agent alert alias archive array asset audit backend
balance batch bucket buffer build bundle cache callback channel chart check client cluster codec column
commit config connect consumer container context cookie counter cursor daemon data decode delta deploy
device digest domain driver editor element encode engine entry event export feature field filter flag
format frame gateway graph group handler header health history host image index input instance invoice
item job journal kernel label layer layout ledger limit listener loader locale logger mapper marker
matrix member message metric mirror module monitor mount network node notice object offset option order
output owner packet page panel parser patch payload peer pipeline plugin policy pool port prefix printer
probe process profile project property provider proxy queue quota range reader record region registry
release render replica report request resolver resource result route router rule sample schema scope
screen search sector segment selector sender sensor server service session shard signal sketch slice
snapshot socket source span stage state status storage stream string subject summary switch table target
task template tenant thread ticket timer topic trace tracker tree trigger tuple update upload user value
vector vendor version view volume watcher widget window worker writer zone`)

// fill expands a filler template.
func fill(r *rand.Rand, t string) string {
	if !strings.Contains(t, "{") {
		return t
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 || i+2 >= len(t) || t[i+2] != '}' {
			if i < 0 {
				b.WriteString(t)
				return b.String()
			}
			b.WriteString(t[:i+1])
			t = t[i+1:]
			continue
		}
		b.WriteString(t[:i])
		switch t[i+1] {
		case 'w':
			b.WriteString(words[r.IntN(len(words))])
		case 'W':
			w := words[r.IntN(len(words))]
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		case 'n':
			b.WriteString(Expand(r, "{dig:3}"))
		default:
			b.WriteString(t[i : i+3])
		}
		t = t[i+3:]
	}
}

// decoys look like secrets to a careless scanner and are not: documentation
// examples, placeholders, template references, hashes, UUIDs, key-less
// headers. Each is one or more lines.
var decoys = []string{
	"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
	"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"api_key = \"your-api-key-here\"",
	"password: xxxxxxxx",
	"token: ${SECRET}",
	"  secret: \"{{ .Values.secret }}\"",
	"secret = os.Getenv(\"SECRET\")",
	"password = \"<password>\"",
	"DB_PASSWORD=changeme",
	"STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
	"github_token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	"  \"id\": \"{uuid}\",",
	"  token = \"{uuid}\"",
	"checksum: sha256:{hex:64}",
	"commit = \"{hex:40}\"",
	"password_hash = \"$2b$12${b64:53}\"",
	"    \"integrity\": \"sha512-{b64:86}==\",",
	"token_url = \"https://oauth2.googleapis.com/token\"",
	"secret_key = settings.SECRET_KEY",
	"DATABASE_URL=postgres://user:password@localhost:5432/app",
	"git clone https://user:${GITHUB_TOKEN}@github.com/org/repo.git",
	"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
	"password = None",
	"session_id = \"{hex:32}\"",
	"curl -H \"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\"",
	"const STRIPE_TEST = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\";",
	"  api_key: \"sk-...\"",
	"token = \"REPLACE_WITH_YOUR_TOKEN\"",
	"    image_digest: \"sha256:{hex:64}\"",
	"request_id := \"{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}\"",
	"secretName: {w}-{w}-credentials",
	"client_secret = \"********\"",
	"  etag: \"{hex:32}\"",
}
