package inject

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

var utf8BOM = []byte("\xef\xbb\xbf")

// ParseDotenv reads an env file in the dialect the mainstream readers
// (motdotla/dotenv and dotenvx, python-dotenv, Ruby's dotenv, godotenv,
// compose-go) agree on, and refuses, naming the line and never echoing a
// value, what they do not agree on closely enough to store:
//
//   - KEY=value, "export KEY=value", KEY: value; spaces around '=' and a
//     bare value's surrounding spaces are dropped; KEY= is the empty value;
//     the last definition of a repeated key wins (see Imported.Duplicates);
//   - '#' starts a comment at the start of a line and, in a bare value, at
//     the FIRST '#' after a space or tab (KEY=  # note is empty);
//   - 'single quotes' are literal (no escapes, no expansion) and may span
//     lines; a backslash right before a single quote is refused, since the
//     readers disagree on whether it closes the string;
//   - "double quotes" may span lines and read \n \r \t \" \\ and \$; any
//     other backslash is kept as written; in a bare value only \$ is an
//     escape (for a literal $);
//   - $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:+alt},
//     ${NAME+alt} expand in bare and double-quoted values from keys defined
//     EARLIER IN THE SAME FILE only, never from the environment. A
//     reference to a name not defined there is kept as written (p@$$W0RD,
//     x$1y and pa$SWORD! stay themselves), and ${NAME:?msg} / ${NAME?msg}
//     for such a name is refused naming the key;
//   - a UTF-8 BOM is skipped and CRLF (or a lone CR) read as LF.
//
// Also refused: a NUL byte, invalid UTF-8 (readers replace or reject such
// bytes), a name outside [A-Za-z_][A-Za-z0-9_]*, a line without '=', an
// unterminated quote and text after a closing quote. Keys whose value the
// readers would read differently are listed in Imported.Disputed.
func ParseDotenv(r io.Reader) (*Imported, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	src = bytes.TrimPrefix(src, utf8BOM)
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, &ParseError{Format: "dotenv", Line: lineAt(src, i), Reason: "NUL byte"}
	}
	if !utf8.Valid(src) {
		return nil, &ParseError{Format: "dotenv", Line: lineAt(src, invalidUTF8At(src)),
			Reason: "invalid UTF-8 (dotenv readers replace such bytes; store binary values with hush set --from-file)"}
	}
	p := dotenvParser{src: normalizeNewlines(src), line: 1, vars: map[string]string{}, disputes: map[string][]Dispute{}}
	return p.parse()
}

// normalizeNewlines turns CRLF and lone CR into LF, as Node's dotenv and
// Python's universal newlines do.
func normalizeNewlines(src []byte) []byte {
	if bytes.IndexByte(src, '\r') < 0 {
		return src
	}
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(src, []byte("\r"), []byte("\n"))
}

// lineAt is the 1-based line of offset i in src.
func lineAt(src []byte, i int) int { return 1 + bytes.Count(src[:i], []byte("\n")) }

type dotenvParser struct {
	src      []byte
	i        int // offset of the next byte
	line     int // line of src[i]
	vars     map[string]string
	c        collector
	key      string // the key being read
	keyLine  int
	disputes map[string][]Dispute // the last definition's, by key
	cur      []Dispute
	spaced   bool // white space between '=' and the value
}

func (p *dotenvParser) fail(line int, reason string) error {
	return &ParseError{Format: "dotenv", Line: line, Key: p.key, Reason: reason}
}

