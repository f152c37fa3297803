// Package gitmerge tells hush's git merge driver which commits git is
// merging, so that the driver can read each side's hush.yaml: git hands a
// driver three temporary files and a path, nothing else.
package gitmerge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/store"
)

// Which commits is git merging? A merge driver is handed three temporary
// files (%O %A %B) and a path (%P), and nothing else. What else exists
// while it runs was measured with git 2.39 (merge-ort, the default of
// every operation below):
//
//   - The index is still the one from before the operation: no :1: :2: :3:
//     stages yet, and hush.yaml is not merged yet either. (merge-ort merges
//     in memory and writes the index and work tree only at the end.)
//   - MERGE_HEAD, CHERRY_PICK_HEAD, REVERT_HEAD and REBASE_HEAD do not exist
//     yet: git writes them after the merge, when it stops on a conflict.
//   - git merge and git pull set GITHEAD_<their commit id> in the driver's
//     environment (for conflict labels). Ours is HEAD.
//   - git rebase and git pull --rebase (merge backend): HEAD is upstream
//     plus the commits already replayed — "ours" is upstream's side — and
//     the last line of rebase-merge/done is the command being replayed
//     ("pick <id>"): theirs is that commit, the base its parent. The work
//     tree's hush.yaml is upstream's.
//   - git rebase --apply: rebase-apply/<next> is the patch being applied,
//     its "From <id>" line the original commit.
//   - git cherry-pick / git revert of several commits: the first line of
//     sequencer/todo is the one being applied. Of a single commit: nothing
//     at all; the commit is found by the blob pair git handed over, in the
//     history (pick: a commit changing the file from %O to %B; revert: one
//     changing it from %B to %O).
//   - git stash pop/apply: ours is the index (HEAD after a fast-forward
//     pull: upstream's hush.yaml), theirs the stash commit, the base its
//     first parent; refs/stash and its reflog list the candidates.
//
// Every candidate is verified, never trusted: it counts only when its
// commit holds exactly the blob git gave the driver for that side (and its
// base the base blob). No verified candidate is a conflict, never a guess:
// the old fallback to the work tree's hush.yaml undid member removals.

// Sides is an environment's recipients on each side of the merge git is
// running, each read from the hush.yaml of that side's commit.
type Sides struct {
	Op                 string // what git is doing ("merge", "rebase"…), for messages
	Base, Ours, Theirs []store.Recipient
	// NoBase: no merge base has the file (both sides added it); %O is
	// git's empty stand-in, not a committed empty file.
	NoBase bool
	// OursRev and TheirsRev are the commits of each side, for messages
	// that say whose change is whose ("" when git has none, as for ours
	// before a first commit).
	OursRev, TheirsRev string
}

// Request is one call of the driver.
type Request struct {
	Dir     string   // where git runs the driver: the top of the work tree
	Environ []string // the driver's environment (git sets GITHEAD_* in it)
	Path    string   // %P: the store's path from the top
	Env     string   // the environment the store holds
	// Base, Ours, Theirs are %O %A %B; BaseEmpty says %O is empty.
	Base, Ours, Theirs string
	BaseEmpty          bool
}

// gitCmd runs git in the directory git runs the driver in (the top of the
// work tree).
type gitCmd struct{ dir string }

func (g gitCmd) out(args ...string) (string, error) {
	return git.Line(context.Background(), g.dir, args...)
}

// object returns the object id rev:path names, or "" when there is none.
func (g gitCmd) object(spec string) string {
	id, err := g.out("rev-parse", "-q", "--verify", "--end-of-options", spec)
	if err != nil {
		return ""
	}
	return id
}

// commit resolves rev to a commit id, or "".
func (g gitCmd) commit(rev string) string { return g.object(rev + "^{commit}") }

