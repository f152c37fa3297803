package inject

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// dotenvQuote writes v so that every mainstream dotenv reader (Node's dotenv
// and dotenvx, python-dotenv, Ruby's dotenv, godotenv, compose-go, and
// ParseDotenv) reads back exactly v, and so that nothing in it runs when a
// shell sources the file or dotenvx expands it:
//
//   - single quotes wherever the value allows: no reader expands or
//     escapes inside them, and a shell does neither. They cannot carry a
//     single quote, a CR (readers fold line ends), a trailing backslash
//     (compose-go reads \' as an escaped quote) or two backslashes in a row
//     (python-dotenv folds them);
//   - else double quotes, for a value with a single quote but no '"', '\\',
//     '$' or '`' (Node's dotenv keeps backslash escapes, dotenvx runs $(…)
//     even after a backslash, a shell runs `…`): LF and CR as \n and \r,
//     which every reader decodes;
//   - else the value cannot be written for all of them and is refused; so
//     is a value with ${…}, which python-dotenv expands in every quoting.
func dotenvQuote(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", &ExportError{Format: FormatDotenv, Reason: "value is not valid UTF-8 (dotenv readers replace such bytes); use --format json, k8s or shell"}
	}
	if hasBraceRef(v) {
		return "", &ExportError{Format: FormatDotenv, Reason: "value holds ${…}, which python-dotenv expands even in single quotes; use --format json, yaml or shell"}
	}
	if !strings.ContainsAny(v, "'\r") && !strings.HasSuffix(v, `\`) && !strings.Contains(v, `\\`) {
		return "'" + v + "'", nil
	}
	if !strings.ContainsAny(v, "\"\\$`") {
		r := strings.NewReplacer("\n", `\n`, "\r", `\r`)
		return `"` + r.Replace(v) + `"`, nil
	}
	return "", &ExportError{Format: FormatDotenv, Reason: "no dotenv quoting reads back this value in every reader " +
		"(it has a single quote or CR together with a double quote, backslash, $ or backtick); use --format json, yaml or shell"}
}

// hasBraceRef reports whether v has "${" with a "}" after it.
func hasBraceRef(v string) bool {
	i := strings.Index(v, "${")
	return i >= 0 && strings.IndexByte(v[i:], '}') >= 0
}

// dotenvQuoteHush writes any valid UTF-8 value for ParseDotenv alone, in
// double quotes with escapes: the edit buffer, which only hush reads.
func dotenvQuoteHush(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\', '"', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yaml11Words are plain scalars that YAML 1.1 readers (PyYAML, go-yaml v2
// under kubectl) take for booleans or null: quote such keys.
var yaml11Words = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "n": true, "N": true,
	"no": true, "No": true, "NO": true, "true": true, "True": true, "TRUE": true,
	"false": true, "False": true, "FALSE": true, "on": true, "On": true, "ON": true,
	"off": true, "Off": true, "OFF": true, "null": true, "Null": true, "NULL": true,
}

// yamlKey writes a valid variable name as a YAML key.
func yamlKey(name string) string {
	if yaml11Words[name] {
		return `"` + name + `"`
	}
	return name
}

// yamlQuote writes valid UTF-8 as a YAML double-quoted scalar. Everything
// outside printable ASCII that a reader could fold, trim or normalise is
// escaped: line breaks (including NEL, LS, PS), tabs, controls, the BOM and
// the non-characters.
func yamlQuote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r >= 0x80 && r <= 0xA0, r == 0x2028, r == 0x2029, r == 0xFEFF, r == 0xFFFE, r == 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
