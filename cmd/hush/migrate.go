package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

func migrateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move plaintext .env (or SOPS) files into an environment, leaving nothing behind",
		ArgsUsage: "FILE...",
		Description: `Imports every FILE (dotenv, JSON, YAML or SOPS, as hush import reads them)
into the environment's team store in one write, all or nothing: a key two
files set to different values, or one the environment holds with another value
(unless --overwrite), imports nothing. Then it:
  - reads the store back and checks every value, and reads each FILE
    again from disk with another parser (compose-go's, for dotenv);
  - makes git ignore each FILE (a line in the .gitignore at the top of its
    repository, or of the project outside git);
  - when a FILE is or ever was committed to git, says so and marks every
    secret imported from it exposed (to "git history"): its values stay in
    the history, so rotate them; hush status lists them;
  - with --to vault, pushes the environment to Vault (hush vault push);
  - with --remove, deletes each FILE (a FILE that is a symlink: the link,
    never the file it points to), but keeps (and says why) one whose
    values depend on variable expansion or on anything else dotenv readers
    do differently, or that the second reading does not match;
  - lists other plaintext env files in the project (.env*, *.env) that still
    hold an imported value of 6 bytes or more: file and key names only.
Running it again is harmless: unchanged keys are left as they are.

A FILE that is a symlink in the project leading out of it (a commit can make
.env a link to ~/.git-credentials), a FIFO or a device is refused unless
--follow.

EXAMPLES:
   hush migrate .env --env dev
   hush migrate .env .env.local --env dev --remove
   hush migrate config/prod.env --env prod --remove --to vault`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "remove", Usage: "delete each FILE once its values are verified in hush"},
			&cli.StringFlag{Name: "to", Usage: "then push the environment to `REMOTE` (vault)"},
			&cli.StringFlag{Name: "format", Usage: "`FORMAT` of plain FILEs: dotenv, json or yaml (default: from each name)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace existing keys that have other values"},
			followFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("migrate takes one or more FILEs")
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return runMigrate(s, migrateOptions{files: c.Args().Slice(), remove: c.Bool("remove"), to: c.String("to"),
				format: c.String("format"), overwrite: c.Bool("overwrite"), follow: c.Bool("follow")})
		},
	}
}

type migrateOptions struct {
	files             []string
	remove, overwrite bool
	follow            bool
	to, format        string
}

// migrated is one file's part of a migration.
type migrated struct {
	path    string // as given
	abs     string
	names   []string
	tracked string // "" or why git holds its values
	link    bool   // path itself is a symlink: --remove deletes the link
	real    string // path with every link resolved
	planted bool   // a link in the project was followed to reach it
	// disputed are the keys whose reading depends on what dotenv readers
	// do differently (expansion, escapes…), from the import's parse.
	disputed []inject.Dispute
	// kept says why the file must not be removed: its disputes and what
	// the independent re-read found, one line per key.
	kept []string
}

