// Package safe makes untrusted strings harmless on a terminal.
//
// Labels, types, notes, file names and git output come from a repository
// anyone with push access writes, and a terminal obeys what it is sent: an
// ESC starts a sequence that can move the cursor, recolour or hide text,
// retitle the window or (OSC 52) write the clipboard; a CR or backspace
// overwrites what was printed; a bidi override reorders it; a zero-width
// character hides a difference. Term renders every such character visibly
// (\x1b, \r, \u202e) and leaves everything else as it is, so hush can show
// what the repository says without letting it speak to the terminal.
//
// The package imports nothing of hush, so every layer may use it.
package safe

import (
	"unicode"
	"unicode/utf8"
)

// Term returns s with every character a terminal could act on, or that a
// reader could not see, written as a Go-style escape: C0 and C1 controls
// (newline and tab too: a field is one line), DEL, invalid UTF-8 bytes,
// bidi controls, zero-width and other invisible format characters, and line
// and paragraph separators. Printable text, including non-ASCII letters and
// symbols, is returned unchanged and, when s needs no escape, without
// allocating.
//
// Term(Term(s)) == Term(s): its output needs no further escape. Backslashes
// are left alone, so a file name C:\dir reads as written; the escape of a
// control is therefore not distinguishable from the same text typed
// literally, which is harmless.
func Term(s string) string { return escape(s, false) }

// Lines is Term for a block of text: newlines (and tabs) are kept, so the
// block keeps its shape, and everything else Term escapes is escaped,
// including a carriage return.
func Lines(s string) string { return escape(s, true) }

// Clean reports whether Term(s) == s.
func Clean(s string) bool { return cleanFrom(s, false) == len(s) }

// cleanFrom returns the index of the first byte of s that needs an escape,
// or len(s).
func cleanFrom(s string, keepLines bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if keepLines && (c == '\n' || c == '\t') {
				i++
				continue
			}
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || hidden(r) {
			return i
		}
		i += size
	}
	return len(s)
}

func escape(s string, keepLines bool) string {
	i := cleanFrom(s, keepLines)
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c < 0x7f, keepLines && (c == '\n' || c == '\t'):
				b = append(b, c)
			default:
				b = appendByte(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = appendByte(b, c)
		case hidden(r):
			b = appendRune(b, r)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// Hidden reports whether r is a non-ASCII character Term escapes.
func Hidden(r rune) bool { return r >= utf8.RuneSelf && hidden(r) }

// hidden reports whether a non-ASCII rune must be escaped: anything
// unicode.IsPrint rejects (C1 controls, format characters such as the bidi
// controls U+202A–U+202E and U+2066–U+2069 and the zero-width U+200B–U+200D,
// U+2060 and U+FEFF, separators other than the ASCII space, private use,
// unassigned code points) and the default-ignorable characters Unicode
// classes as letters or marks but renders as nothing (Hangul fillers,
// the combining grapheme joiner, Khmer inherent vowels, Mongolian
// selectors). Variation selectors stay: emoji need them and they change
// only the glyph of the character before them.
func hidden(r rune) bool {
	switch {
	case r == 0x034f, // combining grapheme joiner
		r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0, // Hangul fillers
		r == 0x17b4, r == 0x17b5, // Khmer inherent vowels
		r >= 0x180b && r <= 0x180f,                                      // Mongolian free variation selectors, vowel separator
		r >= 0x1bca0 && r <= 0x1bca3,                                    // shorthand format controls
		r >= 0x1d173 && r <= 0x1d17a,                                    // musical formatting
		r >= 0xe0000 && r <= 0xe0fff && !(r >= 0xe0100 && r <= 0xe01ef): // tags, reserved
		return true
	case r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef:
		return false // variation selectors
	}
	return !unicode.IsPrint(r)
}

const hexDigits = "0123456789abcdef"

func appendByte(b []byte, c byte) []byte {
	switch c {
	case '\a':
		return append(b, `\a`...)
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	case '\v':
		return append(b, `\v`...)
	}
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
}

func appendRune(b []byte, r rune) []byte {
	if r < 0x10000 {
		b = append(b, `\u`...)
		return appendHex(b, uint32(r), 4)
	}
	b = append(b, `\U`...)
	return appendHex(b, uint32(r), 8)
}

func appendHex(b []byte, v uint32, digits int) []byte {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(v>>uint(shift))&0xf])
	}
	return b
}

// JSON makes encoded JSON safe to print on a terminal without changing what
// it decodes to: encoding/json already escapes the C0 controls, U+2028 and
// U+2029 and replaces invalid UTF-8, but writes DEL, the C1 controls, the
// bidi controls and the other invisible characters raw. JSON rewrites each
// of those as a \u escape, which every JSON reader decodes back to the same
// character. Whitespace between tokens (newline, tab, CR, space) is kept.
func JSON(b []byte) []byte {
	clean := true
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				clean = false
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || hidden(r) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				out = append(out, `\u007f`...)
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...) // what encoding/json itself does
		case hidden(r):
			if r >= 0x10000 {
				r1, r2 := utf16Pair(r)
				out = appendHex(append(out, `\u`...), uint32(r1), 4)
				out = appendHex(append(out, `\u`...), uint32(r2), 4)
			} else {
				out = appendHex(append(out, `\u`...), uint32(r), 4)
			}
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
