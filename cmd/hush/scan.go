package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/store"
)

func scanCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "scan",
			Usage:     "find leaked secrets in files, staged changes or git history (exit 7 when found)",
			ArgsUsage: "[PATH...]",
			Description: `Rules for 100 provider formats and a generic entropy-gated rule, plus the
project's own secret values (every value your identity can decrypt, of 8
characters or more, verbatim and base64/URL/hex-encoded). Findings show at most
the first 4 characters of a secret. Inside a git work tree the files are git's
own list (.gitignore honoured); binary files are skipped.

Allowlist: .hush/scan.yaml (paths, rules, fingerprints); a line with
"hush:allow" is skipped; --baseline FILE accepts the findings of an earlier
--format json report.

EXAMPLES:
   hush scan
   hush scan --staged                     # what is about to be committed
   hush scan --history --since v1.2.0 --format sarif > hush.sarif`,
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "staged", Usage: "scan only the staged changes"},
				&cli.BoolFlag{Name: "history", Usage: "scan every commit reachable (added lines)"},
				&cli.StringFlag{Name: "since", Usage: "with --history, only commits after `REV`"},
				&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "`FORMAT`: text, json or sarif"},
				&cli.BoolFlag{Name: "no-known", Usage: "do not search for the project's own secret values"},
				&cli.StringFlag{Name: "baseline", Usage: "accept the findings listed in `FILE` (an earlier --format json report)"},
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.Bool("staged") && c.Bool("history") {
					return usagef("use either --staged or --history")
				}
				if c.IsSet("since") && !c.Bool("history") {
					return usagef("--since needs --history")
				}
				if (c.Bool("staged") || c.Bool("history")) && c.NArg() > 0 {
					return usagef("PATH arguments go with a working-tree scan, not --staged or --history")
				}
				return runScan(s, scanOptions{paths: c.Args().Slice(), staged: c.Bool("staged"), history: c.Bool("history"),
					since: c.String("since"), format: c.String("format"), noKnown: c.Bool("no-known"), baseline: c.String("baseline")})
			}),
		},
		{
			Name:  "hook",
			Usage: "git hooks",
			Subcommands: []*cli.Command{{
				Name:      "install",
				Usage:     "install a pre-commit hook running hush scan --staged (chaining an existing hook)",
				ArgsUsage: " ",
				Description: `EXAMPLE:
   hush hook install
   git commit            # the hook runs hush scan --staged first`,
				Action: withSession(env, func(c *cli.Context, s *ui) error {
					return runHookInstall(s)
				}),
			}, {
				Name:      "uninstall",
				Usage:     "remove hush's pre-commit hook (restoring the hook it chained)",
				ArgsUsage: " ",
				Description: `A pre-commit hook hush did not write is left alone (exit 3).

EXAMPLE:
   hush hook uninstall`,
				Action: withSession(env, func(c *cli.Context, s *ui) error {
					return runHookUninstall(s)
				}),
			}},
		},
	}
}

type scanOptions struct {
	paths                    []string
	staged, history, noKnown bool
	since, format, baseline  string
}

func runScan(s *ui, o scanOptions) error {
	format, err := scan.ParseFormat(o.format)
	if err != nil {
		return usagef("%v", err)
	}
	cfg := scan.Config{}
	_, perr := s.Project()
	if perr == nil {
		var unacked []string
		if cfg.Allow, unacked, err = s.ScanAllowlist(); err != nil {
			return err
		}
		if len(unacked) > 0 {
			s.warnf(".hush/scan.yaml allows %s since you last acknowledged it: not applied (the scan reports what it would hide); review it, then run: hush ack", strings.Join(unacked, ", "))
		}
	}
	if o.baseline != "" {
		f, err := os.Open(o.baseline)
		if err != nil {
			return err
		}
		cfg.Baseline, err = scan.ReadBaseline(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%w: --baseline %s: %v", store.ErrInvalid, o.baseline, err)
		}
	}
	if !o.noKnown && perr == nil {
		if cfg.Known, err = knownValues(s); err != nil {
			return err
		}
	}
	sc, err := scan.New(cfg)
	if err != nil {
		return err
	}
	ctx := s.Ctx()
	var findings []scan.Finding
	switch {
	case o.staged:
		findings, err = sc.ScanStaged(ctx, s.Dir)
	case o.history:
		findings, err = sc.ScanHistory(ctx, s.Dir, o.since)
	default:
		paths := o.paths
		if len(paths) == 0 {
			// Relative names read better and match the allowlist's globs.
			paths = []string{"."}
			if wd, err := s.env.Getwd(); err != nil || wd != s.Dir {
				paths = []string{s.Dir}
			}
		}
		findings, err = sc.ScanPaths(ctx, paths...)
	}
	if err != nil {
		return err
	}
	if err := writeFindings(s.env.Stdout, format, findings); err != nil {
		return err
	}
	if len(findings) > 0 {
		return &exitCodeError{code: exitPolicy, err: fmt.Errorf("%d possible secrets found", len(findings))}
	}
	if format == "text" {
		s.infof("no secrets found")
	}
	return nil
}

// knownValues collects every secret the identity can decrypt, named
// env/KEY (personal values too). Environments it cannot read are skipped
// with a note.
// knownValues are the project's values to look for, each read recorded;
// without an identity the scan goes on without them.
func knownValues(s *ui) (map[string]string, error) {
	if _, err := s.Identity(); err != nil {
		s.warnf("no identity: scanning without the project's own values (%v)", err)
		return nil, nil
	}
	known, skipped, err := s.KnownValues()
	if err != nil {
		return nil, err
	}
	if !s.quiet {
		for _, env := range slices.Sorted(maps.Keys(skipped)) {
			s.infof("note: not searching for %s's values: %v", env, firstLine(skipped[env].Error()))
		}
	}
	return known, nil
}

func runHookInstall(s *ui) error {
	self, err := os.Executable()
	if err != nil {
		self = "hush"
	}
	res, err := scan.InstallHook(s.Ctx(), s.Dir, scan.HookOptions{Command: self})
	if err != nil {
		return err
	}
	switch {
	case res.Updated:
		s.infof("updated the hush pre-commit hook in %s", res.Path)
	default:
		s.infof("installed a pre-commit hook running hush scan --staged: %s", res.Path)
	}
	if res.Chained != "" {
		s.infof("it runs your existing hook first: %s", res.Chained)
	}
	return nil
}

func runHookUninstall(s *ui) error {
	res, err := scan.UninstallHook(s.Ctx(), s.Dir)
	if errors.Is(err, scan.ErrNoHook) {
		return &exitCodeError{code: exitNotFound, err: err}
	}
	if err != nil {
		return err
	}
	if res.Chained != "" {
		s.infof("removed the hush pre-commit hook; your earlier hook is back: %s", res.Path)
	} else {
		s.infof("removed the hush pre-commit hook: %s", res.Path)
	}
	return nil
}

// writeFindings renders findings escaped for a terminal: a scanned tree
// names its own files, and the matched text is the tree's too. The text
// format escapes each finding as one line, so a file name with a newline
// cannot forge a second finding; JSON and SARIF keep their meaning.
func writeFindings(w io.Writer, format scan.Format, findings []scan.Finding) error {
	if format != scan.FormatText {
		return scan.WriteFindings(jsonWriter{w}, format, findings, version)
	}
	for _, f := range findings {
		printf(w, "%s\n", f.String())
	}
	return nil
}