func runMigrate(s *ui, o migrateOptions) error {
	if o.to != "" && o.to != "vault" {
		return usagef("--to %q: hush migrates to vault only", o.to)
	}
	p, envName, id, err := s.OpenEnv()
	if err != nil {
		return err
	}
	// Read everything first: one bad file imports nothing.
	var files []*migrated
	var secrets []inject.Secret
	from := map[string]string{} // name → file it came from
	values := map[string]string{}
	var clash []string
	for _, path := range o.files {
		if path == "-" {
			return usagef("migrate reads files, not stdin: it must know what to ignore and remove")
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		for _, f := range files {
			if f.abs == abs {
				return usagef("%s is given twice", path)
			}
		}
		imp, err := readImportFile(s, path, o.format, o.follow)
		if err != nil {
			return err
		}
		if len(imp.Duplicates) > 0 {
			s.warnf("%s sets %s more than once; the last value wins", path, strings.Join(imp.Duplicates, ", "))
		}
		m := &migrated{path: path, abs: abs, real: abs, disputed: imp.Disputed}
		if src, err := store.WalkSource(abs, sourceRoots(p)); err == nil {
			m.link, m.real, m.planted = src.Link, src.Real, src.Planted != ""
		}
		for _, sec := range imp.Secrets {
			if err := store.ValidKeyName(sec.Name); err != nil {
				return fmt.Errorf("%s: %v; nothing imported", path, err)
			}
			if err := store.ValidValue(sec.Value.Reveal()); err != nil {
				return fmt.Errorf("%s: %s: %v; nothing imported", path, sec.Name, err)
			}
			m.names = append(m.names, sec.Name)
			if prev, ok := values[sec.Name]; ok {
				if prev != sec.Value.Reveal() {
					clash = append(clash, fmt.Sprintf("%s (%s, %s)", sec.Name, from[sec.Name], path))
				}
				continue
			}
			values[sec.Name], from[sec.Name] = sec.Value.Reveal(), path
			secrets = append(secrets, sec)
		}
		files = append(files, m)
	}
	if len(clash) > 0 {
		return hint.With(fmt.Errorf("%w: the files give different values to %s; nothing imported", store.ErrConflict, strings.Join(clash, ", ")),
			"migrate such files one at a time, into different environments")
	}
	for _, f := range files {
		f.tracked = gitTracked(f.abs)
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	exposed := map[string]bool{}
	for _, f := range files {
		if f.tracked != "" {
			for _, n := range f.names {
				exposed[n] = true
			}
		}
	}
	now := s.env.Now().UTC().Truncate(time.Second)
	var mark func(string, *store.Secret)
	config := map[string]bool{}
	if len(exposed) > 0 {
		mark = func(name string, sec *store.Secret) {
			if !exposed[name] {
				return
			}
			// Configuration (DB_HOST=localhost, a port, an empty value)
			// leaks nothing worth rotating: typed config, never marked.
			if sec.Type == store.TypeConfig || sec.Type == "" && store.IsConfigValue(name, sec.Value.Reveal()) {
				sec.Type = store.TypeConfig
				config[name] = true
				return
			}
			markExposed(sec, now)
		}
	}
	added, updated, same, err := applyImport(s, p, id, envName, store.Team, secrets, o.overwrite, mark)
	if err != nil {
		return err
	}
	s.infof("migrated %d keys into %s: %d added, %d updated, %d unchanged", len(secrets), envName, len(added), len(updated), len(same))
	stored, err := verifyMigration(s, p, envName, secrets)
	if err != nil {
		return err
	}
	for _, f := range files {
		checkSource(s, f, o.format, stored, o.follow)
	}
	for _, f := range files {
		if f.tracked != "" {
			s.warnf("%s %s: its values stay in the git history, readable by anyone with a clone", f.path, f.tracked)
			var marked, plain []string
			for _, n := range f.names {
				if config[n] {
					plain = append(plain, n)
				} else {
					marked = append(marked, n)
				}
			}
			if len(plain) > 0 {
				s.infof("not marked, as they are configuration (type config): %s", strings.Join(plain, ", "))
			}
			if len(marked) > 0 {
				s.warnf("marked exposed, rotate them: %s", strings.Join(marked, ", "))
				printf(s.env.Stderr, "hush: hint: rotate each at its provider, then record it (hush rotate KEY --env %s), or settle a mark with a reason (hush dismiss KEY --env %s --reason TEXT); then untrack the file: git rm --cached %s\n",
					safe.ShellWord(envName), safe.ShellWord(envName), safe.ShellWord(f.path))
			} else {
				printf(s.env.Stderr, "hush: hint: untrack the file: git rm --cached %s\n", safe.ShellWord(f.path))
			}
		}
		if err := ensureIgnored(s, p.Root, f); err != nil {
			return err
		}
	}
	if o.to == "vault" {
		if err := runVaultPush(s.Ctx(), s, vaultOptions{}); err != nil {
			return hint.With(fmt.Errorf("the secrets are in hush (verified) but the push failed: %w", err),
				"fix it and run: hush vault push --env %s; the files were left in place", envName)
		}
	}
	if o.remove {
		for _, f := range files {
			if len(f.kept) > 0 {
				s.warnf("kept %s: it was not removed, since what hush stored may not be what the file means to every reader", f.path)
				printf(s.env.Stderr, "hush: hint: check each key named above (hush get KEY), fix the file or the value, then delete %s yourself\n", safe.ShellWord(f.path))
				continue
			}
			if err := removeMigrated(s, f); err != nil {
				return err
			}
		}
	}
	var skip []string
	for _, f := range files {
		skip = append(skip, f.abs)
	}
	reportLeftovers(s, p.Root, skip, secrets)
	return nil
}

// removeMigrated deletes a migrated file, never through a link: a FILE that
// is a symlink is removed as rm(1) would, the link and not its target (the
// target may be a file the repository pointed at, such as
// ~/.git-credentials, and it is not the file the user named); a FILE
// reached through a directory link is left in place. Either way the user
// is told where the plaintext still is.
func removeMigrated(s *ui, f *migrated) error {
	if f.planted && !f.link {
		s.warnf("%s is reached through a directory link in the project (it is %s): not deleted, hush never deletes through a link; delete it yourself", f.path, f.real)
		return nil
	}
	if err := os.Remove(f.abs); err != nil {
		return fmt.Errorf("the secrets are in hush (verified) but %s could not be deleted: %w", f.path, err)
	}
	if f.link {
		s.infof("removed the link %s", f.path)
		s.warnf("%s was a link to %s, which still holds the values: hush deletes the link, never the file it points to", f.path, f.real)
		return nil
	}
	s.infof("removed %s", f.path)
	return nil
}

// gitHistory is the exposure mark of values committed to git.
const gitHistory = "git history"

func markExposed(sec *store.Secret, now time.Time) {
	for _, e := range sec.Exposed {
		if e.To == gitHistory {
			return
		}
	}
	sec.Exposed = append(sec.Exposed, store.Exposure{To: gitHistory, Since: now})
}

// verifyMigration reads the team store back, checks every value against the
// import's reading and returns what decrypting the store gives for them.
func verifyMigration(s *ui, p *store.Project, envName string, secrets []inject.Secret) (map[string]string, error) {
	doc, err := p.Read(envName, store.Team, s.Known())
	paths := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		paths = append(paths, s.SecretPath(envName, sec.Name))
	}
	if aerr := s.Audit(audit.SecretRead, paths, err); aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s back: %w; no file was removed", envName, err)
	}
	var bad []string
	stored := map[string]string{}
	for _, sec := range secrets {
		got, ok := doc.Secrets[sec.Name]
		if !ok || got.Value.Reveal() != sec.Value.Reveal() {
			bad = append(bad, sec.Name)
			continue
		}
		stored[sec.Name] = got.Value.Reveal()
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("%w: %s read back with other values (changed by another process?); no file was removed", store.ErrConflict, strings.Join(bad, ", "))
	}
	s.infof("verified: %s holds all %d values", envName, len(secrets))
	return stored, nil
}

