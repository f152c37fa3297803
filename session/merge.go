package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/store/gitmerge"
)

// ConflictError is a merge hush did not do, or did with keys left in
// conflict: exit 6 by DESIGN.md's table, and, from git's merge driver, a
// conflict for git (any non-zero exit is one). It matches
// store.ErrConflict. Err is nil for a refusal with nothing to say (git's
// virtual merge base).
type ConflictError struct{ Err error }

func (e *ConflictError) Error() string {
	if e.Err == nil {
		return "merge left to git"
	}
	return e.Err.Error()
}

func (e *ConflictError) Unwrap() []error {
	if e.Err == nil {
		return []error{store.ErrConflict}
	}
	return []error{e.Err, store.ErrConflict}
}

// MergeOptions is one call of git's merge driver.
type MergeOptions struct {
	// Base, Ours and Theirs are git's %O %A %B: temporary files, the
	// result replaces Ours. Path is %P, the store's path from Dir.
	Base, Ours, Theirs, Path string
	// Dir is where git runs the driver (the top of the work tree) and
	// Environ the driver's environment (git sets GITHEAD_* in it).
	Dir     string
	Environ []string
}

// MergeReport is what a merge did, for the CLI to render; it comes back
// with the error too, as far as the merge got.
type MergeReport struct {
	Env string
	// Op is the git operation ("merge", "rebase", "cherry-pick"…).
	Op string
	// Secrets is how many secrets the merged store holds.
	Secrets int
	// NotAcked are recipients the three-way rule keeps but the user has
	// not acknowledged: the merge is not encrypted to them.
	NotAcked []store.Recipient
	// NotMe: the user is not among the merged recipients (a side
	// removed them) and will not be able to read the result.
	NotMe bool
	// Conflicts are the keys changed differently on both sides, sorted.
	Conflicts []string
	// Ours and Theirs describe each side's commit ("abc1234 alice, 2
	// hours ago: subject"), when there are conflicts. They come from
	// the repository.
	Ours, Theirs string
	// VirtualBase: git asked for a merge of two merge bases, which hush
	// leaves to git; the real merge follows.
	VirtualBase bool
}

