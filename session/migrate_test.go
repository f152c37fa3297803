package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// migrateProject is a project for the import and migrate tests: a real git
// repository holding a hush project with environment dev, a real age
// identity, and a session on it with its own home and state directory.
type migrateProject struct {
	t    *testing.T
	root string
	home string
	id   *crypt.Identity
	said *recorder
}

type recorder struct{ lines []string }

func (r *recorder) Infof(f string, a ...any) {
	r.lines = append(r.lines, "info: "+fmt.Sprintf(f, a...))
}
func (r *recorder) Warnf(f string, a ...any) {
	r.lines = append(r.lines, "warn: "+fmt.Sprintf(f, a...))
}
func (r *recorder) Notef(f string, a ...any) {
	r.lines = append(r.lines, "note: "+fmt.Sprintf(f, a...))
}

func newTestMigrate(t *testing.T) *migrateProject {
	t.Helper()
	// git sees neither the user's configuration nor the system's.
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
	base := t.TempDir()
	m := &migrateProject{t: t, root: filepath.Join(base, "repo"), home: filepath.Join(base, "home"), said: &recorder{}}
	if err := os.MkdirAll(m.root, 0o755); err != nil {
		t.Fatal(err)
	}
	m.git("init", "-q")
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	m.id = id
	s := m.session()
	pid, err := store.NewProjectID()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &store.Config{Version: store.ConfigVersion, ID: pid, Project: "demo", DefaultEnv: "dev", Environments: map[string]*store.EnvConfig{}}
	p, err := store.Create(m.root, s.DataDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterInit(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateEnv("dev", []store.Recipient{{Key: id.Public, Label: "me"}}, id); err != nil {
		t.Fatal(err)
	}
	return m
}

// session is a new session on the project, as a new command would have.
func (m *migrateProject) session() *Session {
	env := map[string]string{"HOME": m.home, "HUSH_KEYRING": "off", "HUSH_IDENTITY": m.id.SecretText()}
	s := New(Options{Dir: m.root, EnvFlag: "dev", Command: "hush migrate", Getenv: func(k string) string { return env[k] },
		Report: m.said, Version: "test"})
	return s
}

func (m *migrateProject) git(args ...string) string {
	m.t.Helper()
	out, err := git.Output(context.Background(), m.root, args...)
	if err != nil {
		m.t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}

func (m *migrateProject) write(name, content string) string {
	m.t.Helper()
	path := filepath.Join(m.root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		m.t.Fatal(err)
	}
	return path
}

// values is the team store of dev, read without a session (no audit line).
func (m *migrateProject) values() map[string]*store.Secret {
	m.t.Helper()
	s := m.session()
	p, err := s.Project()
	if err != nil {
		m.t.Fatal(err)
	}
	d, err := p.Read("dev", store.Team, m.id)
	if err != nil {
		m.t.Fatal(err)
	}
	return d.Secrets
}

// audit is every line of the audit log.
func (m *migrateProject) audit() []audit.Entry {
	m.t.Helper()
	f, err := os.Open(filepath.Join(m.session().StateDir(), "audit.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		m.t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			m.t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// lines are the audit lines of action, as "path ok" or "path failed".
func lines(entries []audit.Entry, action string) []string {
	var out []string
	for _, e := range entries {
		if e.Action != action {
			continue
		}
		r := "ok"
		if !e.Success {
			r = "failed"
		}
		out = append(out, e.Path+" "+r)
	}
	return out
}

// breakAudit makes the audit log unwritable: its path is a directory.
func (m *migrateProject) breakAudit() {
	m.t.Helper()
	if err := os.MkdirAll(filepath.Join(m.session().StateDir(), "audit.jsonl"), 0o700); err != nil {
		m.t.Fatal(err)
	}
}

// checkIgnore is git's own answer, check-ignore --no-index, which
// refuses the literal pathspecs of every hush git call: they are taken out.
func checkIgnore(dir, rel string) bool {
	cmd := git.Cmd(context.Background(), dir, "check-ignore", "-q", "--no-index", "--", rel)
	var args []string
	for _, a := range cmd.Args {
		if a != "--literal-pathspecs" {
			args = append(args, a)
		}
	}
	cmd.Args = args
	return cmd.Run() == nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestImportWritesAndAuditsEveryKey(t *testing.T) {
	m := newTestMigrate(t)
	path := m.write("in.env", "A=alpha-1\nB=beta-22\nA=alpha-2\n")
	rep, err := m.session().Import(ImportOptions{Source: Source{Path: path}, Scope: store.Team})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Applied || strings.Join(rep.Added, ",") != "A,B" || len(rep.Duplicates) != 1 || rep.Duplicates[0] != "A" {
		t.Fatalf("report %+v", rep)
	}
	v := m.values()
	if v["A"].Value.Reveal() != "alpha-2" || v["B"].Value.Reveal() != "beta-22" {
		t.Fatalf("stored A=%q B=%q", v["A"].Value.Reveal(), v["B"].Value.Reveal())
	}
	if got := strings.Join(lines(m.audit(), audit.SecretWrite), "; "); got != "demo/dev/A ok; demo/dev/B ok" {
		t.Fatalf("write lines: %s", got)
	}
}

// A conflict imports nothing of the file, not even its new keys, and its
// failure is in the audit log, a line per key.
func TestImportConflictImportsNothingAndIsAudited(t *testing.T) {
	m := newTestMigrate(t)
	if _, err := m.session().Set("dev", store.Team, "A", "old-value", Meta{}); err != nil {
		t.Fatal(err)
	}
	path := m.write("in.env", "NEW=fresh-value\nA=other-value\n")
	rep, err := m.session().Import(ImportOptions{Source: Source{Path: path}, Scope: store.Team})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if rep == nil || rep.Applied {
		t.Fatalf("report %+v", rep)
	}
	v := m.values()
	if _, ok := v["NEW"]; ok || v["A"].Value.Reveal() != "old-value" {
		t.Fatalf("the store changed: %v", v)
	}
	got := lines(m.audit(), audit.SecretWrite)
	want := "demo/dev/A ok; demo/dev/NEW failed; demo/dev/A failed" // the Set, then the import
	if strings.Join(got, "; ") != want {
		t.Fatalf("write lines: %s, want %s", strings.Join(got, "; "), want)
	}
	// --overwrite replaces it.
	rep, err = m.session().Import(ImportOptions{Source: Source{Path: path}, Scope: store.Team, Overwrite: true})
	if err != nil || strings.Join(rep.Updated, ",") != "A" || strings.Join(rep.Added, ",") != "NEW" {
		t.Fatalf("overwrite: %v %+v", err, rep)
	}
}

func TestImportBadFileImportsNothing(t *testing.T) {
	m := newTestMigrate(t)
	for name, content := range map[string]string{
		"syntax.env":   "GOOD=good-value\nthis is not a line\n",
		"badname.json": `{"GOOD": "good-value", "not a name": "x"}`,
		"huge.env":     "GOOD=good-value\nBIG=" + strings.Repeat("x", store.MaxValueSize+1) + "\n",
	} {
		path := m.write(name, content)
		_, err := m.session().Import(ImportOptions{Source: Source{Path: path}, Scope: store.Team})
		if err == nil || !strings.Contains(err.Error(), "nothing imported") {
			t.Errorf("%s: err = %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "good-value") {
			t.Errorf("%s: the error shows a value: %v", name, err)
		}
	}
	if v := m.values(); len(v) != 0 {
		t.Fatalf("the store holds %v", v)
	}
	if got := lines(m.audit(), audit.SecretWrite); len(got) != 0 {
		t.Fatalf("a write was recorded for a file never written: %v", got)
	}
}

func TestImportRefusedWhenAuditUnwritable(t *testing.T) {
	m := newTestMigrate(t)
	path := m.write("in.env", "A=alpha-1\n")
	m.breakAudit()
	_, err := m.session().Import(ImportOptions{Source: Source{Path: path}, Scope: store.Team})
	if err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if v := m.values(); len(v) != 0 {
		t.Fatalf("the store holds %v", v)
	}
}

func TestMigrateBadFileImportsNothing(t *testing.T) {
	m := newTestMigrate(t)
	good := m.write(".env", "API_TOKEN=tok-abcdef\n")
	bad := m.write(".env.local", "OK=fine-value\nnot a line\n")
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{good, bad}, Remove: true})
	if err == nil || !strings.Contains(err.Error(), ".env.local") || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("err = %v", err)
	}
	if rep.Applied {
		t.Fatalf("report says applied")
	}
	if v := m.values(); len(v) != 0 {
		t.Fatalf("the store holds %v", v)
	}
	if !exists(good) || !exists(bad) || exists(filepath.Join(m.root, ".gitignore")) {
		t.Fatalf("a file was removed or a .gitignore written")
	}
	// Two files giving one key two values: a conflict, nothing imported.
	other := m.write("prod.env", "API_TOKEN=tok-other\n")
	_, err = m.session().Migrate(MigrateOptions{Files: []string{good, other}})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "API_TOKEN") {
		t.Fatalf("err = %v, want a conflict naming API_TOKEN", err)
	}
	if strings.Contains(err.Error(), "tok-") {
		t.Fatalf("the error shows a value: %v", err)
	}
	if v := m.values(); len(v) != 0 {
		t.Fatalf("the store holds %v", v)
	}
	// The same file twice, and stdin, are usage errors.
	var ue *UsageError
	if _, err := m.session().Migrate(MigrateOptions{Files: []string{good, filepath.Join(m.root, "sub", "..", ".env")}}); !errors.As(err, &ue) {
		t.Errorf("given twice: %v", err)
	}
	if _, err := m.session().Migrate(MigrateOptions{Files: []string{"-"}}); !errors.As(err, &ue) {
		t.Errorf("stdin: %v", err)
	}
}

func TestMigrateAuditsWriteAndReadBack(t *testing.T) {
	m := newTestMigrate(t)
	if _, err := m.session().Set("dev", store.Team, "API_TOKEN", "tok-stored", Meta{}); err != nil {
		t.Fatal(err)
	}
	path := m.write(".env", "API_TOKEN=tok-abcdef\nDB_PASSWORD=pa55word\n")
	_, err := m.session().Migrate(MigrateOptions{Files: []string{path}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	_, err = m.session().Migrate(MigrateOptions{Files: []string{path}, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	entries := m.audit()
	want := "demo/dev/API_TOKEN ok; " + // the Set
		"demo/dev/API_TOKEN failed; demo/dev/DB_PASSWORD failed; " + // the conflict
		"demo/dev/API_TOKEN ok; demo/dev/DB_PASSWORD ok"
	if got := strings.Join(lines(entries, audit.SecretWrite), "; "); got != want {
		t.Fatalf("write lines: %s\nwant %s", got, want)
	}
	if got := strings.Join(lines(entries, audit.SecretRead), "; "); got != "demo/dev/API_TOKEN ok; demo/dev/DB_PASSWORD ok" {
		t.Fatalf("read-back lines: %s", got)
	}
	for _, e := range entries {
		if e.Command != "hush migrate" || e.Identity != m.id.Public {
			t.Fatalf("line %+v", e)
		}
	}
}

func TestMigrateRefusedWhenAuditUnwritable(t *testing.T) {
	m := newTestMigrate(t)
	path := m.write(".env", "API_TOKEN=tok-abcdef\n")
	m.breakAudit()
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{path}, Remove: true})
	if err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if rep.Applied {
		t.Fatal("report says applied")
	}
	if v := m.values(); len(v) != 0 {
		t.Fatalf("the store holds %v", v)
	}
	if !exists(path) || exists(filepath.Join(m.root, ".gitignore")) {
		t.Fatal("the file was removed or a .gitignore written")
	}
}

// The file is read again by another reader: what it would give otherwise
// keeps the file, whatever hush stored.
func TestMigrateRereadKeepsWhatReadersDisagreeOn(t *testing.T) {
	m := newTestMigrate(t)
	clean := m.write(".env", "API_TOKEN=tok-abcdef\n")
	disputed := m.write("sub/.env", "BASE=base-value\nURL=${BASE}/path\n")
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{clean, disputed}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	c, d := rep.Files[0], rep.Files[1]
	if !c.Checked || len(c.Kept) != 0 || c.Removal != Removed || exists(clean) {
		t.Fatalf("clean file: %+v", c)
	}
	if d.Removal != KeptUnsure || !exists(disputed) || len(d.Kept) == 0 || !strings.HasPrefix(d.Kept[0], "URL (line 2): ") {
		t.Fatalf("disputed file: %+v", d)
	}
	if v := m.values(); v["URL"].Value.Reveal() != "base-value/path" {
		t.Fatalf("URL = %q", v["URL"].Value.Reveal())
	}
}

// checkSource compares the file as it is on disk now with the store: a
// file changed or swapped for a link since the import is kept.
func TestCheckSourceReadsTheFileAgain(t *testing.T) {
	m := newTestMigrate(t)
	s := m.session()
	if _, err := s.Project(); err != nil {
		t.Fatal(err)
	}
	path := m.write(".env", "A=changed-since\n")
	f := &MigratedFile{Path: path, abs: path, Names: []string{"A"}}
	s.checkSource(f, "", map[string]string{"A": "what-was-stored"}, false)
	if f.Checked || len(f.Kept) != 1 || !strings.HasPrefix(f.Kept[0], "A") {
		t.Fatalf("changed file: checked=%v kept=%q", f.Checked, f.Kept)
	}
	if strings.Contains(strings.Join(f.Kept, " "), "what-was-stored") || strings.Contains(strings.Join(f.Kept, " "), "changed-since") {
		t.Fatalf("a value in %q", f.Kept)
	}
	outside := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(outside, []byte("A=what-was-stored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, path); err != nil {
		t.Fatal(err)
	}
	f = &MigratedFile{Path: path, abs: path, Names: []string{"A"}}
	s.checkSource(f, "", map[string]string{"A": "what-was-stored"}, false)
	if f.Checked || len(f.Kept) != 1 || !strings.HasPrefix(f.Kept[0], "the file cannot be read again: ") {
		t.Fatalf("swapped for a link out: checked=%v kept=%q", f.Checked, f.Kept)
	}
	// --follow reads through the link, and the values then match.
	f = &MigratedFile{Path: path, abs: path, Names: []string{"A"}}
	s.checkSource(f, "", map[string]string{"A": "what-was-stored"}, true)
	if !f.Checked || len(f.Kept) != 0 {
		t.Fatalf("followed: checked=%v kept=%q", f.Checked, f.Kept)
	}
}

func TestMigrateGitignoreAndExposure(t *testing.T) {
	m := newTestMigrate(t)
	env := m.write(".env", "API_TOKEN=tok-abcdef\nDB_HOST=localhost\n")
	m.git("add", "--", ".env")
	m.git("commit", "-q", "-m", "oops")
	// A deeper .gitignore re-includes sub/.env after hush's rule.
	m.write("sub/.gitignore", "!.env\n")
	sub := m.write("sub/.env", "SUB_TOKEN=sub-token-1\n")
	m.write(".gitignore", "node_modules/") // no final newline
	m.write("config/.env.production", "X=tok-abcdef\n")
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{env, sub}})
	if err != nil {
		t.Fatal(err)
	}
	e, s := rep.Files[0], rep.Files[1]
	if e.Tracked != "is tracked by git" || strings.Join(e.Exposed, ",") != "API_TOKEN" || strings.Join(e.Config, ",") != "DB_HOST" {
		t.Fatalf(".env: tracked %q exposed %v config %v", e.Tracked, e.Exposed, e.Config)
	}
	if s.Tracked != "" || len(s.Exposed) != 0 {
		t.Fatalf("sub/.env: %+v", s)
	}
	v := m.values()
	if ex := v["API_TOKEN"].Exposed; len(ex) != 1 || ex[0].To != GitHistory {
		t.Fatalf("API_TOKEN exposure %v", ex)
	}
	if len(v["DB_HOST"].Exposed) != 0 || v["DB_HOST"].Type != store.TypeConfig || len(v["SUB_TOKEN"].Exposed) != 0 {
		t.Fatalf("DB_HOST %+v SUB_TOKEN %+v", v["DB_HOST"], v["SUB_TOKEN"])
	}
	gi := filepath.Join(m.root, ".gitignore")
	if e.Ignore == nil || e.Ignore.Line != "/.env" || e.Ignore.File != gi || e.Ignore.NotIgnored {
		t.Fatalf(".env ignore %+v", e.Ignore)
	}
	if s.Ignore == nil || s.Ignore.Line != "/sub/.env" || !s.Ignore.NotIgnored {
		t.Fatalf("sub/.env ignore %+v", s.Ignore)
	}
	want := "node_modules/\n" + migrateComment + "\n/.env\n/sub/.env\n"
	if b, _ := os.ReadFile(gi); string(b) != want {
		t.Fatalf(".gitignore:\n%s\nwant:\n%s", b, want)
	}
	if !checkIgnore(m.root, ".env") {
		t.Fatal("git does not ignore .env")
	}
	if !rep.Searched || len(rep.Leftovers) != 1 || rep.Leftovers[0].File != filepath.Join("config", ".env.production") ||
		strings.Join(rep.Leftovers[0].Keys, ",") != "API_TOKEN" {
		t.Fatalf("leftovers %v", rep.Leftovers)
	}
	// Again: nothing changes, nothing is added twice, the mark stays one.
	rep, err = m.session().Migrate(MigrateOptions{Files: []string{env, sub}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Same) != 3 || rep.Files[0].Ignore.Line != "" {
		t.Fatalf("second run: same %v ignore %+v", rep.Same, rep.Files[0].Ignore)
	}
	if b, _ := os.ReadFile(gi); string(b) != want {
		t.Fatalf(".gitignore changed on the second run:\n%s", b)
	}
	if ex := m.values()["API_TOKEN"].Exposed; len(ex) != 1 {
		t.Fatalf("API_TOKEN exposure %v", ex)
	}
}

// A hostile file name reaches git as a name (never an option or a
// pattern) and the .gitignore as one literal line, or not at all.
func TestMigrateHostileNames(t *testing.T) {
	m := newTestMigrate(t)
	dash := m.write("--all.env", "DASH_TOKEN=dash-token\n")
	glob := m.write("*.env", "GLOB_TOKEN=glob-token\n")
	esc := m.write("\x1b[31mred.env", "ESC_TOKEN=esc-token\n")
	nl := m.write("evil\n/.hush\n.env", "NL_TOKEN=nl-token-1\n")
	m.git("add", "--", "--all.env")
	m.git("commit", "-q", "-m", "dash")
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{dash, glob, esc, nl}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	fd, fg, fe, fn := rep.Files[0], rep.Files[1], rep.Files[2], rep.Files[3]
	if fd.Tracked != "is tracked by git" || strings.Join(fd.Exposed, ",") != "DASH_TOKEN" {
		t.Fatalf("--all.env: tracked %q exposed %v", fd.Tracked, fd.Exposed)
	}
	if fg.Tracked != "" || fe.Tracked != "" || fn.Tracked != "" {
		t.Fatalf("untracked files reported tracked: %q %q %q", fg.Tracked, fe.Tracked, fn.Tracked)
	}
	if fd.Ignore.Line != "/--all.env" || fg.Ignore.Line != `/\*.env` || fe.Ignore.Line != "/\x1b\\[31mred.env" {
		t.Fatalf("lines %q %q %q", fd.Ignore.Line, fg.Ignore.Line, fe.Ignore.Line)
	}
	if !fn.Ignore.LineBreak || fn.Ignore.Line != "" {
		t.Fatalf("newline name: %+v", fn.Ignore)
	}
	b, err := os.ReadFile(filepath.Join(m.root, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		switch l {
		case migrateComment, "/--all.env", `/\*.env`, "/\x1b\\[31mred.env":
		default:
			t.Fatalf(".gitignore has a line %q:\n%s", l, b)
		}
	}
	// \*.env ignores the file called *.env only.
	m.write("other.env", "")
	if checkIgnore(m.root, "other.env") || !checkIgnore(m.root, "*.env") {
		t.Fatal("the escaped * ignores other.env")
	}
	for _, f := range rep.Files {
		if f.Ignore.NotIgnored || f.Removal != Removed || exists(f.Path) {
			t.Fatalf("%q: %+v", f.Path, f)
		}
	}
	if v := m.values(); len(v) != 4 {
		t.Fatalf("stored %d keys", len(v))
	}
}

// A file git already ignores gets no line; one a pattern matches only
// since the migration is not reported as still tracked.
func TestMigrateAlreadyIgnored(t *testing.T) {
	m := newTestMigrate(t)
	m.write(".gitignore", ".env*\n")
	path := m.write(".env.local", "API_TOKEN=tok-abcdef\n")
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if ig := rep.Files[0].Ignore; ig == nil || ig.Line != "" || ig.NotIgnored || ig.Outside || ig.LineBreak {
		t.Fatalf("ignore %+v", ig)
	}
	if b, _ := os.ReadFile(filepath.Join(m.root, ".gitignore")); string(b) != ".env*\n" {
		t.Fatalf(".gitignore changed:\n%s", b)
	}
}

// --remove deletes a link, never what it points to, and nothing reached
// through a directory link; a failed push removes nothing.
func TestMigrateRemoveLinksAndPush(t *testing.T) {
	m := newTestMigrate(t)
	target := m.write("keep/real.env", "LINKED_TOKEN=linked-token\n")
	link := filepath.Join(m.root, ".env")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	m.write("data/.env.dir", "DIR_TOKEN=dir-token-1\n")
	if err := os.Symlink(filepath.Join(m.root, "data"), filepath.Join(m.root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	viaDir := filepath.Join(m.root, "linkdir", ".env.dir")
	pushErr := errors.New("vault sealed")
	rep, err := m.session().Migrate(MigrateOptions{Files: []string{link, viaDir}, Remove: true, Push: func() error { return pushErr }})
	if !errors.Is(err, pushErr) || !strings.Contains(hint.Of(err), "the files were left in place") || rep.Pushed {
		t.Fatalf("err = %v", err)
	}
	if !exists(link) || !exists(viaDir) || rep.Files[0].Removal != NotRemoved {
		t.Fatal("a file was removed after a failed push")
	}
	pushed := 0
	rep, err = m.session().Migrate(MigrateOptions{Files: []string{link, viaDir}, Remove: true, Push: func() error { pushed++; return nil }})
	if err != nil || pushed != 1 || !rep.Pushed {
		t.Fatalf("err = %v, pushed %d", err, pushed)
	}
	l, d := rep.Files[0], rep.Files[1]
	if l.Removal != RemovedLink || exists(link) || !exists(target) || l.Real != target {
		t.Fatalf("link: %+v", l)
	}
	if d.Removal != KeptLinkedDir || !exists(viaDir) {
		t.Fatalf("through a directory link: %+v", d)
	}
}

func TestImportStdin(t *testing.T) {
	m := newTestMigrate(t)
	rep, err := m.session().Import(ImportOptions{Source: Source{Path: "-", Stdin: strings.NewReader(`{"A": "from-stdin"}`), Format: "json"}, Scope: store.Team})
	if err != nil || strings.Join(rep.Added, ",") != "A" {
		t.Fatalf("err = %v, report %+v", err, rep)
	}
	if v := m.values(); v["A"].Value.Reveal() != "from-stdin" {
		t.Fatalf("A = %q", v["A"].Value.Reveal())
	}
	var ue *UsageError
	if _, err := m.session().Import(ImportOptions{Source: Source{Path: "-", Stdin: strings.NewReader(""), Format: "k8s"}}); !errors.As(err, &ue) {
		t.Fatalf("--format k8s: %v", err)
	}
}
