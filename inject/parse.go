package inject

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Imported is the result of parsing an env file, JSON or YAML.
type Imported struct {
	// Secrets in the order of their first appearance, each with its last
	// value.
	Secrets []Secret
	// Duplicates names the keys that appeared more than once (the last
	// value won), in order of first appearance.
	Duplicates []string
}

// ParseError is a refusal to import, with the 1-based line it concerns
// (0 when unknown). Its message never contains a value.
type ParseError struct {
	Format string // "dotenv", "json" or "yaml"
	Line   int
	Key    string // the key concerned, if any and if valid
	Reason string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// collector gathers keys, last value wins, and reports duplicates.
type collector struct {
	idx map[string]int
	dup map[string]bool
	out Imported
}

func (c *collector) set(k, v string) {
	if c.idx == nil {
		c.idx, c.dup = map[string]int{}, map[string]bool{}
	}
	if i, ok := c.idx[k]; ok {
		c.out.Secrets[i].Value = NewValue(v)
		if !c.dup[k] {
			c.dup[k] = true
			c.out.Duplicates = append(c.out.Duplicates, k)
		}
		return
	}
	c.idx[k] = len(c.out.Secrets)
	c.out.Secrets = append(c.out.Secrets, Secret{Name: k, Value: NewValue(v)})
}

var utf8BOM = []byte("\xef\xbb\xbf")

// ParseDotenv parses an env file with the semantics of
// github.com/joho/godotenv v1.5.1 (quotes, escapes in double quotes, inline
// comments, "export", ${VAR} expansion from keys earlier in the same file
// only, never from the process environment), and refuses, with the line
// number and without echoing any value: a NUL byte, a name outside
// [A-Za-z_][A-Za-z0-9_]*, an unterminated quote, and an unquoted value that is
// not valid UTF-8 (godotenv would silently replace its bytes). A UTF-8 BOM is
// skipped; CRLF line ends are read as LF.
func ParseDotenv(r io.Reader) (*Imported, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	src = bytes.TrimPrefix(src, utf8BOM)
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, &ParseError{Format: "dotenv", Line: lineAt(src, i), Reason: "NUL byte"}
	}
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	p := dotenvParser{src: src, vars: map[string]string{}}
	return p.parse()
}

type dotenvParser struct {
	src  []byte
	vars map[string]string // what godotenv expands ${VAR} from: this file so far
	c    collector
}

// lineAt is the 1-based line of offset i in src.
func lineAt(src []byte, i int) int { return 1 + bytes.Count(src[:i], []byte("\n")) }

// parse mirrors godotenv's parseBytes. Every cutset is a suffix of src, so its
// offset gives the line.
func (p *dotenvParser) parse() (*Imported, error) {
	cutset := p.src
	for {
		cutset = statementStart(cutset)
		if cutset == nil {
			return &p.c.out, nil
		}
		line := lineAt(p.src, len(p.src)-len(cutset))
		key, left, err := keyName(cutset)
		if err != nil {
			return nil, &ParseError{Format: "dotenv", Line: line, Reason: err.Error()}
		}
		if !ValidName(key) {
			return nil, &ParseError{Format: "dotenv", Line: line,
				Reason: "invalid name " + quoteName(key) + " (want [A-Za-z_][A-Za-z0-9_]*)"}
		}
		value, left, err := p.value(left)
		if err != nil {
			return nil, &ParseError{Format: "dotenv", Line: line, Key: key, Reason: err.Error()}
		}
		p.vars[key] = value
		p.c.set(key, value)
		cutset = left
	}
}

// statementStart skips blank lines and comment lines, as getStatementStart.
func statementStart(src []byte) []byte {
	for {
		pos := bytes.IndexFunc(src, func(r rune) bool { return !unicode.IsSpace(r) })
		if pos == -1 {
			return nil
		}
		src = src[pos:]
		if src[0] != '#' {
			return src
		}
		pos = bytes.IndexByte(src, '\n')
		if pos == -1 {
			return nil
		}
		src = src[pos:]
	}
}

