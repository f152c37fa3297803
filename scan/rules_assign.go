package scan

import (
	"bytes"
	"encoding/base64"
	"path"
	"strconv"
	"strings"
)

// confExts are the extensions of configuration files: there an unquoted
// value is a value (API_KEY=kq8Jd7…), not the name of a variable.
var confExts = map[string]bool{
	".env": true, ".yaml": true, ".yml": true, ".ini": true, ".cfg": true, ".conf": true,
	".properties": true, ".toml": true, ".envrc": true, ".config": true, ".cnf": true,
	".tfvars": true, ".npmrc": true, ".pypirc": true, ".netrc": true, ".secrets": true,
}

// isConfFile reports whether the file name is a configuration file's:
// by extension, or a plaintext env file (IsEnvFile: .env.local, prod.env;
// env.sh does not count).
func isConfFile(file string) bool {
	base := strings.ToLower(path.Base(strings.ReplaceAll(file, "\\", "/")))
	if IsEnvFile(base) || base == "dockerfile" || base == "makefile" {
		return true
	}
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return confExts[base[i:]]
	}
	return false
}

// dotenvLine reports whether the match loc (name loc[2:4], value's end
// loc[1]) is the whole of its line but for spaces, an "export", "set" or
// "ENV" before it and a comment after it: a line of a dotenv, shell,
// YAML or INI file whatever the file is called.
func dotenvLine(win []byte, loc []int) bool {
	if len(loc) < 4 || loc[2] < 0 {
		return false
	}
	ls := bytes.LastIndexByte(win[:loc[2]], '\n') + 1
	head := strings.TrimSpace(string(win[ls:loc[2]]))
	exported := false
	for _, w := range []string{"export", "set", "ENV", "setenv", "declare -x"} {
		if head == w || strings.HasPrefix(head, w+" ") {
			head, exported = strings.TrimSpace(head[len(w):]), true
		}
	}
	if head == "-" { // a YAML list item
		head = ""
	}
	if head != "" {
		return false
	}
	// Code writes name = value with spaces; dotenv and shell NAME=value,
	// YAML name: value.
	op := string(win[loc[3]:min(loc[3]+2, len(win))])
	if !exported && !strings.HasPrefix(op, "=") && op != ": " {
		return false
	}
	end := loc[1]
	if end < len(win) && (win[end] == '"' || win[end] == '\'') {
		end++
	}
	le := bytes.IndexByte(win[end:], '\n')
	if le < 0 {
		le = len(win) - end
	}
	tail := strings.TrimSpace(string(win[end : end+le]))
	return tail == "" || tail[0] == '#' || tail[0] == ';'
}