func (p *dotenvParser) parse() (*Imported, error) {
	for {
		p.skipBlank()
		if p.i >= len(p.src) {
			break
		}
		p.key, p.keyLine, p.cur = "", p.line, nil
		key, err := p.name()
		if err != nil {
			return nil, err
		}
		p.key = key
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.vars[key] = v
		p.c.set(key, v)
		p.disputes[key] = p.cur
	}
	for _, s := range p.c.out.Secrets {
		p.c.out.Disputed = append(p.c.out.Disputed, p.disputes[s.Name]...)
	}
	return &p.c.out, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' }

// skipBlank skips blank lines and comment lines.
func (p *dotenvParser) skipBlank() {
	for p.i < len(p.src) {
		switch c := p.src[p.i]; {
		case c == '\n':
			p.line++
			p.i++
		case isBlank(c):
			p.i++
		case c == '#':
			p.skipLine()
		case c >= utf8.RuneSelf:
			// A line of Unicode white space (NBSP…) is blank to every reader.
			r, n := utf8.DecodeRune(p.src[p.i:])
			if !unicode.IsSpace(r) {
				return
			}
			p.i += n
		default:
			return
		}
	}
}

// skipLine moves to the '\n' ending the current line (or the end).
func (p *dotenvParser) skipLine() {
	if j := bytes.IndexByte(p.src[p.i:], '\n'); j >= 0 {
		p.i += j
	} else {
		p.i = len(p.src)
	}
}

// skipSpaces skips white space but line ends: every reader trims Unicode
// white space (NBSP, NEL…) around '=' and a value, not only blanks.
func (p *dotenvParser) skipSpaces() {
	for p.i < len(p.src) {
		r, n := utf8.DecodeRune(p.src[p.i:])
		if r == '\n' || !unicode.IsSpace(r) {
			return
		}
		p.i += n
	}
}

// name reads [export ]NAME followed by '=' or ':', and the blanks after it.
func (p *dotenvParser) name() (string, error) {
	if rest := p.src[p.i:]; bytes.HasPrefix(rest, []byte("export")) && len(rest) > 6 && isBlank(rest[6]) {
		p.i += 6
		p.skipSpaces()
	}
	start := p.i
	for p.i < len(p.src) {
		r, n := utf8.DecodeRune(p.src[p.i:])
		if r == '=' || r == ':' || unicode.IsSpace(r) {
			break
		}
		p.i += n
	}
	key := string(p.src[start:p.i])
	p.skipSpaces()
	if p.i >= len(p.src) || (p.src[p.i] != '=' && p.src[p.i] != ':') || key == "" {
		return "", p.fail(p.keyLine, "expected NAME=value")
	}
	if !ValidName(key) {
		return "", p.fail(p.keyLine, "invalid name "+quoteName(key)+" (want [A-Za-z_][A-Za-z0-9_]*)")
	}
	if p.src[p.i] == ':' {
		p.key = key
		p.dispute(disputeColon)
	}
	p.i++
	start = p.i
	p.skipSpaces()
	p.spaced = p.i > start
	for _, c := range p.src[start:p.i] {
		if c >= utf8.RuneSelf {
			p.key = key
			p.dispute(disputeUnicodeSpace)
			break
		}
	}
	return key, nil
}

func (p *dotenvParser) dispute(reason string) {
	for _, d := range p.cur {
		if d.Reason == reason {
			return
		}
	}
	p.cur = append(p.cur, Dispute{Key: p.key, Line: p.keyLine, Reason: reason})
}

// The dispute reasons: fixed texts.
const (
	disputeExpand       = "the value depends on variable expansion ($), which dotenv readers do differently; hush expands only keys defined earlier in the file and keeps other references as written"
	disputeEscape       = `Node's dotenv keeps the backslash of \", \\, \$ and \t in double quotes`
	disputeUnknown      = `a backslash in double quotes before other than n, r, t, ", \ or $ is kept as written; python-dotenv and compose-go decode some of these`
	disputeHash         = "Node's and Ruby's dotenv end a bare value at any '#'; quote the value"
	disputeTabHash      = "compose-go starts a comment only after a space, not a tab; quote the value"
	disputeBacktick     = "Node's dotenv reads `backticks` as quotes; hush keeps them"
	disputeSingleBS     = `python-dotenv reads \\ in single quotes as one backslash`
	disputeSingleRef    = "python-dotenv expands ${…} even in single quotes"
	disputeUnicodeSpace = "readers differ on which Unicode spaces after '=' they skip"
	disputeEmptyComment = "python-dotenv and compose-go read \"KEY=  # text\" as the value \"# text\", not as empty with a comment"
	disputeColon        = "python-dotenv does not read NAME: value (and Node's dotenv only with a space after the colon); write NAME=value"
)

func (p *dotenvParser) value() (string, error) {
	if p.i >= len(p.src) || p.src[p.i] == '\n' {
		return "", nil
	}
	if p.src[p.i] == '#' && p.spaced {
		// "KEY=  # comment": the first " #" starts a comment, as Node's
		// and Ruby's dotenv read it.
		p.dispute(disputeEmptyComment)
		p.skipLine()
		return "", nil
	}
	switch p.src[p.i] {
	case '\'':
		return p.singleQuoted()
	case '"':
		return p.doubleQuoted()
	}
	return p.bare()
}

func (p *dotenvParser) singleQuoted() (string, error) {
	open := p.line
	p.i++
	start := p.i
	for ; p.i < len(p.src); p.i++ {
		switch p.src[p.i] {
		case '\n':
			p.line++
		case '\'':
			if p.i > start && p.src[p.i-1] == '\\' {
				return "", p.fail(p.line, `a backslash before a single quote: dotenv readers disagree on whether it ends the value; use double quotes`)
			}
			v := string(p.src[start:p.i])
			if strings.Contains(v, `\\`) {
				p.dispute(disputeSingleBS)
			}
			if hasBraceRef(v) {
				p.dispute(disputeSingleRef)
			}
			p.i++
			return v, p.afterQuote()
		}
	}
	return "", p.fail(open, "unterminated single-quoted value")
}

func (p *dotenvParser) doubleQuoted() (string, error) {
	open := p.line
	p.i++
	start := p.i
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case '\\':
			if p.i+1 < len(p.src) && p.src[p.i+1] == '\n' {
				p.line++
			}
			p.i += 2
			continue
		case '\n':
			p.line++
		case '"':
			v, err := p.expand(string(p.src[start:p.i]), true, open)
			if err != nil {
				return "", err
			}
			p.i++
			return v, p.afterQuote()
		}
		p.i++
	}
	return "", p.fail(open, "unterminated double-quoted value")
}