// recipientsAt reads env's recipients from the hush.yaml at spec (a
// "REV:PATH" or ":PATH"). An absent hush.yaml or environment has none.
func (g gitCmd) recipientsAt(spec, env string) ([]store.Recipient, error) {
	blob := g.object(spec)
	if blob == "" {
		return nil, nil
	}
	out, err := g.out("cat-file", "blob", blob)
	if err != nil {
		return nil, err
	}
	cfg, err := store.ParseConfig([]byte(out + "\n"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	if ec, ok := cfg.Environments[env]; ok {
		return ec.Recipients, nil
	}
	return nil, nil
}

// candidate is a guess at their commit and the merge base(s).
type candidate struct {
	op     string
	theirs string
	bases  []string
}

// Find identifies the commits behind %O %A %B and reads the environment's
// recipients from each one's hush.yaml (the one next to the store). It
// fails when no candidate is verified: the caller must then refuse the
// merge, never guess.
func Find(r Request) (*Sides, error) {
	g, environ, env, baseEmpty := gitCmd{dir: r.Dir}, r.Environ, r.Env, r.BaseEmpty
	storePath := filepath.ToSlash(r.Path)
	cfgPath := path.Join(path.Dir(storePath), store.ConfigName)
	hashes, err := g.out("hash-object", "--", r.Base, r.Ours, r.Theirs)
	if err != nil {
		return nil, err
	}
	h := strings.Fields(hashes)
	if len(h) != 3 {
		return nil, fmt.Errorf("git hash-object: unexpected output")
	}
	hO, hA, hB := h[0], h[1], h[2]

	sides := &Sides{OursRev: g.commit("HEAD")}
	// Ours: the index when git has not touched it yet (merge-ort), else HEAD.
	unmerged, _ := g.out("ls-files", "-u")
	switch {
	case unmerged == "" && g.object(":"+storePath) == hA:
		sides.Ours, err = g.recipientsAt(":"+cfgPath, env)
	case g.object("HEAD:"+storePath) == hA:
		sides.Ours, err = g.recipientsAt("HEAD:"+cfgPath, env)
	case isMergeBase(g, environ, storePath, hA):
		return nil, ErrVirtualBase
	default:
		return nil, errors.New("our side is neither the index nor HEAD")
	}
	if err != nil {
		return nil, err
	}

	verify := func(c candidate) (bool, error) {
		t := g.commit(c.theirs)
		if t == "" || g.object(t+":"+storePath) != hB {
			return false, nil
		}
		var baseRev string
		noBase := baseEmpty
		for _, b := range c.bases {
			blob := g.object(b + ":" + storePath)
			if blob == hO && blob != "" {
				baseRev, noBase = b, false
				break
			}
			if blob != "" {
				noBase = false
			}
		}
		if baseRev == "" && !noBase {
			return false, nil
		}
		if baseRev == "" && len(c.bases) > 0 {
			baseRev = c.bases[0]
		}
		theirs, err := g.recipientsAt(t+":"+cfgPath, env)
		if err != nil {
			return false, err
		}
		var base []store.Recipient
		if baseRev != "" {
			if base, err = g.recipientsAt(baseRev+":"+cfgPath, env); err != nil {
				return false, err
			}
		}
		sides.Op, sides.Theirs, sides.Base, sides.NoBase, sides.TheirsRev = c.op, theirs, base, noBase, t
		return true, nil
	}
	for _, c := range stateCandidates(g, environ) {
		if ok, err := verify(c); ok || err != nil {
			return sides, err
		}
	}
	// A single cherry-pick or revert leaves no trace: look for the commit by
	// the blobs. Every match must agree, or it is not clear which one git is
	// applying.
	var found *Sides
	for _, c := range historyCandidates(g, storePath, hO, hB, baseEmpty) {
		ok, err := verify(c)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if found != nil && !sameSides(found, sides) {
			return nil, fmt.Errorf("several commits change %q this way, with different recipients", storePath)
		}
		cp := *sides
		found = &cp
	}
	if found == nil {
		return nil, errors.New("could not tell which commits git is merging")
	}
	return found, nil
}

func sameSides(a, b *Sides) bool {
	return a.NoBase == b.NoBase && sameKeys(a.Base, b.Base) && sameKeys(a.Theirs, b.Theirs)
}

func sameKeys(x, y []store.Recipient) bool {
	set := func(rs []store.Recipient) map[string]bool {
		m := map[string]bool{}
		for _, r := range rs {
			m[crypt.CanonicalRecipient(r.Key)] = true
		}
		return m
	}
	a, b := set(x), set(y)
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// ErrVirtualBase: git asks for a merge of two merge bases (a criss-cross
// history) to build its virtual base. hush leaves the first base as it is;
// the real merge that follows finds that blob in a merge base, as it must.
var ErrVirtualBase = errors.New("a merge of two merge bases")

// isMergeBase reports whether blob is the store in a merge base of HEAD
// and a head git merge is merging.
func isMergeBase(g gitCmd, environ []string, storePath, blob string) bool {
	for _, c := range stateCandidates(g, environ) {
		if c.op != "merge" || len(c.bases) < 2 {
			continue
		}
		for _, b := range c.bases {
			if g.object(b+":"+storePath) == blob {
				return true
			}
		}
	}
	return false
}

// stateCandidates reads what git leaves while it merges, most specific
// first.
func stateCandidates(g gitCmd, environ []string) []candidate {
	var cs []candidate
	// git merge / git pull: GITHEAD_<id> for each head being merged.
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if id, ok := strings.CutPrefix(k, "GITHEAD_"); ok {
			bases, _ := g.out("merge-base", "--all", "HEAD", id)
			cs = append(cs, candidate{op: "merge", theirs: id, bases: strings.Fields(bases)})
		}
	}
	gitPath := func(p string) string {
		out, err := g.out("rev-parse", "--git-path", p)
		if err != nil {
			return ""
		}
		if !filepath.IsAbs(out) {
			out = filepath.Join(g.dir, out)
		}
		return out
	}
	// git rebase (merge backend), git pull --rebase.
	if b, err := os.ReadFile(gitPath("rebase-merge/done")); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if c, ok := todoCandidate(g, "rebase", lines[len(lines)-1]); ok {
			cs = append(cs, c)
		}
	}
	// git rebase --apply.
	if next, err := os.ReadFile(gitPath("rebase-apply/next")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(next))); err == nil {
			if f, err := os.Open(gitPath(fmt.Sprintf("rebase-apply/%04d", n))); err == nil {
				line, _ := bufio.NewReader(f).ReadString('\n')
				f.Close()
				if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "From" {
					cs = append(cs, pickCandidate(g, "rebase", fields[1]))
				}
			}
		}
	}
	// git cherry-pick / git revert of several commits.
	if b, err := os.ReadFile(gitPath("sequencer/todo")); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if c, ok := todoCandidate(g, "", line); ok {
			cs = append(cs, c)
		}
	}
	// git stash pop / apply: each stash entry.
	if out, err := g.out("log", "-g", "--format=%H", "refs/stash", "--"); err == nil {
		for _, w := range strings.Fields(out) {
			cs = append(cs, candidate{op: "stash apply", theirs: w, bases: []string{w + "^1"}})
		}
	}
	return cs
}

