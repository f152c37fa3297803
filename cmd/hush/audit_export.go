package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func auditExportCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write the whole verified audit log: jsonl (the log's own lines, verifiable by hush audit merge), json or csv",
		ArgsUsage: " ",
		Description: `The log is verified first (chain, anchor and witness when your identity
is at hand); a broken log exports nothing (exit 5).

--format jsonl writes the log's lines exactly as written: hash-chained, so
a teammate's hush audit merge verifies them again. json and csv are views in
the shape a SIEM or a spreadsheet reads: timestamp, action, path, identity,
source_ip (the remote hush talked to), success, host, version, lease, user,
command, keys, error, hash.

EXAMPLES:
   hush audit export > ann.jsonl
   hush audit export --format csv > ann.csv`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "`FORMAT`: jsonl, json or csv"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("audit export takes no arguments; it writes to stdout")
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return runAuditExport(s, c.String("format"))
		},
	}
}

func runAuditExport(s *ui, format string) error {
	if format != "jsonl" && format != "json" && format != "csv" {
		return usagef("--format %q: use jsonl, json or csv", format)
	}
	var key []byte
	if id, err := s.Identity(); err == nil {
		key, _ = id.DeriveKey("audit anchor")
	}
	l := s.AuditLog()
	out := exportWriter(s.env, format)
	var err error
	if format == "jsonl" {
		// Byte for byte into a file or a pipe (a merge verifies them);
		// made safe for a terminal, which is no place to verify them.
		_, err = l.ExportLines(key, out)
	} else {
		if _, err = l.VerifyAll(key, nil); err == nil {
			err = audit.WriteRecords(out, format, func(yield func(audit.Record) error) error {
				_, err := l.VerifyAll(nil, func(_ int, e audit.Entry) error { return yield(audit.ToRecord(e)) })
				return err
			})
		}
	}
	if err != nil {
		return hint.With(session.TornHint(err), "hush audit verify names the first bad line")
	}
	return nil
}

func auditMergeCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "verify several members' exported logs and print them as one timeline",
		ArgsUsage: "FILE...",
		Description: `Each FILE is a hush audit export (jsonl) of a whole log. Each file's chain
is verified from its first line; a broken one stops the merge (exit 5) and
is named. The lines of all files are printed in time order, each with the
file it came from (log); a line in several files (two exports of the same
log) is printed once.

What a merge cannot tell: a member who exported only part of their log,
or rewrote it wholesale before exporting, hands over a chain that verifies.
Compare with what the forwarded copy (hush audit forward) received.

EXAMPLE:
   hush audit merge ann.jsonl bob.jsonl --format csv > prod-access.csv`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "`FORMAT`: jsonl, json or csv"}},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("audit merge needs the exported logs to merge: hush audit merge FILE...")
			}
			format := c.String("format")
			if format != "jsonl" && format != "json" && format != "csv" {
				return usagef("--format %q: use jsonl, json or csv", format)
			}
			var inputs []audit.MergeInput
			for _, name := range c.Args().Slice() {
				path := name
				if !filepath.IsAbs(path) {
					wd, err := env.Getwd()
					if err != nil {
						return err
					}
					path = filepath.Join(wd, path)
				}
				f, err := os.Open(path)
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return fmt.Errorf("%w: %s", store.ErrNotFound, name)
					}
					return err
				}
				defer f.Close()
				inputs = append(inputs, audit.MergeInput{Name: name, R: f})
			}
			records, err := audit.Merge(inputs)
			if err != nil {
				return hint.With(err, "that file is not a whole, unedited hush audit export")
			}
			return audit.WriteRecords(exportWriter(env, format), format, func(yield func(audit.Record) error) error {
				for _, r := range records {
					if err := yield(r); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
}

// exportWriter is stdout for an export in format: JSON and JSON lines to a
// terminal get the invisible and control characters a repository could
// put in a path escaped (decoding to the same text); CSV to a terminal,
// every cell escaped for it. To a file or a pipe it is stdout as is.
func exportWriter(env *Env, format string) io.Writer {
	if !env.StdoutTTY {
		return env.Stdout
	}
	if format == "csv" {
		return termWriter{env.Stdout}
	}
	return jsonWriter{env.Stdout}
}

// termWriter escapes what it writes for a terminal, keeping line breaks.
type termWriter struct{ w io.Writer }

func (t termWriter) Write(p []byte) (int, error) {
	if _, err := t.w.Write([]byte(safe.Lines(string(p)))); err != nil {
		return 0, err
	}
	return len(p), nil
}
