package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/store/gitmerge"
)

// runGitMerge is git's merge driver for .hush/*.age: it decrypts the base,
// ours and theirs, merges key by key, and writes the result over OURS
// encrypted to the merged recipients (store.MergedRecipients: a removal on
// either side applies, nobody outside the user's pins). Keys changed
// differently on both sides are named (never their values), kept as ours,
// saved for hush resolve, and reported to git as a conflict.
//
// Anything it cannot merge safely — a side it cannot identify in git, an
// empty, truncated or undecryptable blob on any side, nobody left to
// encrypt to — fails before anything is written: git then records a
// conflict (any non-zero exit is one) and leaves OURS in the work tree,
// still encrypted as it was.
func runGitMerge(s *ui, base, ours, theirs, path string) error {
	env := strings.TrimSuffix(filepath.Base(path), ".age")
	if err := store.ValidEnvName(env); err != nil {
		return err
	}
	shown := repoText(path)
	absPath, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// Only a project's own stores: .gitattributes comes from the
	// repository and may route any file here; one outside a .hush/ must not
	// be merged with the pins of whatever project lies above it.
	root := filepath.Dir(filepath.Dir(absPath))
	if filepath.Base(filepath.Dir(absPath)) != store.DirName {
		return mergeRefused(fmt.Errorf("merge %s: not a store in a %s/ directory; left to git", shown, store.DirName))
	}
	p, err := store.Open(root, s.DataDir())
	if err != nil {
		return err
	}
	if p.Root != root {
		return mergeRefused(fmt.Errorf("merge %s: not a store of the project at %s; left to git", shown, repoText(p.Root)))
	}
	s.UseProject(p)
	id, err := s.Identity()
	if err != nil {
		return err
	}
	// Every side must decrypt, all or nothing, before anything else. An
	// empty %O is git's stand-in for "no base" only when no merge base has
	// the file (both sides added it); that takes git to tell, below.
	var docs [3]*store.Document
	baseEmpty := false
	for i, f := range []string{base, ours, theirs} {
		if st, err := os.Lstat(f); i == 0 && err == nil && st.Size() == 0 {
			baseEmpty = true
			continue
		}
		if docs[i], err = store.DecryptFile(f, env, id); err != nil {
			return mergeSideError(shown, i, err)
		}
	}
	wd, err := s.env.Getwd()
	if err != nil {
		return err
	}
	sides, err := gitmerge.Find(gitmerge.Request{Dir: wd, Environ: s.env.Environ(), Path: path, Env: env,
		Base: base, Ours: ours, Theirs: theirs, BaseEmpty: baseEmpty})
	if errors.Is(err, gitmerge.ErrVirtualBase) {
		s.infof("%s: two merge bases; git's virtual base keeps the first, the merge itself follows", shown)
		return mergeRefused(nil)
	}
	if err != nil {
		return mergeRefused(hint.With(fmt.Errorf("merge %s: %v; ours kept, nothing merged", shown, err),
			"merge the keys by hand (hush get, hush set --env %s), then git add %s", env, shown))
	}
	if baseEmpty {
		if !sides.NoBase {
			return mergeSideError(shown, 0, fmt.Errorf("%w: the file is empty, not an age-encrypted store", store.ErrIntegrity))
		}
		docs[0] = store.NewDocument(env)
	}
	pinned, havePin, err := p.Pinned(env)
	if err != nil {
		return err
	}
	rcpts, notAcked := store.MergedRecipients(sides.Base, sides.Ours, sides.Theirs, pinned, havePin)
	for _, r := range notAcked {
		s.warnf("%s: not encrypting the merge to %s (%s): you have not acknowledged it; if it belongs there: hush member ack --env %s, and your next write to %s includes it",
			env, repoText(r.Label), crypt.Fingerprint(r.Key), env, env)
	}
	if len(rcpts) == 0 {
		return mergeRefused(hint.With(fmt.Errorf("merge %s: the merged recipients of %s leave no one you have acknowledged; ours kept, nothing merged", shown, env),
			"check the recipients of %s in both sides' .hush/hush.yaml", env))
	}
	if !slices.ContainsFunc(rcpts, func(r store.Recipient) bool {
		return crypt.CanonicalRecipient(r.Key) == crypt.CanonicalRecipient(id.Public)
	}) {
		s.warnf("%s: you are not among the merged recipients (a side removed you): you will not be able to read the result", env)
	}
	merged, conflicts := store.Merge3(docs[0], docs[1], docs[2])
	if err := store.WriteTo(ours, merged, rcpts); err != nil {
		return err
	}
	if err := p.WriteConflicts(env, conflicts, rcpts); err != nil {
		return err
	}
	if err := s.Audit(audit.SecretWrite, []string{s.SecretPath(env, "")}, nil); err != nil {
		return err
	}
	if len(conflicts) > 0 {
		names := store.ConflictNames(conflicts)
		describeSides(s, wd, sides)
		return &exitCodeError{code: exitConflict, err: hint.With(
			fmt.Errorf("merge conflict in %s: %s changed differently on both sides (ours kept for now)", env, strings.Join(names, ", ")),
			"pick per key: hush resolve KEY --ours|--theirs --env %s, then git add %s", env, shown)}
	}
	s.infof("merged %s key by key in a git %s (%d secrets)", env, sides.Op, len(merged.Secrets))
	return nil
}

