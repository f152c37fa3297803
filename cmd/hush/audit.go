package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func auditCommands(env *Env) []*cli.Command {
	return []*cli.Command{{
		Name:      "audit",
		Usage:     "show the local audit log of secret accesses",
		ArgsUsage: " ",
		Description: `Every read and change of a secret is one line in
$XDG_STATE_HOME/hush/audit.jsonl, chained by SHA-256 so edits show.

EXAMPLES:
   hush audit --key DB_PASSWORD --since 7d
   hush audit verify`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "JSON lines (the default when stdout is not a terminal)"},
			&cli.StringFlag{Name: "key", Usage: "only lines about `KEY`"},
			&cli.StringFlag{Name: "since", Usage: "only lines newer than `D` (a period like 7d or an RFC 3339 time)"},
			&cli.StringFlag{Name: "until", Usage: "only lines older than `T` (a period like 1d or an RFC 3339 time)"},
			&cli.StringFlag{Name: "action", Usage: "only lines of `ACTION` (secret.read, secret.write, secret.leak…)"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() > 0 {
				return hint.With(usagef("unknown audit argument %q", c.Args().First()), "did you mean hush audit verify?")
			}
			return runAudit(s, auditOptions{json: c.Bool("json") || !env.StdoutTTY, key: c.String("key"), since: c.String("since"),
				until: c.String("until"), action: c.String("action"), env: s.EnvFlag})
		}),
		Subcommands: []*cli.Command{{
			Name:      "verify",
			Usage:     "check the audit log's hash chain; exit 5 naming the first bad line",
			ArgsUsage: " ",
			Description: `EXAMPLE:
   hush audit verify`,
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				return runAuditVerify(s)
			}),
		}, {
			Name:      "repair",
			Usage:     "cut a torn last line (a crash mid-append) off the audit log and record the cut",
			ArgsUsage: " ",
			Description: `A crash or power loss during an append can leave the log ending in an
incomplete line; every command that audits then refuses, because it cannot
chain its line after it. repair cuts exactly that incomplete line, records its
offset, length and SHA-256 as a new audit.repair line, and verifies the log.
It changes nothing when the log is broken anywhere else, or when the bytes to
cut hold lines the anchor covers (a crash tears only unanchored bytes).

EXAMPLE:
   hush audit verify     # exit 5: names the torn tail
   hush audit repair
   hush audit verify`,
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() > 0 {
					return usagef("audit repair takes no arguments")
				}
				return runAuditRepair(s)
			}),
		}, auditForwardCommand(env), auditExportCommand(env), auditMergeCommand(env)},
	}}
}

type auditOptions struct {
	json                           bool
	key, since, until, action, env string
}

func parseSince(flag, v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := store.ParsePeriod(v)
	if err != nil {
		return time.Time{}, usagef("--%s %q: use a period like 7d or an RFC 3339 time", flag, v)
	}
	return now.Add(-d), nil
}

func runAudit(s *ui, o auditOptions) error {
	var since, until time.Time
	if o.since != "" {
		var err error
		if since, err = parseSince("since", o.since, s.env.Now()); err != nil {
			return err
		}
	}
	if o.until != "" {
		var err error
		if until, err = parseSince("until", o.until, s.env.Now()); err != nil {
			return err
		}
	}
	if o.key != "" {
		if err := store.ValidKeyName(o.key); err != nil {
			return err
		}
	}
	var tw *tabwriter.Writer
	if !o.json {
		tw = tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
		printf(tw, "TIME\tACTION\tPATH\tCOMMAND\tOK\tIDENTITY\n")
	}
	enc := json.NewEncoder(jsonWriter{s.env.Stdout})
	enc.SetEscapeHTML(false)
	_, err := s.AuditLog().VerifyAll(nil, func(_ int, e audit.Entry) error {
		if !since.IsZero() && e.Time.Before(since) || !until.IsZero() && !e.Time.Before(until) {
			return nil
		}
		ap := audit.ParsePath(e.Path)
		if o.key != "" && ap.Key != o.key && !slices.Contains(e.Keys, o.key) {
			return nil
		}
		if o.action != "" && e.Action != o.action {
			return nil
		}
		if o.env != "" && ap.Env != o.env {
			return nil
		}
		if o.json {
			return enc.Encode(e)
		}
		ok := "yes"
		if !e.Success {
			ok = "no"
		}
		path := e.Path
		switch {
		case o.key != "" && slices.Contains(e.Keys, o.key):
			path += "/" + o.key // the one key asked about, of a run's line
		case len(e.Keys) > 0:
			path += fmt.Sprintf(" (%d keys)", len(e.Keys))
		}
		printf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Action, path, e.Command, ok, shortID(e.Identity))
		return nil
	})
	if tw != nil {
		tw.Flush()
	}
	if err != nil {
		var torn *audit.TornError
		if errors.As(err, &torn) {
			return session.TornHint(err)
		}
		return hint.With(err, "run hush audit verify")
	}
	return nil
}

func shortID(s string) string {
	if len(s) > 16 {
		return s[:10] + "…" + s[len(s)-4:]
	}
	return s
}

func runAuditVerify(s *ui) error {
	// The anchor is checked with the identity when one is at hand; without
	// it the chain is still verified.
	var key []byte
	if id, err := s.Identity(); err == nil {
		key, _ = id.DeriveKey("audit anchor")
	}
	rep, err := s.AuditLog().VerifyAll(key, nil)
	if err != nil {
		return session.TornHint(err)
	}
	reportVerified(s, rep)
	return nil
}

func runAuditRepair(s *ui) error {
	r, rep, err := s.RepairAudit()
	switch {
	case r == nil && err == nil:
		s.infof("the audit log does not end in a torn line; nothing to repair")
	case r != nil:
		s.infof("%s; recorded as line %d", r.Detail(), r.Line)
	}
	if err != nil {
		return err
	}
	reportVerified(s, rep)
	return nil
}

func reportVerified(s *ui, rep audit.Report) {
	s.infof("audit log intact: %d lines in %d segment(s), chain verified", rep.Lines, rep.Segments)
	switch {
	case rep.Anchored && rep.AnchoredLine < rep.Lines:
		s.infof("anchored through line %d; the %d lines after it were written without an identity at hand", rep.AnchoredLine, rep.Lines-rep.AnchoredLine)
	case rep.Anchored:
		s.infof("anchor holds: nothing was cut from the end or rewritten")
	default:
		s.infof("%s", rep.AnchorNote)
	}
	switch {
	case rep.Witnessed:
		s.infof("witness agrees: append %d, nothing was rolled back", rep.Seq)
	case rep.WitnessNote != "":
		s.infof("%s", rep.WitnessNote)
	}
	for _, n := range rep.Rollbacks {
		s.warnf("line %d records that the log was found rolled back or replaced (see hush audit --action audit.rollback)", n)
	}
}