// genericAt matches an assignment to a name holding the keyword at
// [ks, ke). The name (group 1) runs back from the keyword over word
// characters, dots and dashes (40 at most) and on for 20 more. Then comes
// one of the ways languages and formats assign:
//
//	name = v   name: v   name := v   name => v   name ?= v   name ::= v
//	name .= v  name += v  name ||= v  var name string = v  name: string = v
//	"name", "v"  (setProperty, setenv, put)   key="name" value="v"
//	<name>v</name>   \"name\": \"v\"  (JSON inside a string)
//
// and a quoted (group 2) or bare (group 3) value of 8 to 200 characters.
// It is written out by hand because it runs at every "token" and
// "password" in the code.
func genericAt(win []byte, ks, ke int) []int {
	isName := func(b byte) bool { return isAlnum(b) || b == '_' || b == '.' || b == '-' }
	isQuote := func(b byte) bool { return b == '"' || b == '\'' || b == '`' }
	isSpace := func(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '\f' || b == '\v' }
	// skip passes blanks on the line; the window holds the next lines too.
	skip := func(i int) int {
		for n := 0; n < 4 && i < len(win) && (win[i] == ' ' || win[i] == '\t' || win[i] == '\r'); n++ {
			i++
		}
		return i
	}
	// nextLine returns the bounds of the trimmed line after the newline
	// at or after i (blanks before it allowed), or -1.
	nextLine := func(i int) (int, int) {
		i = skip(i)
		if i >= len(win) || win[i] != '\n' {
			return -1, -1
		}
		vs := i + 1
		for vs < len(win) && (win[vs] == ' ' || win[vs] == '\t') {
			vs++
		}
		if vs == i+1 { // the value of a block is indented
			return -1, -1
		}
		ve := vs
		for ve < len(win) && !isSpace(win[ve]) {
			ve++
		}
		if t := skip(ve); t < len(win) && win[t] != '\n' {
			return -1, -1 // more than one word: prose, not a value
		}
		return vs, ve
	}
	i := ke
	for i < len(win) && isName(win[i]) {
		i++
	}
	if i-ke > 20 {
		return nil
	}
	ne := i
	ns := ks
	for ns > 0 && ks-ns < 40 && isName(win[ns-1]) {
		ns--
	}
	// Names end in dots and dashes only in prose ("the token.").
	for ne > ke && (win[ne-1] == '.' || win[ne-1] == '-') {
		ne--
	}
	i = ne
	if ns > 0 && win[ns-1] == ':' && i < len(win) && win[i] == ':' && !bytes.HasPrefix(win[i:], []byte("::=")) {
		return nil // a segment of an ARN or URN: arn:aws:secretsmanager:…:secret:name
	}
	// out is allocated only once the name is followed by an assignment:
	// most keyword hits are not.
	var out []int
	newOut := func() []int { return []int{ns, 0, ns, ne, -1, -1, -1, -1} }
	// <name>value</name>
	if ns > 0 && win[ns-1] == '<' && i < len(win) && win[i] == '>' {
		if vs, ve := nextLine(i + 1); vs >= 0 {
			// <name>
			//     value
			// </name>
			if k := skip(bytes.IndexByte(win[ve:], '\n') + ve + 1); ve-vs >= 8 && ve-vs <= 200 &&
				bytes.IndexByte(win[ve:], '\n') >= 0 && bytes.HasPrefix(bytes.TrimLeft(win[k:], " \t"), []byte("</")) {
				out = newOut()
				out[1], out[4], out[5] = ve, vs, ve
				return out
			}
			return nil
		}
		vs := i + 1
		j := bytes.IndexByte(win[vs:], '<')
		if j < 8 || j > 200 || !bytes.HasPrefix(win[vs+j:], []byte("</")) {
			return nil
		}
		v := win[vs : vs+j]
		if bytes.ContainsAny(v, " \t\r\n") {
			return nil
		}
		out = newOut()
		out[1], out[4], out[5] = vs+j, vs, vs+j
		return out
	}
	quotedName := false
	escaped := false // the name is quoted as \" (JSON inside a string)
	switch {
	case i+1 < len(win) && win[i] == '\\' && isQuote(win[i+1]):
		i += 2
		quotedName, escaped = true, true
	case i < len(win) && isQuote(win[i]):
		i++
		quotedName = ns > 0 && isQuote(win[ns-1])
	}
	i = skip(i)
	rest := win[i:]
	colon := false
	switch {
	case bytes.HasPrefix(rest, []byte(":::=")):
		i += 4
	case bytes.HasPrefix(rest, []byte("::=")), bytes.HasPrefix(rest, []byte("||=")), bytes.HasPrefix(rest, []byte("??=")):
		i += 3
	case bytes.HasPrefix(rest, []byte(":=")), bytes.HasPrefix(rest, []byte("=>")), bytes.HasPrefix(rest, []byte("==")),
		bytes.HasPrefix(rest, []byte("?=")), bytes.HasPrefix(rest, []byte(".=")), bytes.HasPrefix(rest, []byte("+=")):
		i += 2
	case len(rest) > 0 && rest[0] == '=':
		i++
	case len(rest) > 0 && rest[0] == ':':
		i++
		colon = true
	case len(rest) > 0 && rest[0] == ',':
		i++ // setProperty("X_TOKEN", "…"), CSV
	case quotedName && bytes.HasPrefix(rest, []byte("value=")):
		i += len("value=") // <add key="ClearTextPassword" value="…" />
	default:
		// var name string = v, name: string = v
		if j := typedAssign(win, i); j > 0 {
			i = j
			break
		}
		return nil
	}
	if colon {
		// A type annotation before the "=": apiKey: string = "…".
		if j := typedAssign(win, skip(i)); j > 0 {
			i, colon = j, false
		} else if !quotedName && !escaped && (i >= len(win) || !isSpace(win[i]) && !isQuote(win[i])) {
			// name:value without a space is no YAML: Maven coordinates
			// (io.jsonwebtoken:jjwt-api), host:port, scope:action.
			return nil
		}
	}
	i = skip(i)
	if i < len(win) && (win[i] == '|' || win[i] == '>') {
		// A YAML block scalar: name: |  (or >, |-, >+) and the value
		// indented on the next line.
		j := i + 1
		if j < len(win) && (win[j] == '-' || win[j] == '+') {
			j++
		}
		vs, ve := nextLine(j)
		if vs < 0 || ve-vs < 8 || ve-vs > 200 {
			return nil
		}
		out = newOut()
		out[1], out[4], out[5] = ve, vs, ve
		return out
	}
	if i+1 < len(win) && win[i] == '\\' && isQuote(win[i+1]) {
		// \"value\"
		vs := i + 2
		j := vs
		for j < len(win) && j-vs <= 200 && win[j] != '\\' && !isQuote(win[j]) && !isSpace(win[j]) {
			j++
		}
		if j+1 >= len(win) || win[j] != '\\' || !isQuote(win[j+1]) || j-vs < 8 || j-vs > 200 {
			return nil
		}
		out = newOut()
		out[1], out[4], out[5] = j+2, vs, j
		return out
	}
	if i < len(win) && isQuote(win[i]) {
		vs := i + 1
		j := vs
		for j < len(win) && j-vs <= 200 && !isQuote(win[j]) && !isSpace(win[j]) {
			j++
		}
		if j >= len(win) || !isQuote(win[j]) || j-vs < 8 || j-vs > 200 {
			return nil
		}
		out = newOut()
		out[1], out[4], out[5] = j+1, vs, j
		return out
	}
	j := i
	for j < len(win) && j-i <= 200 && !isSpace(win[j]) && !bareStop[win[j]] {
		j++
	}
	if j-i < 8 || j-i > 200 {
		return nil
	}
	out = newOut()
	out[1], out[6], out[7] = j, i, j
	return out
}

