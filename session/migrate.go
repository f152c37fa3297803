package session

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

// This file is hush migrate: plaintext env files into an environment's
// team store, verified, ignored by git, marked exposed when git holds
// them, removed on request, and the plaintext left elsewhere found.
// migrate_git.go is what it asks git and the search for leftovers.

// MigrateOptions is hush migrate's command line.
type MigrateOptions struct {
	Files []string
	// Format is --format for the plain files ("" from each name).
	Format                    string
	Follow, Overwrite, Remove bool
	// SOPS finds hush-sops, for a FILE that is a SOPS file.
	SOPS func() (*sopsfile.Helper, error)
	// Push, when not nil, runs once the values are verified and the files
	// ignored, before any file is removed (--to vault).
	Push func() error
}

// MigrateReport is what a migration did, for the CLI to render in order.
// It is returned, as far as it got, with an error too: each step's fields
// are set once the step is done.
type MigrateReport struct {
	Env   string
	Files []*MigratedFile
	// Keys counts the distinct keys of all the files.
	Keys int
	// Applied: the values are in the store, Added, Updated and Same by
	// what each did.
	Applied              bool
	Added, Updated, Same []string
	// Verified: the store read back gives every value.
	Verified bool
	// Checked: every file was read again (MigratedFile.Checked, Kept).
	Checked bool
	// Pushed: Push ran and succeeded.
	Pushed bool
	// Searched: other env files were searched for imported values (not
	// when no value is long enough to look for); Leftovers are the ones
	// that hold some.
	Searched  bool
	Leftovers []Leftover
}

// MigratedFile is one file's part of a migration.
type MigratedFile struct {
	Path string // as given
	// Names are its keys, in file order.
	Names      []string
	Duplicates []string
	// Tracked is "" or why git holds the file's values ("is tracked by
	// git", "was committed to git (commit abc123)").
	Tracked string
	// Exposed are the keys of a tracked file marked exposed to the git
	// history; Config the ones left unmarked as configuration.
	Exposed, Config []string
	// Checked: the file read again by another reader gives the stored
	// values byte for byte. Kept says, one line per key, why the file
	// must not be removed.
	Checked bool
	Kept    []string
	// Ignore is what was done to make git ignore the file, nil until then.
	Ignore *Ignore
	// Removal is what --remove did with it.
	Removal Removal
	// Real is the file with every link resolved (for a link: what it
	// points to, which still holds the values).
	Real string

	abs      string
	link     bool // Path itself is a symlink: --remove deletes the link
	planted  bool // a link in the project was followed to reach it
	disputed []inject.Dispute
}

// Ignore is how a migrated file came to be ignored by git.
type Ignore struct {
	// Outside: the file is outside the project and any git work tree;
	// nothing was done.
	Outside bool
	// LineBreak: its name has a line break, which no .gitignore line can
	// hold; nothing was done.
	LineBreak bool
	// Line was added to File; both "" when git already ignored the file
	// or the line was there.
	Line, File string
	// NotIgnored: after the change git still does not ignore the file
	// (a later rule in a .gitignore re-includes it?).
	NotIgnored bool
}

// Removal is what --remove did with one file.
type Removal int

const (
	// NotRemoved: no --remove, or not reached.
	NotRemoved Removal = iota
	// Removed: the file is deleted.
	Removed
	// RemovedLink: the file was a symlink; the link is deleted, its
	// target (Real) still holds the values.
	RemovedLink
	// KeptUnsure: kept, as what hush stored may not be what the file
	// means to every reader (Kept says why).
	KeptUnsure
	// KeptLinkedDir: kept, as it is reached through a directory link in
	// the project (it is Real); hush never deletes through a link.
	KeptLinkedDir
)

// Leftover is another plaintext env file holding imported values: its
// name relative to the project and the keys, never a value.
type Leftover struct {
	File string
	Keys []string
}

// GitHistory is the exposure mark of values committed to git.
const GitHistory = "git history"

