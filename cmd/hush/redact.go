package main

import (
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/safe"
)

// No error hush prints quotes a command-line argument past its first '='.
// `hush set DB_PASSWORD=hunter2` is a classic slip, and so are
// `--token=SECRET` and `hush --env prod DB_PASSWORD=x`; the message lands
// in a terminal's scrollback or a CI log. Main collects, once, what must not
// be shown (argvRedactions); printError, infof and warnf (say) and the
// audit log's error text take it out of every message (redactArgv),
// whichever layer wrote the message: hush's own validation, urfave/cli's
// flag errors, an exec error naming the child.
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

// redactArgv takes every redaction's secret out of msg, as written, as %q
// writes it and as safe.Term does: a cut-short copy after "anchor=", and
// every whole copy — a short secret ("on", "x") only where it stands
// quoted, since it may also be part of a word.
func redactArgv(msg string, rs []redaction) string {
	for _, r := range rs {
		forms := writtenForms(r.secret)
		if r.anchor != "" {
			for _, anchor := range writtenForms(r.anchor) {
				msg = redactAfterAnchor(msg, anchor+"=", forms)
			}
		}
		for _, form := range forms {
			if len(form) >= minBare {
				msg = strings.ReplaceAll(msg, form, redacted)
				continue
			}
			for _, q := range []string{`"`, `'`} {
				msg = strings.ReplaceAll(msg, q+form+q, q+redacted+q)
			}
		}
	}
	return msg
}

// writtenForms is s as a message may show it: as given, inside %q (and
// %+q), and escaped by safe.Term; longest first, since one may contain
// another.
func writtenForms(s string) []string {
	forms := []string{s}
	for _, q := range []string{strconv.Quote(s), strconv.QuoteToASCII(s)} {
		if q = q[1 : len(q)-1]; !slices.Contains(forms, q) {
			forms = append(forms, q)
		}
	}
	if t := safe.Term(s); !slices.Contains(forms, t) {
		forms = append(forms, t)
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

// minBare is the length from which a secret is taken out wherever it
// appears, not only where quoted.
const minBare = 6

// redactAfterAnchor replaces, after each anchor in msg, the longest prefix
// of any form of the secret that follows it: a message may cut a long
// argument short.
func redactAfterAnchor(msg, anchor string, forms []string) string {
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
		longest := 0
		for _, form := range forms {
			n := 0
			for n < len(msg) && n < len(form) && msg[n] == form[n] {
				n++
			}
			longest = max(longest, n)
		}
		if longest > 0 {
			b.WriteString(redacted)
			msg = msg[longest:]
		}
	}
}