// rereadSource reads a migrated file again from disk, with the import's
// link rules.
func rereadSource(s *ui, path string, follow bool) ([]byte, error) {
	fh, _, err := openSource(s, path, follow)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, maxImportFile+1))
}

// checkSource re-reads f from disk and compares what another reader makes
// of it (inject.CheckSource: compose-go's parser for dotenv) with stored, what
// decrypting the store gave; with the import's own disputes, every
// difference goes into f.kept, which keeps the file. A SOPS file is checked
// by the store read-back alone: its plaintext exists only inside sops.
func checkSource(s *ui, f *migrated, formatFlag string, stored map[string]string, follow bool) {
	// Read again through the same checks as the import: a source swapped
	// for a link since then is refused here too.
	data, err := rereadSource(s, f.abs, follow)
	if err != nil {
		f.kept = append(f.kept, "the file cannot be read again: "+err.Error())
	}
	format, ferr := importFormat(f.path, formatFlag)
	mine := map[string]string{}
	for _, n := range f.names {
		mine[n] = stored[n]
	}
	if err == nil && !decryptedSOPS(data, f.path, formatFlag, format, mine) {
		ref, cerr := inject.CheckSource(data, format, mine)
		switch {
		case ferr != nil:
			cerr = ferr
		case cerr == nil && len(ref) == 0:
			s.infof("checked: %s, read again from disk by another reader, gives the %d stored values byte for byte", f.path, len(f.names))
		}
		if cerr != nil {
			f.kept = append(f.kept, cerr.Error())
		}
		// The import's own disputes first, in file order; the second
		// reader's findings for keys not already named.
		named := map[string]bool{}
		for _, d := range f.disputed {
			named[d.Key] = true
			f.kept = append(f.kept, fmt.Sprintf("%s (line %d): %s", d.Key, d.Line, d.Reason))
		}
		for _, d := range ref {
			if !named[d.Key] {
				f.kept = append(f.kept, d.Key+": "+d.Reason)
			}
		}
	} else {
		for _, d := range f.disputed {
			f.kept = append(f.kept, fmt.Sprintf("%s (line %d): %s", d.Key, d.Line, d.Reason))
		}
	}
	if len(f.kept) > 0 {
		s.warnf("%s: what hush stored may not be what every reader of it gets:", f.path)
		for _, k := range f.kept {
			printf(s.env.Stderr, "hush:   %s\n", k)
		}
	}
}

// decryptedSOPS reports whether the values hush imported from data came
// out of sops: data looks like a SOPS file and its plain parse is not what
// was stored. A file that merely mentions sops but was imported as plain
// text is checked like any other.
func decryptedSOPS(data []byte, path, formatFlag string, format inject.Format, stored map[string]string) bool {
	hint := sopsfile.FormatForPath(path)
	if formatFlag != "" {
		hint, _ = sopsfile.ParseFormat(formatFlag)
	}
	if len(sopsfile.Candidates(data, hint)) == 0 {
		return false
	}
	imp, err := inject.Import(bytes.NewReader(data), format)
	if err != nil || len(imp.Secrets) != len(stored) {
		return true
	}
	for _, sec := range imp.Secrets {
		if v, ok := stored[sec.Name]; !ok || v != sec.Value.Reveal() {
			return true
		}
	}
	return false
}

// warnDisputed names, for hush import, the keys whose stored value some
// dotenv reader would read otherwise.
func warnDisputed(s *ui, path string, disputed []inject.Dispute) {
	if len(disputed) == 0 {
		return
	}
	s.warnf("%s: %d values were read in a way not every dotenv reader shares; check them (hush get KEY):", path, len(disputed))
	for _, d := range disputed {
		printf(s.env.Stderr, "hush:   %s (line %d): %s\n", d.Key, d.Line, d.Reason)
	}
}
