package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path"
	"strings"
	"sync"
	"unicode/utf8"
)

// containerRules: secrets in the shapes container platforms and key stores
// give them.
var containerRules = []ruleSpec{
	{id: "kubernetes-secret-data", desc: "value in a Kubernetes Secret manifest (data: base64-decoded, stringData: as written)",
		human: true, keywords: []string{"data:\n", "data:\r\n"}, all: kubeSecretAt, check: kubeSecretValue},
	{id: "kubernetes-secret-data-json", desc: "value in a Kubernetes Secret in JSON (kubectl -o json): data base64-decoded, stringData as written",
		human: true, keywords: []string{`"data":`, `"stringdata":`}, all: kubeSecretJSONAt, check: kubeSecretValue},
	{id: pkcs12Rule, desc: "PKCS #12 key store (.p12, .pfx): a private key container, binary or base64",
		// The base64 form: 30 82 LL LL 02 01 03 30 (SEQUENCE, version 3,
		// SEQUENCE) encodes as MII???IBAzCC.
		keywords: []string{"=IBAzCC"}, pattern: `MII[0-9A-Za-z+/]{3}IBAzCC[0-9A-Za-z+/]{58,}={0,2}`, check: base64PKCS12},
}

var (
	// kubeEntry: one key of a data or stringData map (the characters
	// Kubernetes allows in a key) and its one-line value.
	kubeEntry = lazyRegexp(`^([ \t]+)["']?([-._0-9A-Za-z]{1,253})["']?:[ \t]*(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s"'#|>][^\s#]*))?[ \t]*(?:#.*)?\r?$`)
)

// kubeSecretAt finds the entries of the data: or stringData: map whose
// header is the hit at [ks, ke) (ke is past its newline), when the YAML
// document holding it is of kind Secret. Each match is [name start, value
// end, section, name, value].
func kubeSecretAt(win []byte, ks, ke int) [][]int {
	ls := bytes.LastIndexByte(win[:ks], '\n') + 1
	head := win[ls:ks]
	trimmed := bytes.TrimLeft(head, " \t")
	indent := len(head) - len(trimmed)
	switch string(trimmed) {
	case "", "string":
	default:
		return nil // metadata:, userData:, a key of another map
	}
	// The document: from the last "---" line before the header to the
	// next after it (kubectl writes data before kind).
	ds, de := 0, len(win)
	if i := bytes.LastIndex(win[:ls], []byte("\n---")); i >= 0 {
		ds = i + 1
	}
	if i := bytes.Index(win[ke:], []byte("\n---")); i >= 0 {
		de = ke + i
	}
	if !kindSecretIn(win[ds:de]) {
		return nil
	}
	var out [][]int
	entryIndent := -1
	for i := ke; i < de; {
		j := bytes.IndexByte(win[i:de], '\n')
		if j < 0 {
			j = de - i
		}
		line := win[i : i+j]
		t := bytes.TrimLeft(line, " \t")
		li := len(line) - len(t)
		switch {
		case len(bytes.TrimSpace(t)) == 0 || t[0] == '#':
		case li <= indent:
			return out // the map ends
		case entryIndent < 0 || li == entryIndent:
			entryIndent = li
			if loc := kubeEntry().FindSubmatchIndex(line); loc != nil {
				for g := 6; g <= 10; g += 2 {
					if loc[g] >= 0 {
						out = append(out, []int{i + loc[4], i + loc[g+1],
							ls + indent, ks + 4, i + loc[4], i + loc[5], i + loc[g], i + loc[g+1]})
						break
					}
				}
			}
		}
		i += j + 1
	}
	return out
}

// kubeKindSecretJSON: the kind member of a Secret in JSON.
var kubeKindSecretJSON = lazyRegexp(`"kind"\s*:\s*"Secret"`)

