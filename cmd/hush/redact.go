package main

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
)

// No error hush prints quotes a command-line argument past its first '='.
// `hush set DB_PASSWORD=hunter2` is a classic slip, and so are
// `--token=SECRET` and `hush --env prod DB_PASSWORD=x`; the message lands
// in a terminal's scrollback or a CI log. Main collects, once, what must not
// be shown (argvRedactions) and printError and the audit log's error text
// take it out of every message (redactArgv), whichever layer wrote the
// message: hush's own validation, urfave/cli's flag errors, an exec error
// naming the child.
//
// For `--flag=V`, the '=' is the flag's syntax: when the flag takes a value
// somewhere in hush, V is the argument and only what follows V's own first
// '=' is hidden; an unknown flag or one that takes no value hides V whole
// (`--quiet=SECRET`, `--token=SECRET`).

// redaction is one secret to hide, and the text before it in the argument
// ("DB_PASSWORD" for DB_PASSWORD=hunter2), which finds a cut-short copy
// ("DB_PASSWORD=hunt…").
type redaction struct{ anchor, secret string }

// argvRedactions lists what args (the whole command line, args[0] included)
// must not show.
func argvRedactions(app *cli.App, args []string) []redaction {
	var valueFlags map[string]bool
	var rs []redaction
	for _, a := range args[min(1, len(args)):] {
		before, after, ok := strings.Cut(a, "=")
		if !ok || after == "" {
			continue
		}
		if strings.HasPrefix(before, "-") && len(before) > 1 {
			if valueFlags == nil {
				valueFlags = map[string]bool{}
				collectValueFlags(valueFlags, app.Flags, app.Commands)
			}
			if valueFlags[strings.TrimLeft(before, "-")] {
				if b2, a2, ok := strings.Cut(after, "="); ok && a2 != "" {
					rs = append(rs, redaction{anchor: b2, secret: a2})
				}
				continue
			}
		}
		rs = append(rs, redaction{anchor: before, secret: after})
	}
	return rs
}

func collectValueFlags(names map[string]bool, flags []cli.Flag, cmds []*cli.Command) {
	for _, f := range flags {
		dg, ok := f.(cli.DocGenerationFlag)
		if !ok || !dg.TakesValue() {
			continue
		}
		for _, n := range f.Names() {
			names[n] = true
		}
	}
	for _, c := range cmds {
		collectValueFlags(names, c.Flags, c.Subcommands)
	}
}

// redacted replaces a hidden part of an argument.
const redacted = "…"

// redactArgv takes every redaction's secret out of msg: as written, as %q
// writes it, and any cut-short copy of it that follows "anchor=".
func redactArgv(msg string, rs []redaction) string {
	for _, r := range rs {
		forms := []string{r.secret}
		for _, q := range []string{strconv.Quote(r.secret), strconv.QuoteToASCII(r.secret)} {
			if q = q[1 : len(q)-1]; q != r.secret {
				forms = append(forms, q)
			}
		}
		for _, form := range forms {
			if r.anchor != "" {
				msg = redactAfterAnchor(msg, r.anchor+"=", form)
			}
			msg = redactWord(msg, form)
		}
	}
	return msg
}

// redactAfterAnchor replaces, after each anchor in msg, the longest prefix
// of secret that follows it: a message may cut a long argument short.
func redactAfterAnchor(msg, anchor, secret string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, anchor)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		i += len(anchor)
		b.WriteString(msg[:i])
		msg = msg[i:]
		n := 0
		for n < len(msg) && n < len(secret) && msg[n] == secret[n] {
			n++
		}
		if n > 0 {
			b.WriteString(redacted)
			msg = msg[n:]
		}
	}
}

// redactWord replaces every occurrence of secret in msg. A short secret
// ("x", "on") is replaced only where it stands alone, so that hiding it
// does not take letters out of the words around it.
func redactWord(msg, secret string) string {
	if secret == "" || !strings.Contains(msg, secret) {
		return msg
	}
	const short = 6
	var b strings.Builder
	pos, last := 0, 0
	for {
		k := strings.Index(msg[pos:], secret)
		if k < 0 {
			break
		}
		i := pos + k
		j := i + len(secret)
		if len(secret) >= short || edge(msg, i-1, secret[0]) && edge(msg, j, secret[len(secret)-1]) {
			b.WriteString(msg[last:i])
			b.WriteString(redacted)
			last, pos = j, j
			continue
		}
		pos = i + 1
	}
	b.WriteString(msg[last:])
	return b.String()
}

// edge reports whether a secret whose outer byte is c ends a word when
// msg[i] is next to it.
func edge(msg string, i int, c byte) bool {
	return !wordByte(c) || i < 0 || i >= len(msg) || !wordByte(msg[i])
}

func wordByte(c byte) bool {
	return c >= utf8.RuneSelf || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