// Migrate moves plaintext env (or SOPS) files into the environment's team
// store in one write, all or nothing, then verifies the store and each
// file, makes git ignore the files, marks exposed what git holds, pushes
// (o.Push) and removes the files (o.Remove), and looks for the imported
// values in other env files.
func (s *Session) Migrate(o MigrateOptions) (*MigrateReport, error) {
	p, env, _, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	rep := &MigrateReport{Env: env}
	// Read everything first: one bad file imports nothing.
	secrets, err := s.readMigrated(p, rep, o)
	if err != nil {
		return rep, err
	}
	rep.Keys = len(secrets)
	for _, f := range rep.Files {
		f.Tracked = gitTracked(f.abs)
	}
	exposed := map[string]bool{}
	for _, f := range rep.Files {
		if f.Tracked != "" {
			for _, n := range f.Names {
				exposed[n] = true
			}
		}
	}
	config := map[string]bool{}
	var mark func(string, *store.Secret, time.Time)
	if len(exposed) > 0 {
		mark = func(name string, sec *store.Secret, now time.Time) {
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
	rep.Added, rep.Updated, rep.Same, err = s.applyImport(env, store.Team, secrets, o.Overwrite, mark)
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	for _, f := range rep.Files {
		if f.Tracked == "" {
			continue
		}
		for _, n := range f.Names {
			if config[n] {
				f.Config = append(f.Config, n)
			} else {
				f.Exposed = append(f.Exposed, n)
			}
		}
	}
	stored, err := s.verifyMigration(p, env, secrets)
	if err != nil {
		return rep, err
	}
	rep.Verified = true
	for _, f := range rep.Files {
		s.checkSource(f, o.Format, stored, o.Follow)
	}
	rep.Checked = true
	for _, f := range rep.Files {
		if err := ensureIgnored(p.Root, f); err != nil {
			return rep, err
		}
	}
	if o.Push != nil {
		if err := o.Push(); err != nil {
			return rep, hint.With(fmt.Errorf("the secrets are in hush (verified) but the push failed: %w", err),
				"fix it and run: hush vault push --env %s; the files were left in place", env)
		}
		rep.Pushed = true
	}
	if o.Remove {
		for _, f := range rep.Files {
			if err := removeMigrated(f); err != nil {
				return rep, err
			}
		}
	}
	var skip []string
	for _, f := range rep.Files {
		skip = append(skip, f.abs)
	}
	rep.Leftovers, rep.Searched = findLeftovers(p.Root, skip, secrets)
	return rep, nil
}

// readMigrated reads and checks every file, adding each to rep.Files, and
// returns the secrets to import, each key once: a key two files give
// different values is a conflict.
func (s *Session) readMigrated(p *store.Project, rep *MigrateReport, o MigrateOptions) ([]inject.Secret, error) {
	var secrets []inject.Secret
	from := map[string]string{} // name → file it came from
	values := map[string]string{}
	var clash []string
	for _, path := range o.Files {
		if path == "-" {
			return nil, Usagef("migrate reads files, not stdin: it must know what to ignore and remove")
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		for _, f := range rep.Files {
			if f.abs == abs {
				return nil, Usagef("%s is given twice", path)
			}
		}
		imp, err := s.ReadSource(Source{Path: path, Format: o.Format, Follow: o.Follow, SOPS: o.SOPS})
		if err != nil {
			return nil, err
		}
		f := &MigratedFile{Path: path, Duplicates: imp.Duplicates, abs: abs, Real: abs, disputed: imp.Disputed}
		rep.Files = append(rep.Files, f)
		if src, err := store.WalkSource(abs, SourceRoots(p)); err == nil {
			f.link, f.Real, f.planted = src.Link, src.Real, src.Planted != ""
		}
		if err := validImport(path, imp.Secrets); err != nil {
			return nil, err
		}
		for _, sec := range imp.Secrets {
			f.Names = append(f.Names, sec.Name)
			if prev, ok := values[sec.Name]; ok {
				if prev != sec.Value.Reveal() {
					clash = append(clash, fmt.Sprintf("%s (%s, %s)", sec.Name, from[sec.Name], path))
				}
				continue
			}
			values[sec.Name], from[sec.Name] = sec.Value.Reveal(), path
			secrets = append(secrets, sec)
		}
	}
	if len(clash) > 0 {
		return nil, hint.With(fmt.Errorf("%w: the files give different values to %s; nothing imported", store.ErrConflict, strings.Join(clash, ", ")),
			"migrate such files one at a time, into different environments")
	}
	return secrets, nil
}

// removeMigrated deletes a migrated file, never through a link: a FILE that
// is a symlink is removed as rm(1) would, the link and not its target (the
// target may be a file the repository pointed at, such as
// ~/.git-credentials, and it is not the file the user named); a FILE
// reached through a directory link is left in place, and so is one whose
// values some reader may read otherwise.
func removeMigrated(f *MigratedFile) error {
	switch {
	case len(f.Kept) > 0:
		f.Removal = KeptUnsure
		return nil
	case f.planted && !f.link:
		f.Removal = KeptLinkedDir
		return nil
	}
	if err := os.Remove(f.abs); err != nil {
		return fmt.Errorf("the secrets are in hush (verified) but %s could not be deleted: %w", f.Path, err)
	}
	f.Removal = Removed
	if f.link {
		f.Removal = RemovedLink
	}
	return nil
}

func markExposed(sec *store.Secret, now time.Time) {
	for _, e := range sec.Exposed {
		if e.To == GitHistory {
			return
		}
	}
	sec.Exposed = append(sec.Exposed, store.Exposure{To: GitHistory, Since: now})
}

// verifyMigration reads the team store back, checks every value against the
// import's reading and returns what decrypting the store gives for them.
// The read is audited.
func (s *Session) verifyMigration(p *store.Project, env string, secrets []inject.Secret) (map[string]string, error) {
	doc, err := p.Read(env, store.Team, s.Known())
	paths := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		paths = append(paths, s.SecretPath(env, sec.Name))
	}
	if aerr := s.Audit(audit.SecretRead, paths, err); aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s back: %w; no file was removed", env, err)
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
	return stored, nil
}

// rereadSource reads a migrated file again from disk, with the import's
// link rules.
func (s *Session) rereadSource(path string, follow bool) ([]byte, error) {
	fh, err := s.OpenSource(path, follow)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, MaxImportFile+1))
}