// bareStop ends an unquoted value: quotes, separators, closing brackets,
// a tag's "<", an escape's backslash.
var bareStop = func() (t [256]bool) {
	for _, b := range []byte("\"'`;,)]}<\\") {
		t[b] = true
	}
	return t
}()

// typedAssign matches " type =" (Go's var x string =, Kotlin's and
// TypeScript's x: String =) at i and returns the offset after the "=",
// or 0.
func typedAssign(win []byte, i int) int {
	j := i
	for j < len(win) && (win[j] == ' ' || win[j] == '\t') {
		j++
	}
	ts := j
	for j < len(win) && (isAlnum(win[j]) || win[j] == '_' || win[j] == '.' || win[j] == '[' || win[j] == ']' || win[j] == '?') {
		j++
	}
	if j == ts || j-ts > 24 || !isTypeName(string(win[ts:j])) {
		return 0
	}
	for j < len(win) && (win[j] == ' ' || win[j] == '\t') {
		j++
	}
	if j < len(win) && win[j] == '=' && (j+1 >= len(win) || win[j+1] != '=') {
		return j + 1
	}
	return 0
}

// isTypeName: the string types of the languages that annotate them.
func isTypeName(t string) bool {
	switch strings.TrimSuffix(strings.ToLower(t), "?") {
	case "string", "str", "[]byte", "&str", "&'static", "text", "secret", "securestring", "char[]", "[]string":
		return true
	}
	return false
}

// letterDigitSwitches counts the places where a letter follows a digit
// or a digit a letter: many in random text (kq8Jd7Xm2), few in names
// (sha256sum, base64Encode, v2).
func letterDigitSwitches(s string) int {
	n := 0
	for i := 1; i < len(s); i++ {
		a, b := s[i-1], s[i]
		ad, bd := '0' <= a && a <= '9', '0' <= b && b <= '9'
		al := 'a' <= a && a <= 'z' || 'A' <= a && a <= 'Z'
		bl := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
		if ad && bl || al && bd {
			n++
		}
	}
	return n
}

// wordish reports whether every piece of s between _ - . is a word with
// at most a short number after it ("ec2_custom_key", "token-v2"): an
// identifier, not random text ("glimt-kq8jd7xm2…").
func wordish(s string) bool {
	for _, w := range strings.FieldsFunc(s, isWordSep) {
		i := 0
		for i < len(w) && ('a' <= w[i] && w[i] <= 'z' || 'A' <= w[i] && w[i] <= 'Z') {
			i++
		}
		k := i
		for k < len(w) && '0' <= w[k] && w[k] <= '9' {
			k++
		}
		if k != len(w) || i > 16 || i > 0 && k-i > 5 || i == 0 && k > 4 {
			return false
		}
		if i > 1 && strings.ToLower(w[1:i]) != w[1:i] && strings.ToUpper(w[:i]) != w[:i] {
			return false // mixed case inside a piece: random letters
		}
	}
	return true
}