// kindSecretIn reports whether a YAML document has the line kind: Secret
// (quoted or not, indented or as a list item, a comment after it). It is
// written out: a multi-line expression over the whole window would cost
// more than the rest of the rule.
func kindSecretIn(doc []byte) bool {
	for off := 0; ; {
		k := bytes.Index(doc[off:], []byte("kind:"))
		if k < 0 {
			return false
		}
		k += off
		off = k + 5
		ls := bytes.LastIndexByte(doc[:k], '\n') + 1
		if h := bytes.Trim(doc[ls:k], " \t-"); len(h) != 0 {
			continue
		}
		le := bytes.IndexByte(doc[off:], '\n')
		if le < 0 {
			le = len(doc) - off
		}
		v := doc[off : off+le]
		if c := bytes.IndexByte(v, '#'); c >= 0 {
			v = v[:c]
		}
		v = bytes.Trim(v, " \t\r\"'")
		if string(v) == "Secret" {
			return true
		}
	}
}

// kubeSecretJSONAt finds the members of the "data" or "stringData" object
// whose key is the hit at [ks, ke), when the window around it holds a
// Secret's kind. Matches are laid out as kubeSecretAt's.
func kubeSecretJSONAt(win []byte, ks, ke int) [][]int {
	if !bytes.Contains(win, []byte(`"Secret"`)) || !kubeKindSecretJSON().Match(win) {
		return nil
	}
	ws := func(i int) int {
		for i < len(win) && (win[i] == ' ' || win[i] == '\t' || win[i] == '\r' || win[i] == '\n') {
			i++
		}
		return i
	}
	// str reads a JSON string without escapes at i: its bounds, or -1.
	str := func(i int) (int, int) {
		if i >= len(win) || win[i] != '"' {
			return -1, -1
		}
		j := i + 1
		for j < len(win) && win[j] != '"' && win[j] != '\\' && win[j] != '\n' {
			j++
		}
		if j >= len(win) || win[j] != '"' {
			return -1, -1
		}
		return i + 1, j
	}
	i := ws(ke)
	if i >= len(win) || win[i] != '{' {
		return nil
	}
	var out [][]int
	for n := 0; n < 256; n++ {
		i = ws(i + 1)
		if i < len(win) && win[i] == '}' {
			break
		}
		ns, ne := str(i)
		if ns < 0 {
			break
		}
		i = ws(ne + 1)
		if i >= len(win) || win[i] != ':' {
			break
		}
		vs, ve := str(ws(i + 1))
		if vs < 0 {
			break
		}
		out = append(out, []int{ns, ve, ks + 1, ke - 2, ns, ne, vs, ve})
		i = ws(ve + 1)
		if i >= len(win) || win[i] != ',' {
			break
		}
	}
	return out
}

// kubeSecretValue judges one entry of a Secret: m[1] is the section
// ("data" or "stringData"), m[2] the key, m[3] the value. A data value is
// base64 and is judged decoded; what is not base64 is no Secret's data.
func kubeSecretValue(m []string) bool {
	name, v := m[2], m[3]
	if strings.HasPrefix(m[1], "data") {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(v); err != nil {
				return false
			}
		}
		v = string(b)
	}
	return secretInContainer(name, v)
}

// containerPublicNames are keys of a Secret that hold the public half of
// what it stores: whom to connect to, as whom, and certificates.
var containerPublicNames = map[string]bool{
	"user": true, "username": true, "login": true, "email": true, "host": true, "hostname": true,
	"server": true, "port": true, "database": true, "db": true, "dbname": true, "region": true,
	"namespace": true, "realm": true, "crt": true, "cert": true, "certificate": true, "ca": true,
	"account": true, "tenant": true, "project": true, "scheme": true, "protocol": true,
}