// checkSource re-reads f from disk and compares what another reader makes
// of it (inject.CheckSource: compose-go's parser for dotenv) with stored, what
// decrypting the store gave; with the import's own disputes, every
// difference goes into f.Kept, which keeps the file. A SOPS file is checked
// by the store read-back alone: its plaintext exists only inside sops.
func (s *Session) checkSource(f *MigratedFile, formatFlag string, stored map[string]string, follow bool) {
	// Read again through the same checks as the import: a source swapped
	// for a link since then is refused here too.
	data, err := s.rereadSource(f.abs, follow)
	if err != nil {
		f.Kept = append(f.Kept, "the file cannot be read again: "+err.Error())
	}
	format, ferr := ImportFormat(f.Path, formatFlag)
	mine := map[string]string{}
	for _, n := range f.Names {
		mine[n] = stored[n]
	}
	disputes := func() map[string]bool {
		named := map[string]bool{}
		for _, d := range f.disputed {
			named[d.Key] = true
			f.Kept = append(f.Kept, fmt.Sprintf("%s (line %d): %s", d.Key, d.Line, d.Reason))
		}
		return named
	}
	if err != nil || decryptedSOPS(data, f.Path, formatFlag, format, mine) {
		disputes()
		return
	}
	ref, cerr := inject.CheckSource(data, format, mine)
	switch {
	case ferr != nil:
		cerr = ferr
	case cerr == nil && len(ref) == 0:
		f.Checked = true
	}
	if cerr != nil {
		f.Kept = append(f.Kept, cerr.Error())
	}
	// The import's own disputes first, in file order; the second
	// reader's findings for keys not already named.
	named := disputes()
	for _, d := range ref {
		if !named[d.Key] {
			f.Kept = append(f.Kept, d.Key+": "+d.Reason)
		}
	}
}

// decryptedSOPS reports whether the values hush imported from data came
// out of sops: data looks like a SOPS file and its plain parse is not what
// was stored. A file that merely mentions sops but was imported as plain
// text is checked like any other.
func decryptedSOPS(data []byte, path, formatFlag string, format inject.Format, stored map[string]string) bool {
	guess := sopsfile.FormatForPath(path)
	if formatFlag != "" {
		guess, _ = sopsfile.ParseFormat(formatFlag)
	}
	if len(sopsfile.Candidates(data, guess)) == 0 {
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