// GitMerge is git's merge driver for .hush/*.age: it decrypts the base,
// ours and theirs, merges key by key, and writes the result over Ours
// encrypted to the merged recipients (store.MergedRecipients: a removal on
// either side applies, nobody outside the user's pins). Keys changed
// differently on both sides are named (never their values), kept as ours,
// saved for Resolve, and returned as a *ConflictError. The write is one
// audit line, on success and on failure, and is refused before it happens
// when the audit log is not writable.
//
// Anything it cannot merge safely — a side it cannot identify in git, an
// empty, truncated or undecryptable blob on any side, nobody left to
// encrypt to — fails before anything is written: git then records a
// conflict and leaves Ours in the work tree, still encrypted as it was.
func (s *Session) GitMerge(o MergeOptions) (*MergeReport, error) {
	env := strings.TrimSuffix(filepath.Base(o.Path), ".age")
	if err := store.ValidEnvName(env); err != nil {
		return nil, err
	}
	rep := &MergeReport{Env: env}
	absPath := o.Path
	if !filepath.IsAbs(absPath) {
		absPath = filepath.Join(o.Dir, absPath)
	}
	absPath, err := filepath.Abs(absPath)
	if err != nil {
		return nil, err
	}
	// Only a project's own stores: .gitattributes comes from the
	// repository and may route any file here; one outside a .hush/ must not
	// be merged with the pins of whatever project lies above it.
	root := filepath.Dir(filepath.Dir(absPath))
	if filepath.Base(filepath.Dir(absPath)) != store.DirName {
		return rep, &ConflictError{fmt.Errorf("merge %s: not a store in a %s/ directory; left to git", o.Path, store.DirName)}
	}
	p, err := store.Open(root, s.DataDir())
	if err != nil {
		return rep, err
	}
	if p.Root != root {
		return rep, &ConflictError{fmt.Errorf("merge %s: not a store of the project at %s; left to git", o.Path, p.Root)}
	}
	s.UseProject(p)
	id, err := s.Identity()
	if err != nil {
		return rep, err
	}
	// Every side must decrypt, all or nothing, before anything else. An
	// empty %O is git's stand-in for "no base" only when no merge base has
	// the file (both sides added it); that takes git to tell, below.
	var docs [3]*store.Document
	baseEmpty := false
	for i, f := range []string{o.Base, o.Ours, o.Theirs} {
		if st, err := os.Lstat(f); i == 0 && err == nil && st.Size() == 0 {
			baseEmpty = true
			continue
		}
		if docs[i], err = store.DecryptFile(f, env, id); err != nil {
			return rep, mergeSideError(o.Path, i, err)
		}
	}
	sides, err := gitmerge.Find(gitmerge.Request{Dir: o.Dir, Environ: o.Environ, Path: o.Path, Env: env,
		Base: o.Base, Ours: o.Ours, Theirs: o.Theirs, BaseEmpty: baseEmpty})
	if errors.Is(err, gitmerge.ErrVirtualBase) {
		rep.VirtualBase = true
		return rep, &ConflictError{}
	}
	if err != nil {
		return rep, &ConflictError{hint.With(fmt.Errorf("merge %s: %v; ours kept, nothing merged", o.Path, err),
			"merge the keys by hand (hush get, hush set --env %s), then git add %s", env, o.Path)}
	}
	rep.Op = sides.Op
	if baseEmpty {
		if !sides.NoBase {
			return rep, mergeSideError(o.Path, 0, fmt.Errorf("%w: the file is empty, not an age-encrypted store", store.ErrIntegrity))
		}
		docs[0] = store.NewDocument(env)
	}
	pinned, havePin, err := p.Pinned(env)
	if err != nil {
		return rep, err
	}
	rcpts, notAcked := store.MergedRecipients(sides.Base, sides.Ours, sides.Theirs, pinned, havePin)
	rep.NotAcked = notAcked
	if len(rcpts) == 0 {
		return rep, &ConflictError{hint.With(fmt.Errorf("merge %s: the merged recipients of %s leave no one you have acknowledged; ours kept, nothing merged", o.Path, env),
			"check the recipients of %s in both sides' .hush/hush.yaml", env)}
	}
	rep.NotMe = !slices.ContainsFunc(rcpts, func(r store.Recipient) bool {
		return crypt.CanonicalRecipient(r.Key) == crypt.CanonicalRecipient(id.Public)
	})
	// Ours is the store as this user last saw it; theirs must continue its
	// lineage, or it was written by someone who could not read it.
	if err := p.VerifyLineage(env, docs[1]); err != nil {
		return rep, fmt.Errorf("merge %s: %w; ours kept, nothing merged", o.Path, err)
	}
	// Both sides adding the environment (no base) made two lineages that
	// never met: the merge keeps ours.
	lineage, previous := docs[1].Lineage, docs[1].Previous
	if !sides.NoBase {
		if lineage, previous, err = store.MergedLineage(env, docs[1], docs[2]); err != nil {
			return rep, fmt.Errorf("merge %s: %w; ours kept, nothing merged", o.Path, err)
		}
	}
	merged, conflicts := store.Merge3(docs[0], docs[1], docs[2], store.IncomingFor(sides.Op))
	merged.Lineage, merged.Previous = lineage, previous
	if err := s.AuditReady(); err != nil {
		return rep, err
	}
	err = store.WriteToWith(o.Ours, merged, rcpts, id.KMS)
	if err == nil {
		err = p.WriteConflicts(env, conflicts, rcpts, merged)
	}
	if err := join(err, s.Audit(audit.SecretWrite, []string{s.SecretPath(env, "")}, err)); err != nil {
		return rep, err
	}
	rep.Secrets = len(merged.Secrets)
	if len(conflicts) > 0 {
		rep.Conflicts = store.ConflictNames(conflicts)
		rep.Ours, rep.Theirs = s.describeCommit(o.Dir, sides.OursRev), s.describeCommit(o.Dir, sides.TheirsRev)
		var changed, older []string
		for _, n := range rep.Conflicts {
			if conflicts[n].Older {
				older = append(older, n)
			} else {
				changed = append(changed, n)
			}
		}
		var what []string
		if len(changed) > 0 {
			what = append(what, strings.Join(changed, ", ")+" changed differently on both sides")
		}
		if len(older) > 0 {
			// A replayed store from history or a revert: it can bring back
			// a credential rotated away, or drop the mark that it leaked.
			what = append(what, strings.Join(older, ", ")+" taken back to an older version (or without a mark it carries) by the "+sides.Op+"'s incoming side")
		}
		return rep, &ConflictError{hint.With(
			fmt.Errorf("merge conflict in %s: %s (ours kept for now)", env, strings.Join(what, "; ")),
			"pick per key: hush resolve KEY --ours|--theirs --env %s, then git add %s", env, o.Path)}
	}
	return rep, nil
}

