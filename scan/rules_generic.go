package scan

import (
	"bytes"
	"encoding/base64"
	"math"
	"strings"
)

// pem builds the rule for one PEM private key kind. A header alone (in a
// parser, in documentation) does not fire: the block must go on with a
// base64 line, possibly after RFC 1421 headers (Proc-Type, DEK-Info) or
// armor headers (Version, Comment), indented or not (YAML block scalars). The match runs to the END line when it is
// near (Rule.until), so the fingerprint covers the whole key. Newlines may be real or
// escaped (`\n` inside JSON and YAML strings).
func pem(id, kind, desc string) ruleSpec {
	nl := `(?:\r?\n|\\r?\\n)`
	return ruleSpec{id: id, desc: desc, multiline: true, until: "-----END " + kind + "-----",
		keywords: []string{"begin " + strings.ToLower(kind) + "-----"},
		pattern: `-----BEGIN ` + kind + `-----` + nl + `(?:[ \t]*[A-Za-z-]+: ?[^\r\n\\]*` + nl + `)*(?:[ \t]*` + nl + `)?` +
			`[ \t]*[0-9A-Za-z+/=]{40,}`}
}

// keyRules: private keys and signed tokens.
var keyRules = []ruleSpec{
	pem("private-key-rsa", "RSA PRIVATE KEY", "RSA private key (PKCS #1 PEM)"),
	pem("private-key-dsa", "DSA PRIVATE KEY", "DSA private key (PEM)"),
	pem("private-key-ec", "EC PRIVATE KEY", "EC private key (SEC 1 PEM)"),
	pem("private-key-openssh", "OPENSSH PRIVATE KEY", "OpenSSH private key"),
	pem("private-key-pkcs8", "PRIVATE KEY", "private key (PKCS #8 PEM)"),
	pem("private-key-pkcs8-encrypted", "ENCRYPTED PRIVATE KEY", "encrypted private key (PKCS #8 PEM)"),
	pem("private-key-pgp", "PGP PRIVATE KEY BLOCK", "PGP private key block"),
	{id: "private-key-ssh2", desc: "SSH.com (SSH2) private key", multiline: true,
		until:    "---- END SSH2 ENCRYPTED PRIVATE KEY ----",
		keywords: []string{"begin ssh2 encrypted private key ----"},
		pattern:  `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\r?\n(?:[ \t]*[A-Za-z-]+: [^\r\n]*\r?\n)*[ \t]*[0-9A-Za-z+/=]{40,}`},
	{id: "private-key-putty", desc: "PuTTY private key file", multiline: true,
		keywords: []string{"putty-user-key-file-"},
		pattern:  `PuTTY-User-Key-File-[23]: [^\r\n]+\r?\n(?:[^\r\n]*\r?\n){0,40}?[ \t]*Private-Lines: \d+\r?\n[ \t]*[0-9A-Za-z+/=]{40,}`},
	{id: "jwt", desc: "JSON Web Token",
		keywords: []string{"eyj"},
		pattern:  `eyJ[0-9A-Za-z_-]{10,}\.eyJ[0-9A-Za-z_-]{10,}\.[0-9A-Za-z_-]{20,}`},
}