// camelWords reports whether s reads as words in camelCase or PascalCase:
// few, long pieces (myApiKeyValue), where random letters (kqJdXmpQwE)
// break into many short ones.
func camelWords(s string) bool {
	ws := nameWords(s)
	return len(ws) > 0 && len(s)/len(ws) >= 4
}

// isWordSep: the characters between the words of an identifier, a list
// or a path.
func isWordSep(r rune) bool {
	return strings.ContainsRune("_-.;:/,+=@ ", r)
}

// isPath: a value that starts with a slash and a word (/usr/local/bin,
// /tmp/5c08f79d-…) rather than base64 that happens to start with one.
func isPath(v string) bool {
	for _, p := range strings.Split(v, "/") {
		if p != "" {
			return strings.ToLower(p) == p && wordish(p)
		}
	}
	return true
}

// pathLike: three or more slash-separated pieces, three of them words (a
// credential scope AKID/20230719/us-west-2/sts/aws4_request, a file path).
func pathLike(v string) bool {
	parts := strings.Split(v, "/")
	if len(parts) < 3 {
		return false
	}
	words := 0
	for _, p := range parts {
		if len(p) >= 3 && strings.ToLower(p) == p && wordish(p) {
			words++
		}
	}
	return words >= 3
}

// numeric: a number, in any notation strconv reads (-42.54e+10, 0x1F).
func numeric(v string) bool {
	_, err := strconv.ParseFloat(v, 64)
	if err == nil {
		return true
	}
	_, err = strconv.ParseInt(v, 0, 64)
	return err == nil
}

// randomLetters: twenty letters or more of mixed case that do not read
// as camelCase words, with the entropy of random text.
func randomLetters(v string) bool {
	return len(v) >= 20 && entropy(v) >= 4.0 && !camelWords(v) &&
		strings.ToLower(v) != v && strings.ToUpper(v) != v
}

var (
	dottedName = lazyRegexp(`^[a-z][a-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)+$`)
)

// memberAccess reports whether v holds name.member: a letter, a dot, a
// letter or underscore.
func memberAccess(v string) bool {
	for i := 1; i+1 < len(v); i++ {
		if v[i] == '.' {
			a, b := v[i-1], v[i+1]
			if (isAlnum(a) || a == '_') && ('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_') {
				return true
			}
		}
	}
	return false
}

// envRefRE: a Windows environment reference, %NAME%.
var envRefRE = lazyRegexp(`^%[A-Za-z_][A-Za-z0-9_]*%`)

// symbolPassword: a value of 12 characters or more of mixed case with
// symbols beyond the - _ . of identifiers, as password generators make
// them (TNx-WFHjGmIr^l_o).
func symbolPassword(v string) bool {
	return len(v) >= 12 && charClasses(v) >= 3 && entropy(v) >= 3.5 && strings.ContainsAny(v, "!#%*+^~=?&|")
}

var versionTail = lazyRegexp(`[-_.v]\d+(?:\.\d+)+(?:[-.][0-9A-Za-z]+)?$`)

