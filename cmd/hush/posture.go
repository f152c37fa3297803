package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
)

func postureCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "posture",
		Usage:     "one report of the project's secrets posture (shared, long-lived, who reads what, leaks, audit)",
		ArgsUsage: " ",
		Description: `Five sections, each finding with a severity, where, the evidence and a command
that fixes it; never a value, a prefix of one or a hash anyone could test:

  shared      the same value in two environments or under two keys (compared by
              HMAC under a key made for this run; environments you cannot read
              are said to be not compared; config values and short ones skipped)
  long-lived  each secret's age since rotation against its period, oldest first;
              which rotate at their source (rotation.sources), which by hand,
              which could be leased from Vault per run instead
  access      members x environments from hush.yaml, CI keys reading several
              environments, readers of prod (--sensitive) idle for --idle-days
              in the audit log (the local log knows only your own reads: give
              the others' exports with --audit FILE)
  places      hush scan of the work tree (archives, images layer by layer,
              programs' strings), --path P, --history; plaintext .env files
              in the tree and in git history
  hygiene     the audit chain verified, forwarding configured, rotation
              automated or by hand

Reading the values to compare them is recorded as reads in the audit log.
--fail exits 7 when a finding is at or above --fail-on (default high), and 4
when an environment could not be read (the gate cannot vouch for it).

EXAMPLES:
   hush posture
   hush posture --history --path dist/app.tar --fail
   hush posture --json --audit alice.jsonl --audit bob.jsonl --idle-days 60`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			&cli.BoolFlag{Name: "fail", Usage: "exit 7 when a finding is at or above --fail-on"},
			&cli.StringFlag{Name: "fail-on", Value: "high", Usage: "`SEVERITY` for --fail: info, low, medium, high or critical"},
			&cli.BoolFlag{Name: "history", Usage: "also scan every commit of git history"},
			&cli.StringSliceFlag{Name: "path", Usage: "also scan `P` (an image tarball, an archive, a build directory); repeatable"},
			&cli.StringSliceFlag{Name: "sensitive", Usage: "`ENV` whose idle readers are reported (default prod, production); repeatable"},
			&cli.IntFlag{Name: "idle-days", Value: 30, Usage: "`N` days without a read of a sensitive environment"},
			&cli.StringSliceFlag{Name: "audit", Usage: "another member's log, from hush audit export (`FILE`); repeatable"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			failOn := c.String("fail-on")
			if session.PostureSeverity(failOn) < 0 {
				return usagef("--fail-on %q: want info, low, medium, high or critical", failOn)
			}
			if c.Int("idle-days") <= 0 {
				return usagef("--idle-days wants a number of days above 0")
			}
			o := session.PostureOptions{History: c.Bool("history"), Paths: c.StringSlice("path"),
				Sensitive: c.StringSlice("sensitive"), IdleDays: c.Int("idle-days")}
			for _, f := range c.StringSlice("audit") {
				fh, err := os.Open(f)
				if err != nil {
					return err
				}
				defer fh.Close()
				o.AuditFiles = append(o.AuditFiles, session.NamedReader{Name: f, R: fh})
			}
			return runPosture(s, o, c.Bool("json"), c.Bool("fail"), failOn)
		}),
	}
}

func runPosture(s *ui, o session.PostureOptions, asJSON, fail bool, failOn string) error {
	rep, err := s.Posture(o)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(s.env.Stdout, rep); err != nil {
			return err
		}
	} else {
		printPosture(s, rep)
	}
	if !fail {
		return nil
	}
	threshold := session.PostureSeverity(failOn)
	n := 0
	for _, sec := range rep.Sections {
		for _, f := range sec.Findings {
			if session.PostureSeverity(f.Severity) >= threshold {
				n++
			}
		}
	}
	if n > 0 {
		err := fmt.Errorf("posture: %d findings at or above %s", n, failOn)
		if len(rep.Unread) > 0 {
			err = fmt.Errorf("%w; not checked, as this identity cannot read them: %s", err, strings.Join(rep.Unread, ", "))
		}
		return &exitCodeError{code: exitPolicy, err: err}
	}
	// As hush status --fail: an environment the gate could not read is
	// not a pass, whatever the rest says.
	if len(rep.Unread) > 0 {
		return &exitCodeError{code: exitNoIdentity, err: hint.With(
			fmt.Errorf("posture --fail cannot vouch for %s, which this identity cannot read", strings.Join(rep.Unread, ", ")),
			"a member can add this key (hush member add KEY --env %s --label ci); or gate on hush status --fail --env ENV", strings.Join(rep.Unread, ","))}
	}
	return nil
}

func printPosture(s *ui, rep *session.PostureReport) {
	w := s.env.Stdout
	printf(w, "posture of %s (%d environments)\n", rep.Project, len(rep.Envs))
	for _, sec := range rep.Sections {
		printf(w, "\n== %s (%d findings)\n", sec.Title, len(sec.Findings))
		for _, f := range sec.Findings {
			printf(w, "  [%s] %s\n      where: %s\n      evidence: %s\n", f.Severity, f.What, f.Where, f.Evidence)
			if f.Fix != "" {
				printf(w, "      fix: %s\n", f.Fix)
			}
		}
		for _, n := range sec.Notes {
			printf(w, "  note: %s\n", n)
		}
		switch sec.ID {
		case "long-lived":
			printAges(s, rep)
		case "access":
			printAccess(s, rep)
		}
	}
}

// printAges lists the oldest secrets (the JSON has them all).
func printAges(s *ui, rep *session.PostureReport) {
	if len(rep.Ages) == 0 {
		return
	}
	const shown = 10
	printf(s.env.Stdout, "  oldest first:\n")
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	for i, a := range rep.Ages {
		if i == shown {
			break
		}
		src := a.Kind
		if a.Source != "" {
			src += " (" + a.Source + ")"
		}
		every := a.Every
		if every == "" {
			every = "no period"
		}
		printf(tw, "    %s/%s\t%s\t%s\t%s\t%s\n", a.Env, a.Key, ageDays(a), every, a.State, src)
	}
	tw.Flush()
	if len(rep.Ages) > shown {
		printf(s.env.Stdout, "    … %d more (--json lists them all)\n", len(rep.Ages)-shown)
	}
}

func ageDays(a session.SecretAge) string {
	if a.Since.IsZero() {
		return "age unknown"
	}
	return fmt.Sprintf("%dd", int(a.Age.Hours()/24))
}

func printAccess(s *ui, rep *session.PostureReport) {
	if len(rep.Access) == 0 {
		return
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	// One verb a cell: printf escapes its arguments, tabs too.
	row := "    %s" + strings.Repeat("\t%s", len(rep.Envs)) + "\n"
	head := []any{"member"}
	for _, e := range rep.Envs {
		head = append(head, e)
	}
	printf(tw, row, head...)
	for _, r := range rep.Access {
		label := r.Label
		if r.CI {
			label += " (ci)"
		}
		cells := []any{label}
		for _, e := range rep.Envs {
			cell := "-"
			if r.Envs[e] {
				cell = "read"
			}
			cells = append(cells, cell)
		}
		printf(tw, row, cells...)
	}
	tw.Flush()
}