// afterQuote allows blanks and a comment after a closing quote.
func (p *dotenvParser) afterQuote() error {
	p.skipSpaces()
	if p.i >= len(p.src) || p.src[p.i] == '\n' {
		return nil
	}
	if p.src[p.i] == '#' {
		p.skipLine()
		return nil
	}
	return p.fail(p.line, "unexpected text after the closing quote")
}

func (p *dotenvParser) bare() (string, error) {
	start := p.i
	p.skipLine()
	raw := p.src[start:p.i]
	end := len(raw)
	for k := 1; k < len(raw); k++ {
		if raw[k] == '#' && (raw[k-1] == ' ' || raw[k-1] == '\t') {
			if raw[k-1] == '\t' {
				p.dispute(disputeTabHash)
			}
			end = k
			break
		}
	}
	v := string(bytes.TrimRightFunc(raw[:end], unicode.IsSpace))
	if strings.IndexByte(v, '#') >= 0 {
		p.dispute(disputeHash)
	}
	if strings.HasPrefix(v, "`") {
		p.dispute(disputeBacktick)
	}
	return p.expand(v, false, p.line)
}

// expand reads escapes (in double quotes) and $ references in s.
func (p *dotenvParser) expand(s string, escapes bool, line int) (string, error) {
	var b strings.Builder
	for k := 0; k < len(s); {
		c := s[k]
		switch {
		case c == '\n':
			line++
		case c == '\\' && escapes && k+1 < len(s):
			switch n := s[k+1]; n {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't', '"', '\\', '$':
				p.dispute(disputeEscape)
				if n == 't' {
					n = '\t'
				}
				b.WriteByte(n)
			default:
				if n == '\n' {
					line++
				}
				p.dispute(disputeUnknown)
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			k += 2
			continue
		case c == '\\' && !escapes && k+1 < len(s) && s[k+1] == '$':
			// In a bare value \$ is a literal $, as godotenv, dotenvx and
			// Ruby's dotenv read it (Node's and python-dotenv keep both).
			p.dispute(disputeExpand)
			b.WriteByte('$')
			k += 2
			continue
		case c == '$':
			p.dispute(disputeExpand)
			v, n, err := p.reference(s[k:], escapes, line)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			k += n
			continue
		}
		b.WriteByte(c)
		k++
	}
	return b.String(), nil
}

func isNameStart(c byte) bool { return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }
func isNameByte(c byte) bool  { return isNameStart(c) || '0' <= c && c <= '9' }

// reference reads the $ reference at the start of s and returns its value
// and length. A name not defined earlier in the file, or a form hush does
// not know (${A/x/y}, $1, a lone $), is kept as written.
func (p *dotenvParser) reference(s string, escapes bool, line int) (string, int, error) {
	if len(s) < 2 {
		return "$", 1, nil
	}
	if isNameStart(s[1]) {
		j := 2
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		if v, ok := p.vars[s[1:j]]; ok {
			return v, j, nil
		}
		return s[:j], j, nil
	}
	if s[1] != '{' {
		return "$", 1, nil
	}
	// A reference longer than maxRef is not looked for: it bounds the work
	// on a file of unclosed "${" (the value is disputed anyway).
	const maxRef = 4096
	end, depth := -1, 0
	for j := 1; j < len(s) && j < maxRef && end < 0; j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				end = j
			}
		}
	}
	if end < 0 {
		return "$", 1, nil
	}
	literal := s[:end+1]
	inner := s[2:end]
	j := 0
	for j < len(inner) && isNameByte(inner[j]) {
		j++
	}
	name, rest := inner[:j], inner[j:]
	if name == "" || !isNameStart(name[0]) {
		return literal, len(literal), nil
	}
	v, set := p.vars[name]
	op, word := rest, ""
	for _, o := range []string{":-", ":+", ":?", "-", "+", "?"} {
		if strings.HasPrefix(rest, o) {
			op, word = o, rest[len(o):]
			break
		}
	}
	sub := func() (string, int, error) {
		w, err := p.expand(word, escapes, line)
		return w, len(literal), err
	}
	switch op {
	case "":
		if set {
			return v, len(literal), nil
		}
		return literal, len(literal), nil
	case ":-", "-":
		if !set || (op == ":-" && v == "") {
			return sub()
		}
		return v, len(literal), nil
	case ":+", "+":
		if set && (op == "+" || v != "") {
			return sub()
		}
		return "", len(literal), nil
	case ":?", "?":
		if !set || (op == ":?" && v == "") {
			return "", 0, p.fail(line, "a required variable (${NAME:?…}) is not defined earlier in the file")
		}
		return v, len(literal), nil
	}
	return literal, len(literal), nil
}