// headerRules: credentials in HTTP headers and command lines.
var headerRules = []ruleSpec{
	{id: "jwt-base64", desc: "JSON Web Token, base64-encoded again",
		keywords: []string{"=ZXlK"}, pattern: `ZXlK[0-9A-Za-z+/]{60,}={0,2}`, check: base64JWT},
	{id: "http-authorization", desc: "credential in an HTTP Authorization header (Bearer, Basic, token, ApiKey, Bot…)",
		keywords: []string{"bearer", "authorization"},
		// Any scheme: Bearer, Basic, token, and the vendors' own (ApiKey,
		// Bot, SSWS, GenieKey, Key…). A header set by a call
		// (setRequestHeader("Authorization", "…")) has a comma.
		pattern: `(?i)(?:\bbearer|authorization["']?\s{0,4}[:=,]\s{0,4}["']?([A-Za-z][0-9A-Za-z_-]{1,24}))\s+([0-9A-Za-z._~+/-]{16,}=*)`,
		check:   authValue},
	{id: "curl-basic-auth", desc: "user and password on a curl command line (-u, --user)", human: true,
		keywords: []string{"curl"},
		pattern:  `\bcurl\b[^\r\n]{0,200}?\s(?:-u|--user)[\s=]{0,3}["']?([^\s"':$]{1,64}:[^\s"']{8,128})`,
		check: func(m []string) bool {
			_, pw, _ := strings.Cut(m[1], ":")
			return !strings.HasPrefix(pw, "$") && !strings.HasPrefix(pw, "%") && !weakWords[strings.ToLower(pw)] && longestRun(pw) < len(pw)
		}},
	{id: "basic-credential-base64", desc: "user:password in base64 (Docker config.json auth, .npmrc _auth)", human: true,
		keywords: []string{`"auth"`, "_auth"}, at: base64CredentialAt,
		check: func(m []string) bool {
			b, err := base64.StdEncoding.DecodeString(m[1])
			return err == nil && credentialPair(string(b))
		}},
	{id: "netrc-password", desc: "password in a .netrc machine entry", human: true,
		keywords: []string{"password"}, at: netrcAt,
		vet: func(m []string, conf bool) bool {
			// password p on a line of its own counts in configuration
			// files only (a .netrc entry over several lines).
			if m[2] != "" {
				return conf && credentialPassword(m[2])
			}
			return credentialPassword(m[1])
		}},
	{id: "nuget-config-password", desc: "password in a NuGet.config package source", human: true,
		keywords: []string{"cleartextpassword"},
		pattern:  `(?i)key=["']ClearTextPassword["']\s+value=["']([^"'$%]{10,256})["']`},
	{id: "azure-storage-key", desc: "Azure Storage account key outside a connection string",
		keywords: []string{"azure_key", "azurekey", "azure_storage_key", "azurestoragekey", "storage_key", "storagekey",
			"storage-key", "storage.key", "storage_account_key", "storageaccountkey", "account_key", "accountkey", "account-key",
			"access_key", "accesskey", "access-key"},
		// Assigned (AZURE_STORAGE_KEY=…, "storageAccountKey": "…") or
		// passed as a flag (az --account-key …, -StorageAccountKey "…").
		pattern: `(?i)(?:azure|storage|account|access)[\w.-]{0,30}key(?:` + assign + `|["']?\s+["']?)([0-9A-Za-z+/]{86}==)`,
		check:   func(m []string) bool { return entropy(m[len(m)-1]) >= 4.5 }},
}

// base64CredentialAt matches "auth": "…" and _auth=… at the keyword hit
// [ks, ke) of win: group 1 is the base64 value.
func base64CredentialAt(win []byte, ks, ke int) []int {
	sp := func(i int) int {
		for i < len(win) && (win[i] == ' ' || win[i] == '\t') {
			i++
		}
		return i
	}
	i := sp(ke)
	quote := false
	switch {
	case win[ks] == '"' && i < len(win) && win[i] == ':':
		i = sp(i + 1)
		if i >= len(win) || win[i] != '"' {
			return nil
		}
		i, quote = i+1, true
	case win[ks] == '_' && i < len(win) && win[i] == '=':
		i = sp(i + 1)
		if i < len(win) && (win[i] == '"' || win[i] == '\'') {
			i, quote = i+1, true
		}
	default:
		return nil
	}
	j := i
	for j < len(win) && (isAlnum(win[j]) || win[j] == '+' || win[j] == '/') {
		j++
	}
	for j < len(win) && j-i < 1024 && win[j] == '=' {
		j++
	}
	if j-i < 8 || j-i > 1024 || quote && (j >= len(win) || win[j] != '"' && win[j] != '\'') {
		return nil
	}
	return []int{ks, j, i, j}
}

// netrcAt matches a .netrc password at the keyword hit [ks, ke) of the line
// win: after machine NAME (or default) on the same line (group 1), or
// alone on its line (group 2).
func netrcAt(win []byte, ks, ke int) []int {
	if ke >= len(win) || win[ke] != ' ' && win[ke] != '\t' || ks > 0 && win[ks-1] != ' ' && win[ks-1] != '\t' {
		return nil
	}
	head := bytes.TrimSpace(win[:ks])
	g := 0
	switch {
	case len(head) == 0:
		g = 2
	case bytes.HasPrefix(head, []byte("machine ")) || bytes.HasPrefix(head, []byte("default")) ||
		bytes.Contains(head, []byte(" machine ")):
		g = 1
	default:
		return nil
	}
	i := ke
	for i < len(win) && (win[i] == ' ' || win[i] == '\t') {
		i++
	}
	j := i
	for j < len(win) && win[j] != ' ' && win[j] != '\t' && win[j] != '\r' && win[j] != '\n' {
		j++
	}
	if j-i < 6 || j-i > 128 {
		return nil
	}
	if g == 2 && len(bytes.TrimSpace(win[j:])) > 0 {
		return nil // more words: prose
	}
	loc := []int{ks, j, -1, -1, -1, -1}
	loc[2*g], loc[2*g+1] = i, j
	return loc
}