// secretInContainer judges a value a Secret holds under name. Binary
// values of 16 bytes or more are key material. Text is judged by the rules
// as if it stood in a configuration file under a secret's name (unless the
// name says it is public: a user name, a host, a certificate), or as the
// file it names when it spans lines.
func secretInContainer(name, v string) bool {
	v = strings.TrimRight(v, "\r\n")
	if v == "" || isPlaceholder(v) || weakWords[strings.ToLower(v)] {
		return false
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\n' && r != '\r' && r != '\t' }) {
		return len(v) >= 16 && longestRun(v) < len(v)/2
	}
	file, text := name, v
	if !strings.Contains(v, "\n") {
		key := name
		public := notSecretName(name)
		for _, w := range nameWords(name) {
			public = public || containerPublicNames[w]
		}
		if !public {
			key = "secret_" + key
		}
		q := `"`
		if strings.Contains(v, `"`) {
			q = "'"
			if strings.Contains(v, "'") {
				q = ""
			}
		}
		file, text = "secret.env", key+"="+q+v+q+"\n"
	}
	ms, err := innerScanner().scanStream(context.Background(), strings.NewReader(text), path.Base(file), 1, false)
	return err == nil && len(ms) > 0
}

// innerScanner judges decoded values with every rule. It is set in init:
// the rule tables it is built from refer to it.
var innerScanner func() *Scanner

func init() {
	innerScanner = sync.OnceValue(func() *Scanner {
		s, err := New(Config{})
		if err != nil {
			panic(err) // the tables are checked by TestRules
		}
		return s
	})
}

// base64PKCS12 checks that a base64 PKCS #12 candidate decodes to a PFX
// header.
func base64PKCS12(m []string) bool {
	b, err := base64.StdEncoding.DecodeString(m[0][:64])
	return err == nil && isPKCS12(b)
}

// pkcs12OID is the DER of the PKCS #7 content types a PFX's authSafe
// carries: 1.2.840.113549.1.7.1 (data, password integrity) or .2 (signed
// data, public-key integrity), without the last byte.
var pkcs12OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07}

// isPKCS12 reports whether b starts as a PKCS #12 PFX (RFC 7292): SEQUENCE
// { INTEGER 3, SEQUENCE { OID pkcs7-data or signedData, … } }, in DER or
// BER (indefinite lengths).
func isPKCS12(b []byte) bool {
	i, ok := derHeader(b, 0, 0x30)
	if !ok || !bytes.HasPrefix(b[i:], []byte{0x02, 0x01, 0x03}) {
		return false
	}
	if i, ok = derHeader(b, i+3, 0x30); !ok {
		return false
	}
	return bytes.HasPrefix(b[i:], pkcs12OID) && len(b) > i+len(pkcs12OID) &&
		(b[i+len(pkcs12OID)] == 0x01 || b[i+len(pkcs12OID)] == 0x02)
}

// derHeader checks the tag at b[i] and skips its length, returning the
// offset of the contents.
func derHeader(b []byte, i int, tag byte) (int, bool) {
	if i+2 > len(b) || b[i] != tag {
		return 0, false
	}
	l := b[i+1]
	switch {
	case l < 0x80, l == 0x80: // short form, indefinite (BER)
		return i + 2, true
	case l <= 0x84:
		n := int(l & 0x7f)
		return i + 2 + n, i+2+n <= len(b)
	}
	return 0, false
}

// pkcs12Name: the extensions PKCS #12 files go by.
func pkcs12Name(file string) bool {
	ext := strings.ToLower(path.Ext(file))
	return ext == ".p12" || ext == ".pfx"
}

// binaryMatch is the finding of a binary stream: a PKCS #12 key store, by
// its header or by its name. Its secret is the digest of the bytes read, so
// that the report shows nothing of the key and the fingerprint follows the
// content.
func (s *Scanner) binaryMatch(head []byte, file string) []match {
	if s.pkcs12 < 0 || !isPKCS12(head) && !pkcs12Name(file) {
		return nil
	}
	sum := sha256.Sum256(head)
	return []match{{rule: s.pkcs12, known: -1, line: 1, col: 1, secret: "sha256:" + hex.EncodeToString(sum[:])}}
}

// pkcs12Rule is the ID of the rule that judges binary files too.
const pkcs12Rule = "pkcs12-keystore"