// todoCandidate reads one sequencer command ("pick <id> subject").
func todoCandidate(g gitCmd, op, line string) (candidate, bool) {
	f := strings.Fields(line)
	if len(f) > 1 && (f[0] == "merge" || f[0] == "m") {
		// merge [-C <id> | -c <id>] <label> [# subject], of rebase
		// --rebase-merges: theirs is the rewritten label.
		i := 1
		if f[i] == "-C" || f[i] == "-c" {
			i += 2
		}
		if i >= len(f) {
			return candidate{}, false
		}
		theirs := "refs/rewritten/" + f[i]
		if g.commit(theirs) == "" {
			theirs = f[i]
		}
		bases, _ := g.out("merge-base", "--all", "HEAD", theirs)
		return candidate{op: op, theirs: theirs, bases: strings.Fields(bases)}, true
	}
	for len(f) > 1 && strings.HasPrefix(f[1], "-") { // fixup -C <id>
		f = append(f[:1], f[2:]...)
	}
	if len(f) < 2 {
		return candidate{}, false
	}
	switch f[0] {
	case "pick", "p", "reword", "r", "edit", "e", "fixup", "f", "squash", "s":
		if op == "" {
			op = "cherry-pick"
		}
		return pickCandidate(g, op, f[1]), true
	case "revert":
		return candidate{op: "revert", theirs: f[1] + "^", bases: []string{f[1]}}, true
	}
	return candidate{}, false
}

// pickCandidate is the replay of commit id: theirs id, base its parent.
func pickCandidate(g gitCmd, op, id string) candidate {
	var bases []string
	if g.commit(id+"^") != "" {
		bases = []string{id + "^"}
	}
	return candidate{op: op, theirs: id, bases: bases}
}

// historyCandidates are the commits that change storePath from hO to hB
// (a cherry-pick of them) or from hB to hO (a revert), in every ref and
// reflog.
func historyCandidates(g gitCmd, storePath, hO, hB string, baseEmpty bool) []candidate {
	out, err := g.out("log", "--all", "--reflog", "--no-abbrev", "--raw", "--no-renames", "--format=commit %H", "--", storePath)
	if err != nil {
		return nil
	}
	var cs []candidate
	var cur string
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, "commit "); ok {
			cur = id
			continue
		}
		meta, file, ok := strings.Cut(line, "\t")
		if !ok || file != storePath || !strings.HasPrefix(meta, ":") {
			continue
		}
		f := strings.Fields(meta)
		if len(f) < 4 {
			continue
		}
		oldBlob, newBlob := f[2], f[3]
		added := strings.Trim(oldBlob, "0") == ""
		switch {
		case newBlob == hB && (oldBlob == hO || added && baseEmpty):
			cs = append(cs, pickCandidate(g, "cherry-pick", cur))
		case oldBlob == hB && newBlob == hO:
			cs = append(cs, candidate{op: "revert", theirs: cur + "^", bases: []string{cur}})
		}
	}
	return cs
}