// keyName mirrors locateKeyName; its errors name no value.
func keyName(src []byte) (key string, cutset []byte, err error) {
	src = bytes.TrimLeftFunc(src, isSpace)
	if trimmed, ok := bytes.CutPrefix(src, []byte("export")); ok && bytes.IndexFunc(trimmed, isSpace) == 0 {
		src = bytes.TrimLeftFunc(trimmed, isSpace)
	}
	offset := 0
loop:
	for i, char := range src {
		r := rune(char)
		if isSpace(r) {
			continue
		}
		switch char {
		case '=', ':':
			key = string(src[:i])
			offset = i + 1
			break loop
		case '_':
		default:
			if unicode.IsLetter(r) || unicode.IsNumber(r) || r == '.' {
				continue
			}
			return "", nil, fmt.Errorf("expected NAME=value")
		}
	}
	if offset == 0 {
		// godotenv reads a last line without '=' as the value of an empty
		// name; that is a mistake in the file.
		return "", nil, fmt.Errorf("expected NAME=value")
	}
	key = strings.TrimRightFunc(key, unicode.IsSpace)
	return key, bytes.TrimLeftFunc(src[offset:], isSpace), nil
}

// value mirrors extractVarValue.
func (p *dotenvParser) value(src []byte) (string, []byte, error) {
	quote := byte(0)
	if len(src) > 0 && (src[0] == '"' || src[0] == '\'') {
		quote = src[0]
	}
	if quote == 0 {
		end := bytes.IndexFunc(src, func(r rune) bool { return r == '\n' || r == '\r' })
		if end == -1 {
			end = len(src)
		}
		if !utf8.Valid(src[:end]) {
			return "", nil, fmt.Errorf("unquoted value is not valid UTF-8 (quote it)")
		}
		line := []rune(string(src[:end]))
		endOfVar := len(line)
		for i := endOfVar - 1; i > 0; i-- {
			if line[i] == '#' && isSpace(line[i-1]) {
				endOfVar = i
				break
			}
		}
		trimmed := strings.TrimFunc(string(line[:endOfVar]), isSpace)
		return expandVariables(trimmed, p.vars), src[end:], nil
	}
	for i := 1; i < len(src); i++ {
		if src[i] != quote || src[i-1] == '\\' {
			continue
		}
		q := func(r rune) bool { return r == rune(quote) }
		value := string(bytes.TrimLeftFunc(bytes.TrimRightFunc(src[:i], q), q))
		if quote == '"' {
			value = expandVariables(expandEscapes(value), p.vars)
		}
		return value, src[i+1:], nil
	}
	return "", nil, fmt.Errorf("unterminated quoted value")
}

// isSpace is godotenv's: a space that is not a line break.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// Compiled on first use: package init runs for every hush command, and
// only dotenv parsing needs these.
var (
	escapeRegex        = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\.`) })
	expandVarRegex     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`) })
	unescapeCharsRegex = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\([^$])`) })
)

func expandEscapes(str string) string {
	out := escapeRegex().ReplaceAllStringFunc(str, func(match string) string {
		switch strings.TrimPrefix(match, `\`) {
		case "n":
			return "\n"
		case "r":
			return "\r"
		default:
			return match
		}
	})
	return unescapeCharsRegex().ReplaceAllString(out, "$1")
}

// expandVariables expands $VAR and ${VAR} from m only: the keys read so far
// from the same file. godotenv 1.5.1 does the same; hush keeps it that way
// whatever a later godotenv does, so an import never captures the importing
// process's environment.
func expandVariables(v string, m map[string]string) string {
	return expandVarRegex().ReplaceAllStringFunc(v, func(s string) string {
		sub := expandVarRegex().FindStringSubmatch(s)
		if sub == nil {
			return s
		}
		if sub[1] == "\\" || sub[2] == "(" {
			return sub[0][1:]
		} else if sub[4] != "" {
			return m[sub[4]]
		}
		return s
	})
}
