package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
)

// What hush log and hush rollback ask git: the commits that changed an
// environment's team store, and the store as each commit holds it. Every
// string here comes from the repository (authors, subjects): the CLI
// escapes them. git runs through internal/git, with literal pathspecs.

// storeFile is env's team store as git names it.
type storeFile struct {
	top, rel string
}

// gitStoreFile is where git keeps env's team store, or an error outside
// a git work tree.
func gitStoreFile(p *store.Project, env string) (storeFile, error) {
	top, rel := git.Path(p.TeamPath(env))
	if top == "" {
		return storeFile{}, hint.With(errors.New("this project is not in a git work tree: there is no history to read"),
			"hush keeps history in git; run git init and commit .hush/")
	}
	if strings.ContainsAny(rel, "\n\r") {
		return storeFile{}, fmt.Errorf("%w: the store's path holds a line break", store.ErrInvalid)
	}
	return storeFile{top, rel}, nil
}

// commitInfo is one commit as git log gives it. Author, Email and Subject
// are whatever the committer wrote.
type commitInfo struct {
	Hash    string
	Parents []string
	Author  string
	Email   string
	Date    time.Time
	Subject string
}

// commits lists the commits that changed the store, newest first, as git
// log's default history simplification has them: a merge appears only
// when it differs from every parent (a key-by-key merge), and a side
// whose change the merge discarded is not followed. revs limits the walk
// (e.g. "REV..HEAD"); none means HEAD.
func (f storeFile) commits(ctx context.Context, revs ...string) ([]commitInfo, error) {
	args := append([]string{"log", "-z", "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%s"}, revs...)
	args = append(args, "--", f.rel)
	out, err := git.Output(ctx, f.top, args...)
	if err != nil {
		if !git.OK(ctx, f.top, "rev-parse", "--verify", "-q", "HEAD") {
			return nil, nil // no commit yet
		}
		return nil, err
	}
	var list []commitInfo
	for _, rec := range strings.Split(string(out), "\x00") {
		rec = strings.TrimPrefix(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\x1f", 6)
		if len(f) != 6 {
			return nil, fmt.Errorf("git log: unexpected output")
		}
		c := commitInfo{Hash: f[0], Parents: strings.Fields(f[1]), Author: f[2], Email: f[3], Subject: f[5]}
		c.Date, _ = time.Parse(time.RFC3339, f[4])
		list = append(list, c)
	}
	return list, nil
}

// blobs maps each commit to the blob of the store it holds ("" when the
// commit has no such file), in one git cat-file.
func (f storeFile) blobs(ctx context.Context, commits []string) (map[string]string, error) {
	var in bytes.Buffer
	for _, c := range commits {
		fmt.Fprintf(&in, "%s:%s\n", c, f.rel)
	}
	cmd := git.Cmd(ctx, f.top, "cat-file", "--batch-check=%(objectname) %(objecttype)")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, git.Error([]string{"cat-file"}, err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(commits) == 0 {
		return map[string]string{}, nil
	}
	if len(lines) != len(commits) {
		return nil, fmt.Errorf("git cat-file: %d answers for %d questions", len(lines), len(commits))
	}
	m := make(map[string]string, len(commits))
	for i, l := range lines {
		obj, typ, ok := strings.Cut(l, " ")
		if ok && typ == "blob" {
			m[commits[i]] = obj
		} else {
			m[commits[i]] = "" // "… missing", or not a file there
		}
	}
	return m, nil
}

// contents reads blobs, in one git cat-file.
func (f storeFile) contents(ctx context.Context, blobs []string) (map[string][]byte, error) {
	var in bytes.Buffer
	for _, b := range blobs {
		fmt.Fprintf(&in, "%s\n", b)
	}
	cmd := git.Cmd(ctx, f.top, "cat-file", "--batch")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, git.Error([]string{"cat-file"}, err, stderr.Bytes())
	}
	r := bufio.NewReader(bytes.NewReader(out))
	m := make(map[string][]byte, len(blobs))
	for range blobs {
		head, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: short output")
		}
		fields := strings.Fields(head)
		if len(fields) != 3 {
			continue // "<sha> missing"
		}
		n, err := strconv.Atoi(fields[2])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("git cat-file: unexpected output")
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("git cat-file: short output")
		}
		r.ReadByte() // the newline after the content
		m[fields[0]] = b
	}
	return m, nil
}

// version is the store as one blob holds it: the document, or why it
// could not be read.
type version struct {
	doc    *store.Document
	absent bool   // no store file at that commit
	err    error  // the reason it could not be read
	blob   string // the blob ("" when absent)
}

// unreadable says why, in one line, for the report.
func (v *version) unreadable() string {
	if v.err == nil {
		return ""
	}
	if errors.Is(v.err, crypt.ErrNoIdentity) {
		return "not encrypted to your identity"
	}
	msg, _, _ := strings.Cut(v.err.Error(), "\n")
	return "cannot be read: " + msg
}

// versions reads the store at each of commits: each blob decrypted once.
func (f storeFile) versions(ctx context.Context, env string, id *crypt.Identity, commits []string) (map[string]*version, error) {
	blobOf, err := f.blobs(ctx, commits)
	if err != nil {
		return nil, err
	}
	var want []string
	seen := map[string]bool{}
	for _, c := range commits {
		if b := blobOf[c]; b != "" && !seen[b] {
			seen[b] = true
			want = append(want, b)
		}
	}
	content, err := f.contents(ctx, want)
	if err != nil {
		return nil, err
	}
	byBlob := map[string]*version{}
	for _, b := range want {
		ct, ok := content[b]
		v := &version{blob: b}
		if !ok {
			v.err = fmt.Errorf("git has no object %s", b)
		} else {
			v.doc, v.err = store.DecryptStore(ct, env, id)
		}
		byBlob[b] = v
	}
	out := make(map[string]*version, len(commits))
	for _, c := range commits {
		if b := blobOf[c]; b != "" {
			out[c] = byBlob[b]
		} else {
			out[c] = &version{absent: true}
		}
	}
	return out, nil
}

// resolveCommit is rev as a full commit hash: store.ErrNotFound when git
// knows no such commit. rev is never taken for an option.
func (f storeFile) resolveCommit(ctx context.Context, rev string) (string, error) {
	if rev == "" || strings.ContainsAny(rev, "\x00\n") {
		return "", Usagef("--to needs a commit")
	}
	h, err := git.Line(ctx, f.top, "rev-parse", "--verify", "-q", "--end-of-options", rev+"^{commit}")
	if err != nil || h == "" {
		return "", fmt.Errorf("commit %q %w in this repository", rev, store.ErrNotFound)
	}
	return h, nil
}

// ancestorOfHead says whether commit is in HEAD's history (HEAD itself
// included).
func (f storeFile) ancestorOfHead(ctx context.Context, commit string) bool {
	return git.OK(ctx, f.top, "merge-base", "--is-ancestor", commit, "HEAD")
}

// configAt is hush.yaml as commit holds it (nil when it has none or git
// cannot read it).
func (f storeFile) configAt(ctx context.Context, commit string) *store.Config {
	rel := strings.TrimSuffix(f.rel, f.rel[strings.LastIndex(f.rel, "/")+1:]) + store.ConfigName
	b, err := git.Output(ctx, f.top, "cat-file", "blob", commit+":"+rel)
	if err != nil {
		return nil
	}
	c, err := store.ParseConfig(b)
	if err != nil {
		return nil
	}
	return c
}
