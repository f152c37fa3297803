package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// The man page is rendered from the app itself, so it cannot drift from
// --help. (urfave/cli's own ToMan is left out of the build: its markdown
// dependency costs every command start-up time.)

func manCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print the hush(1) man page (roff)",
		ArgsUsage: " ",
		Description: `EXAMPLE:
   hush man > ~/.local/share/man/man1/hush.1 && man hush`,
		Action: func(c *cli.Context) error {
			return writeMan(env.Stdout, c.App)
		},
	}
}

func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func writeMan(w io.Writer, app *cli.App) error {
	fmt.Fprintf(w, ".TH HUSH 1 \"\" \"hush %s\" \"User Commands\"\n", roff(app.Version))
	fmt.Fprintf(w, ".SH NAME\nhush \\- %s\n", roff(app.Usage))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B hush\n[\\fIGLOBAL FLAGS\\fR] \\fICOMMAND\\fR [\\fIFLAGS\\fR] [\\fIARGS\\fR]\n")
	fmt.Fprintf(w, ".SH GLOBAL FLAGS\n")
	writeFlags(w, app.Flags)
	fmt.Fprintf(w, ".SH COMMANDS\n")
	for _, c := range app.Commands {
		writeManCommand(w, c, "")
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n.nf\n%s\n.fi\n", roff(strings.TrimPrefix(exitCodeHelp, "EXIT CODES:\n")))
	fmt.Fprintf(w, `.SH ENVIRONMENT
.TP
.B HUSH_IDENTITY
the age secret key itself (CI)
.TP
.B HUSH_IDENTITY_FILE
a path to the identity file
.TP
.B HUSH_ENV
the default environment
.TP
.B HUSH_KEYRING=off
skip the OS keyring
.TP
.B HUSH_AUDIT_MAX_SIZE
bytes after which the audit log rotates
.TP
.B NO_COLOR
no colour
.SH FILES
.TP
.I .hush/hush.yaml
the project configuration (committed, no secret)
.TP
.I .hush/<env>.age
an environment's team store (armored age)
.TP
.I $XDG_CONFIG_HOME/hush/identity.txt
the identity when no keyring answers (0600)
.TP
.I $XDG_DATA_HOME/hush/projects/<project>/
personal stores and recipient pins
.TP
.I $XDG_STATE_HOME/hush/audit.jsonl
the audit log and its anchor
`)
	return nil
}

func writeManCommand(w io.Writer, c *cli.Command, parent string) {
	if c.Hidden {
		return
	}
	name := strings.TrimSpace(parent + " " + c.Name)
	fmt.Fprintf(w, ".SS \"hush %s %s\"\n%s\n", roff(name), roff(strings.TrimSpace(c.ArgsUsage)), roff(c.Usage))
	if c.Description != "" {
		fmt.Fprintf(w, ".PP\n.nf\n%s\n.fi\n", roff(c.Description))
	}
	var own []cli.Flag
	for _, f := range c.Flags {
		if !isGlobalFlag(f) {
			own = append(own, f)
		}
	}
	writeFlags(w, own)
	for _, sub := range c.Subcommands {
		writeManCommand(w, sub, name)
	}
}

func isGlobalFlag(f cli.Flag) bool {
	n := f.Names()[0]
	return n == "env" || n == "C" || n == "quiet" || n == "help"
}

func writeFlags(w io.Writer, flags []cli.Flag) {
	for _, f := range flags {
		names := f.Names()
		var parts []string
		for _, n := range names {
			if len(n) == 1 {
				parts = append(parts, "\\-"+n)
			} else {
				parts = append(parts, "\\-\\-"+n)
			}
		}
		usage, arg := "", ""
		if df, ok := f.(cli.DocGenerationFlag); ok {
			// `NAME` marks the flag's argument for --help; in the man
			// page it is the argument, in italics, not literal backticks.
			arg, usage = unquoteUsage(df.GetUsage())
		}
		head := ".B " + strings.Join(parts, ", ")
		if arg != "" {
			head = fmt.Sprintf(".BI \"%s\" \" %s\"", strings.Join(parts, ", "), roff(arg))
		}
		fmt.Fprintf(w, ".TP\n%s\n%s\n", head, roff(usage))
	}
}

// unquoteUsage splits a flag's usage into its `ARG` placeholder and the
// text without the backticks, as urfave/cli's help reads it.
func unquoteUsage(usage string) (arg, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	arg = usage[i+1 : i+1+j]
	return arg, usage[:i] + arg + usage[i+2+j:]
}
