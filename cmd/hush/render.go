package main

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/hush-secrets/hush/internal/safe"
)

// Everything hush prints that is not a value the user asked for goes
// through printf (or infof, warnf and printError, which use it): the
// repository, a remote or a hostile file tree wrote most of the strings in
// hush's messages and tables — labels, types, notes, paths, git output —
// and a terminal obeys the escape sequences in them (DESIGN.md contract
// 7). printf escapes every string argument with safe.Term and leaves the
// format, which is hush's own, as it is. TestRenderThroughPrintf keeps
// raw fmt.Fprint calls out of cmd.

// printf is fmt.Fprintf with every string-like argument escaped for a
// terminal, and no line that a CI runner would take for a command.
func printf(w io.Writer, format string, args ...any) {
	io.WriteString(w, noWorkflowCommand(fmt.Sprintf(format, safeArgs(args)...)))
}

// noWorkflowCommand keeps a repository string from becoming a CI runner's
// command. GitHub's runner takes any line of a step's output that starts,
// after blanks, with "::" for a workflow command — and a label
// "::stop-commands::x" at the start of a table row would switch off the
// ::add-mask:: lines that hide values for the rest of the step. hush's
// own lines never start so (its masks are not written through here), so
// any such line is the repository's: its first ':' is escaped.
func noWorkflowCommand(s string) string {
	if !strings.Contains(s, "::") {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if t := strings.TrimLeft(l, " \t"); strings.HasPrefix(t, "::") {
			lines[i] = l[:len(l)-len(t)] + `\x3a` + t[1:]
		}
	}
	return strings.Join(lines, "")
}

// say writes one line of hush's own to stderr: escaped like printf, and,
// like an error, without what the command line had after an '='.
func (s *ui) say(format string, args []any) {
	msg := fmt.Sprintf(format, safeArgs(args)...)
	io.WriteString(s.env.Stderr, noWorkflowCommand(redactArgv(msg, s.env.redact))+"\n")
}

// safeArgs wraps strings, errors, Stringers and string slices so that
// they format escaped, whatever the verb and its width.
func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = termArg(v)
		case []string:
			out[i] = termSlice(v)
		case []byte:
			out[i] = termArg(v)
		case error, fmt.Stringer:
			// fmt.Sprint, not v.Error(): it survives a nil receiver.
			out[i] = termArg(fmt.Sprint(v))
		default:
			// Named string types (type Label string) and slices of them.
			rv := reflect.ValueOf(a)
			switch {
			case rv.Kind() == reflect.String:
				out[i] = termArg(rv.String())
			case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.String:
				ss := make(termSlice, rv.Len())
				for j := range ss {
					ss[j] = rv.Index(j).String()
				}
				out[i] = ss
			default:
				out[i] = a
			}
		}
	}
	return out
}

// termArg formats as its escaped text. %q quotes first (strconv's
// escapes are printable), then escapes what strconv leaves: the invisible
// characters Unicode calls letters.
type termArg string

func (a termArg) Format(f fmt.State, verb rune) {
	s := string(a)
	switch verb {
	case 'x', 'X': // hex digits are safe as they are
		fmt.Fprintf(f, fmt.FormatString(f, verb), s)
		return
	case 'q':
		s = strconv.Quote(s)
	}
	fmt.Fprintf(f, fmt.FormatString(f, 's'), safe.Term(s))
}

type termSlice []string

func (a termSlice) Format(f fmt.State, verb rune) {
	out := make([]string, len(a))
	for i, s := range a {
		if verb == 'q' {
			s = strconv.Quote(s)
		}
		out[i] = safe.Term(s)
	}
	fmt.Fprintf(f, fmt.FormatString(f, 's'), out)
}

// linesWriter escapes what a helper process prints (safe.Lines: newlines
// kept) before it reaches hush's stderr: sops quotes the files it reads.
// A write that splits a UTF-8 character shows its bytes escaped, which is
// ugly but harmless.
type linesWriter struct{ w io.Writer }

func (l linesWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(l.w, safe.Lines(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