// mergeSideError is a side of the merge that does not decrypt: git records
// a conflict, and the hint says where to look.
func mergeSideError(path string, side int, err error) error {
	name := [3]string{"base side", "our side", "their side"}[side]
	return hint.With(fmt.Errorf("merge %s: %s: %w; ours kept, nothing merged", path, name, err),
		"a commit may have planted this file: check git log -p -- %s before you resolve the conflict", path)
}

// describeCommit says whose change a side of a conflict is: its commit,
// author and subject.
func (s *Session) describeCommit(dir, rev string) string {
	if rev == "" {
		return "(no commit)"
	}
	out, err := git.Line(s.Ctx(), dir, "log", "-1", "--format=%h %an, %ar: %s", "--end-of-options", rev)
	if err != nil {
		return rev
	}
	return out
}

// ResolveReport is what Resolve settled.
type ResolveReport struct {
	Env string
	// Keys are the keys settled, Theirs the side taken.
	Keys   []string
	Theirs bool
	// Remaining are the keys still in conflict.
	Remaining []string
	// Store is the team store's path, for git add.
	Store string
}

// Conflicts is the environment's keys in conflict, as LiveConflicts sees
// them.
func (s *Session) Conflicts() (env string, names []string, err error) {
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return "", nil, err
	}
	c, err := s.LiveConflicts(p, env, id)
	if err != nil {
		return "", nil, err
	}
	return env, store.ConflictNames(c), nil
}

// Resolve settles keys a merge left in conflict in the command's
// environment — every one of them when keys is empty — taking our version
// or theirs, all or nothing, with one audit line per key. A key whose
// value changed since the merge (hush set after git merge) is refused, not
// overwritten: the merge's "ours" is no longer what is in the store. The
// exposure marks a key got after the merge (a member removed) stay on it,
// whichever side is taken.
func (s *Session) Resolve(keys []string, theirs bool) (*ResolveReport, error) {
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	conflicts, err := s.LiveConflicts(p, env, id)
	if err != nil {
		return nil, err
	}
	if len(conflicts) == 0 {
		return nil, fmt.Errorf("no merge conflicts %w in %s", store.ErrNotFound, env)
	}
	if len(keys) == 0 {
		keys = store.ConflictNames(conflicts)
	}
	for _, k := range keys {
		if _, ok := conflicts[k]; !ok {
			return nil, fmt.Errorf("%s is not in conflict in %s: %w", k, env, store.ErrNotFound)
		}
	}
	rel := p.TeamPath(env)
	if r, err := filepath.Rel(s.Dir, rel); err == nil {
		rel = r
	}
	var rcpts []store.Recipient
	var of *store.Document
	err = s.Update(env, store.Team, keys, func(d *store.Document, _ time.Time) error {
		of = d
		for _, k := range keys {
			cur, c := d.Secrets[k], conflicts[k]
			if (cur == nil) != (c.Ours == nil) || cur != nil && cur.Value != c.Ours.Value {
				return &ConflictError{hint.With(fmt.Errorf("%s of %s changed since the merge; hush resolve would overwrite it, nothing resolved", k, env),
					"to keep the value it has now: git add %s (the saved conflict then clears itself)", safe.ShellWord(rel))}
			}
		}
		for _, k := range keys {
			cur, c := d.Secrets[k], conflicts[k]
			switch {
			case !theirs:
				// Ours is in the store already, with whatever marks
				// it got since.
			case c.Theirs == nil:
				delete(d.Secrets, k)
			default:
				pick := *c.Theirs
				if cur != nil {
					pick.Exposed = unionExposed(pick.Exposed, cur.Exposed)
				}
				d.Secrets[k] = &pick
			}
		}
		// Under the lock, hush.yaml was reread and its recipients checked
		// against the pins: the saved conflicts go to the same people.
		ec, err := p.Config.Env(env)
		if err != nil {
			return err
		}
		rcpts = ec.Recipients
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		delete(conflicts, k)
	}
	if err := p.WriteConflicts(env, conflicts, rcpts, of); err != nil {
		return nil, err
	}
	return &ResolveReport{Env: env, Keys: keys, Theirs: theirs, Remaining: store.ConflictNames(conflicts), Store: p.TeamPath(env)}, nil
}

// unionExposed is a's marks plus those of b it lacks.
func unionExposed(a, b []store.Exposure) []store.Exposure {
	out := append([]store.Exposure(nil), a...)
	for _, x := range b {
		if !slices.ContainsFunc(out, func(y store.Exposure) bool { return y.To == x.To }) {
			out = append(out, x)
		}
	}
	return out
}