// credentialPair: user:password, with a password that is not a stand-in.
func credentialPair(s string) bool {
	user, pw, ok := strings.Cut(s, ":")
	return ok && user != "" && !strings.ContainsAny(user, "\x00\r\n") && credentialPassword(pw)
}

// credentialPassword: a password written out, not a stand-in, a reference
// or a mask.
func credentialPassword(pw string) bool {
	return len(pw) >= 6 && !weakWords[strings.ToLower(pw)] && !isPlaceholder(pw) &&
		!strings.HasPrefix(pw, "$") && !strings.HasPrefix(pw, "%") && longestRun(pw) < len(pw) &&
		!strings.ContainsFunc(pw, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// base64JWT: the match decodes to a JSON Web Token.
func base64JWT(m []string) bool {
	b, err := base64.StdEncoding.DecodeString(m[0])
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(m[0], "="))
	}
	if err != nil {
		return false
	}
	parts := strings.Split(strings.TrimSpace(string(b)), ".")
	return len(parts) == 3 && strings.HasPrefix(parts[1], "eyJ") && len(parts[2]) >= 16
}

// authValue vets an Authorization header's credential: Basic must decode
// to user:password, a bearer token must look random.
func authValue(m []string) bool {
	v := m[len(m)-1]
	if strings.EqualFold(m[1], "basic") {
		b, err := base64.StdEncoding.DecodeString(v)
		user, pw, ok := strings.Cut(string(b), ":")
		return err == nil && ok && user != "" && len(pw) >= 3 && !weakWords[strings.ToLower(pw)] && !isPlaceholder(pw)
	}
	return letterDigitSwitches(v) >= 3 && entropy(v) >= 3.5 && !wordish(v)
}

// genericRules go last: anything more specific wins an overlap with them.
// They are matched at each keyword hit (Rule.at) rather than by an
// expression over the whole line: their expressions have no literal prefix,
// and running them unanchored over every line that says "token" would cost
// more than everything else together.
var genericRules = []ruleSpec{
	{id: "database-url", desc: "database connection URL with a password", human: true,
		keywords: []string{"://"}, at: urlAt(dbSchemes), check: urlPassword},
	{id: "basic-auth-url", desc: "URL with a password in it (basic auth)", human: true,
		keywords: []string{"://"}, at: urlAt(webSchemes), check: urlPassword},
	{id: "generic-secret", desc: "password, secret, token or API key assigned a random-looking value", human: true,
		keywords: []string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key",
			"access_key", "accesskey", "auth_key", "authkey", "credential", "_key", "-key", "=Key", "_pass", "passphrase",
			"privatekey", "appkey", "masterkey", "accountkey", "clientkey", "signingkey", "encryptionkey",
			"api.key", "access.key", "auth.key", "app.key", "private.key", "client.key", "master.key", "account.key"},
		at: genericAt, vet: genericValue, nextLines: true},
}

var (
	dbSchemes = schemeSet(`postgres postgresql mysql mariadb mongodb mongodb+srv redis rediss amqp amqps mssql
		sqlserver clickhouse cockroachdb couchdb neo4j neo4j+s oracle`)
	webSchemes = schemeSet(`http https ftp ftps sftp ssh git smtp smtps imap imaps ldap ldaps svn ws wss`)
	// urlTail is the rest of a URL with a password, from its "://".
	urlTail = lazyRegexp(`^://[^:@/\s"'<>]{1,64}:([^@/\s"'<>]{3,128})@[0-9A-Za-z.\-\[\]]+`)
)

func schemeSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Fields(list) {
		m[s] = true
	}
	return m
}

// urlAt matches a URL with a password whose "://" is at [ks, ke) and whose
// scheme (optionally after "jdbc:") is in schemes.
func urlAt(schemes map[string]bool) func(win []byte, ks, ke int) []int {
	return func(win []byte, ks, _ int) []int {
		ss := ks
		for ss > 0 && ks-ss < 32 && (isAlnum(win[ss-1]) || strings.IndexByte("+.-:", win[ss-1]) >= 0) {
			ss--
		}
		scheme := strings.ToLower(string(win[ss:ks]))
		if i := strings.LastIndexByte(scheme, ':'); i >= 0 {
			if scheme[:i] != "jdbc" {
				return nil
			}
			scheme = scheme[i+1:]
		}
		if !schemes[scheme] {
			return nil
		}
		loc := urlTail().FindSubmatchIndex(win[ks:])
		if loc == nil {
			return nil
		}
		return []int{ss, ks + loc[1], ks + loc[2], ks + loc[3]}
	}
}