// genericValue is the entropy gate of the generic rule. m[1] is the name,
// m[2] a quoted value, m[3] an unquoted one; conf says the assignment is
// in a configuration file or is a line of its own.
func genericValue(m []string, conf bool) bool {
	name, v, quoted := m[1], m[2], true
	if v == "" {
		v, quoted = m[3], false
	}
	low := strings.ToLower(v)
	hasDot := strings.IndexByte(v, '.') >= 0
	switch {
	case notSecretName(name),
		weakWords[low],
		leadingStandIn(v, quoted || conf),
		v[0] == '/' && isPath(v), pathLike(v), numeric(v),
		// key=value lists: Go struct tags (protobuf:"bytes,1,opt,name=key"),
		// query strings.
		strings.Contains(v, ",") && strings.Contains(v, "="),
		hasDot && dottedName().MatchString(v) && letterDigitSwitches(v) < 4, // memory.noHotAddOver4GB
		// Bare in code: member access and operators make an expression
		// (intCert.KeyUsage&x509.KeyUsageCRLSign, p.Latest-p.Min+1).
		!quoted && !conf && (hasDot && memberAccess(v) || strings.ContainsAny(v, "&|")),
		strings.Contains(v, "(") && strings.Contains(v, ")"), // a call
		dateRE().MatchString(v), hostPathRE().MatchString(v),
		strings.Contains(v, "://"), strings.Contains(v, "${"), strings.Contains(v, "()"),
		hasDot && versionTail().MatchString(v) && letterDigitSwitches(v) < 6,
		!quoted && strings.Contains(m[0], "=="),
		!quoted && strings.Contains(strings.TrimRight(v, "="), "="), // a=b&c=d chains
		!quoted && (strings.ContainsAny(v, "([{") || !conf && strings.Contains(v, "*") || strings.HasSuffix(v, ":")),
		wordish(v),
		wordsRE().MatchString(v) && !(conf && randomLetters(v)),
		strings.HasPrefix(low, strings.ToLower(strings.TrimLeft(name, "._-"))):
		return false
	}
	if strings.HasPrefix(v, "pk_live_") || strings.HasPrefix(v, "pk_test_") {
		return false // a publishable key (Stripe, Clerk): public by design
	}
	if base64StandIn(v) {
		return false
	}
	if uuidRE().MatchString(v) && len(nameWords(name)) < 2 && !strings.Contains(strings.ToLower(name), "key") &&
		!strings.Contains(strings.ToLower(name), "secret") && !strings.Contains(strings.ToLower(name), "pass") {
		// A UUID under a bare "token" is as often a request or session
		// ID as a credential; under hubspot_token or api_key it is a key.
		return false
	}
	if uuidRE().MatchString(v) || hexRE().MatchString(v) {
		// Hex and UUIDs under a secret's name are secrets (Datadog,
		// Algolia, HubSpot, Facebook app secrets); bare hashes never get
		// here, their names lack the words. Counters and masks do not
		// pass: the value must mix digits and letters.
		return len(v) >= 16 && letterDigitSwitches(v) >= 4 && entropy(v) >= 3.0
	}
	if !quoted && identRE().MatchString(v) {
		// An unquoted word of letters, digits and _ is a variable in code,
		// a value in a config file. Either way only random-looking text
		// counts: digits among the letters, or (in config) many short
		// pieces of mixed case.
		sw := letterDigitSwitches(v)
		switch {
		case conf && sw >= 2 && entropy(v) >= 3.0,
			!conf && sw >= 4 && entropy(v) >= 3.3:
			return true
		case conf && sw == 0 && randomLetters(v):
			return true
		}
		return false
	}
	if !quoted && !strings.ContainsAny(v, "0123456789") && !(conf && (randomLetters(v) || symbolPassword(v))) {
		return false
	}
	classes := charClasses(v)
	e := entropy(v)
	return classes >= 3 && e >= 3.0 ||
		classes == 2 && e >= 3.5 && len(v) >= 16 && strings.ContainsAny(v, "0123456789")
}

// base64StandIn reports whether v is base64 of a stand-in: printable text
// that is a placeholder, a weak word or an identifier ("cGFzc3dvcmQ=" is
// "password"; a Kubernetes Secret's data holds such values).
func base64StandIn(v string) bool {
	if len(v) < 8 || len(v)%4 != 0 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return false
		}
	}
	d := string(b)
	return isPlaceholder(d) || weakWords[strings.ToLower(d)] || wordish(d)
}

// leadingStandIn reports whether v's first character makes it a reference,
// a path or markup rather than a value: $VAR, {…}, <…>, @file, ~/x, [list],
// (call), :symbol, \escape always; %VAR% and %(x)s, ./path and .name,
// *glob and #comment unless the value is written as a value (quoted, or
// in a configuration file) and reads as random text: a password may start
// with any symbol (%LjnZ#V…, .5Hyk_Qu3M…).
func leadingStandIn(v string, asValue bool) bool {
	switch v[0] {
	case '$', '{', '<', '@', '~', '[', '(', ':', '\\', '&':
		return true
	case '%', '.', '*', '#':
	default:
		return false
	}
	if !asValue || len(v) < 10 || charClasses(v) < 3 || entropy(v) < 3.0 {
		return true
	}
	switch {
	case v[0] == '%' && (envRefRE().MatchString(v) || strings.ContainsAny(v[1:2], "(sdvqxf")),
		v[0] == '.' && (strings.HasPrefix(v, "./") || strings.HasPrefix(v, "..") || dottedName().MatchString("x"+v)),
		v[0] == '*' && (strings.HasPrefix(v, "**") || strings.HasPrefix(v, "*.") || strings.HasPrefix(v, "*/")),
		v[0] == '#' && (hexRE().MatchString(v[1:]) || strings.HasPrefix(v, "# ") || strings.HasPrefix(v, "#{")):
		return true
	}
	return false
}