// mergeRefused is a merge the driver will not do: a conflict for git (any
// non-zero exit is one) and exit 6 by the table.
func mergeRefused(err error) error { return &exitCodeError{code: exitConflict, err: err} }

// mergeSideError is a side of the merge that does not decrypt: git records
// a conflict, and the hint says where to look.
func mergeSideError(shown string, side int, err error) error {
	name := [3]string{"base side", "our side", "their side"}[side]
	return hint.With(fmt.Errorf("merge %s: %s: %w; ours kept, nothing merged", shown, name, err),
		"a commit may have planted this file: check git log -p -- %s before you resolve the conflict", shown)
}

// repoText shows a string that came from the repository (a path git
// names, a label from hush.yaml) so it cannot drive the terminal: quoted
// with escapes when it holds anything but printable characters.
func repoText(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) || r == utf8.RuneError }) < 0 {
		return s
	}
	return strconv.QuoteToGraphic(s)
}

func runResolveList(s *ui, asJSON bool) error {
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return err
	}
	c, err := liveConflicts(s, p, env, id)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(s.env.Stdout, map[string]any{"environment": env, "conflicts": append([]string{}, store.ConflictNames(c)...)})
	}
	for _, n := range store.ConflictNames(c) {
		printf(s.env.Stdout, "%s\n", n)
	}
	return nil
}

func runResolve(s *ui, keys []string, theirs bool) error {
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return err
	}
	conflicts, err := liveConflicts(s, p, env, id)
	if err != nil {
		return err
	}
	if len(conflicts) == 0 {
		return fmt.Errorf("no merge conflicts %w in %s", store.ErrNotFound, env)
	}
	if len(keys) == 0 {
		keys = store.ConflictNames(conflicts)
	}
	for _, k := range keys {
		if _, ok := conflicts[k]; !ok {
			return fmt.Errorf("%s is not in conflict in %s: %w", k, env, store.ErrNotFound)
		}
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	err = p.Update(env, store.Team, id, func(d *store.Document) error {
		for _, k := range keys {
			pick := conflicts[k].Ours
			if theirs {
				pick = conflicts[k].Theirs
			}
			if pick == nil {
				delete(d.Secrets, k)
			} else {
				d.Secrets[k] = pick
			}
		}
		return nil
	})
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = s.SecretPath(env, k)
	}
	if aerr := s.Audit(audit.SecretWrite, paths, err); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	for _, k := range keys {
		delete(conflicts, k)
	}
	ec, _ := p.Config.Env(env)
	if err := p.WriteConflicts(env, conflicts, ec.Recipients); err != nil {
		return err
	}
	side := "ours"
	if theirs {
		side = "theirs"
	}
	s.infof("resolved %s in %s (%s)", strings.Join(keys, ", "), env, side)
	if len(conflicts) == 0 {
		rel, _ := filepath.Rel(s.Dir, p.TeamPath(env))
		s.infof("no conflicts left in %s; now: git add %s", env, rel)
	} else {
		s.infof("still in conflict: %s", strings.Join(store.ConflictNames(conflicts), ", "))
	}
	return nil
}

// describeSides says whose change each side of a conflict is: its commit,
// author and subject (escaped: they come from the repository). In a rebase
// git's "ours" is the branch being rebased onto and "theirs" the user's own
// commit being replayed, which nobody guesses: it is said outright.
func describeSides(s *ui, dir string, sides *gitmerge.Sides) {
	show := func(rev string) string {
		if rev == "" {
			return "(no commit)"
		}
		out, err := git.Line(context.Background(), dir, "log", "-1", "--format=%h %an, %ar: %s", "--end-of-options", rev)
		if err != nil {
			return rev
		}
		return out
	}
	printf(s.env.Stderr, "hush: ours:   %s\n", show(sides.OursRev))
	printf(s.env.Stderr, "hush: theirs: %s\n", show(sides.TheirsRev))
	if sides.Op == "rebase" {
		printf(s.env.Stderr, "hush: note: in a rebase, ours is the branch you rebase onto and theirs is your own commit being replayed\n")
	}
}
