package inject

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// dotenvQuote writes v so that godotenv (and ParseDotenv, its port) reads
// back exactly v. godotenv's reader has three forms, each with blind spots:
//
//   - double quotes: \n \r and \<any> escapes, $VAR expansion (\$ for a
//     dollar). The closing quote is the first one not after a backslash, and
//     quotes next to it are trimmed, so a value ending in '\' or '"' fails;
//   - single quotes: no escapes; the closing quote is the first one not
//     after a backslash; CR LF is folded to LF before parsing;
//   - bare: one line, trimmed, cut at " #", read as runes ($VAR expanded).
//
// The first form that fits wins; a value none fits (it ends with '\' or '"'
// and has a line break or both quotes…) is refused.
func dotenvQuote(v string) (string, error) {
	if !strings.HasSuffix(v, `\`) && !strings.HasSuffix(v, `"`) {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\', '"', '$', '`':
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
		return b.String(), nil
	}
	if !strings.ContainsAny(v, "'\r") && !strings.HasSuffix(v, `\`) {
		return "'" + v + "'", nil
	}
	if bareOK(v) {
		return strings.ReplaceAll(v, "$", `\$`), nil
	}
	return "", &ExportError{Format: FormatDotenv, Reason: "value cannot be written so that dotenv readers get it back " +
		"(it ends with a backslash or quote and has a line break or both kinds of quote); use --format json"}
}

// bareOK reports whether godotenv reads v unquoted as itself (with each $
// escaped as \$).
func bareOK(v string) bool {
	if v == "" || v[0] == '"' || v[0] == '\'' || strings.ContainsAny(v, "\r\n") || !utf8.ValidString(v) {
		return false
	}
	r := []rune(v)
	if isSpace(r[0]) || isSpace(r[len(r)-1]) {
		return false
	}
	for i := 1; i < len(r); i++ {
		if r[i] == '#' && isSpace(r[i-1]) {
			return false
		}
	}
	return true
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