// urlPassword keeps URL passwords that are not stand-ins or template
// references.
func urlPassword(m []string) bool {
	p := m[len(m)-1]
	if weakWords[strings.ToLower(p)] || strings.HasPrefix(p, "$") || strings.HasPrefix(p, "%") ||
		longestRun(p) == len(p) { // "***", "xxx": a masked password
		return false
	}
	return true
}

// weakWords are values that only ever stand in for a secret in examples.
var weakWords = map[string]bool{
	"password": true, "passwd": true, "pass": true, "pwd": true, "secret": true,
	"changeme": true, "admin": true, "root": true, "test": true, "user": true,
	"guest": true, "token": true, "none": true, "null": true, "nil": true,
	"undefined": true, "true": true, "false": true, "empty": true, "string": true,
}

// notSecretWords, as a word of the name, mark names of things about a
// secret rather than the secret (password_hash, token_url, secretName).
var notSecretWords = map[string]bool{
	"hash": true, "hashed": true, "digest": true, "checksum": true, "sha": true, "sha1": true,
	"sha256": true, "sha512": true, "md5": true, "salt": true, "nonce": true, "id": true,
	"uuid": true, "len": true, "length": true, "size": true, "type": true, "name": true,
	"field": true, "file": true, "path": true, "dir": true, "url": true, "uri": true,
	"endpoint": true, "header": true, "prefix": true, "regex": true, "pattern": true,
	"format": true, "label": true, "version": true, "count": true, "env": true, "var": true,
	"expiry": true, "expires": true, "expiration": true, "ttl": true, "max": true, "min": true,
	"policy": true, "provider": true, "mode": true, "hint": true, "ref": true, "param": true,
	"placeholder": true, "template": true, "example": true, "test": true, "mock": true,
	"num": true, "uses": true, "skip": true, "expected": true,
	// names of keys that are not secrets: database, cache and map keys,
	// public halves.
	"public": true, "pub": true, "primary": true, "foreign": true, "sort": true, "partition": true,
	"cache": true, "idempotency": true, "lookup": true, "unique": true, "index": true, "map": true,
	"dedup": true, "row": true, "group": true, "object": true, "s3": true, "bucket": true,
	"i18n": true, "translation": true, "locale": true, "message": true, "msg": true, "error": true,
	"column": true, "table": true, "attr": true, "attribute": true, "property": true, "prop": true,
	"cursor": true, "shard": true, "routing": true, "composite": true, "dimension": true, "metric": true,
	"event": true, "state": true, "short": true, "hot": true, "sequence": true, "seq": true,
	"fingerprint": true, "thumbprint": true, "usage": true, "entry": true, "entries": true,
	"publishable": true,
}

// nameWords splits an identifier at punctuation and lower-to-upper case
// changes: "db.passwordHash_v2" → db password hash v2.
func nameWords(name string) []string {
	var words []string
	start := 0
	flush := func(i int) {
		if i > start {
			words = append(words, strings.ToLower(name[start:i]))
		}
		start = i
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		switch {
		case !isAlnum(b):
			flush(i)
			start = i + 1
		case i > 0 && 'A' <= b && b <= 'Z' && 'a' <= name[i-1] && name[i-1] <= 'z':
			flush(i)
		}
	}
	flush(len(name))
	return words
}

func notSecretName(name string) bool {
	ws := nameWords(name)
	for i, w := range ws {
		if notSecretWords[w] {
			return true
		}
		// A CAPTCHA's site key (reCAPTCHA, hCaptcha, Turnstile) is put in
		// every page; its secret key is the secret.
		if w == "site" && i+1 < len(ws) && ws[i+1] == "key" {
			return true
		}
	}
	return false
}

var (
	uuidRE = lazyRegexp(`^` + uuid + `$`)
	hexRE  = lazyRegexp(`^[0-9a-fA-F]+$`)
	// wordsRE: letters in words joined by - _ . or spaces, no digit: a
	// name ("X-Fake-Connection-Token"), not a credential.
	wordsRE = lazyRegexp(`^[A-Za-z]+(?:[-_. :/]+[A-Za-z]+)*[.,:;!?]?$`)
	// dateRE: a timestamp; hostPathRE: a URL without its scheme or a Go
	// import path.
	dateRE     = lazyRegexp(`^\d{4}-\d{2}-\d{2}`)
	hostPathRE = lazyRegexp(`^[a-z0-9-]+(?:\.[a-z0-9-]+)+/`)
	identRE    = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*(?:[.:]+[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?$`)
)

// charClasses counts which of lower case, upper case, digits and others occur.
func charClasses(s string) int {
	var lower, upper, digit, other int
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z':
			lower = 1
		case 'A' <= b && b <= 'Z':
			upper = 1
		case '0' <= b && b <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	return lower + upper + digit + other
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
