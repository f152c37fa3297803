package main

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/session"
)

// runGitMerge is git's merge driver for .hush/*.age (session.GitMerge) and
// renders what the merge did: recipients it left out, whose commit each
// side of a conflict is. A conflict or a refusal exits 6 (session's
// ConflictError), which git, like any non-zero exit, records as a
// conflict.
func runGitMerge(s *ui, base, ours, theirs, path string) error {
	wd, err := s.env.Getwd()
	if err != nil {
		return err
	}
	rep, err := s.GitMerge(session.MergeOptions{Base: base, Ours: ours, Theirs: theirs, Path: path, Dir: wd, Environ: s.env.Environ()})
	if rep == nil {
		return err
	}
	if rep.VirtualBase {
		s.infof("%s: two merge bases; git's virtual base keeps the first, the merge itself follows", path)
		return &exitCodeError{code: exitConflict}
	}
	for _, r := range rep.NotAcked {
		s.warnf("%s: not encrypting the merge to %s (%s): you have not acknowledged it; if it belongs there: hush member ack --env %s, and your next write to %s includes it",
			rep.Env, quoteUnclean(r.Label), crypt.Fingerprint(r.Key), rep.Env, rep.Env)
	}
	if rep.NotMe {
		s.warnf("%s: you are not among the merged recipients (a side removed you): you will not be able to read the result", rep.Env)
	}
	if len(rep.Conflicts) > 0 {
		// In a rebase git's "ours" is the branch being rebased onto and
		// "theirs" the user's own commit being replayed, which nobody
		// guesses: it is said outright.
		printf(s.env.Stderr, "hush: ours:   %s\n", rep.Ours)
		printf(s.env.Stderr, "hush: theirs: %s\n", rep.Theirs)
		if rep.Op == "rebase" {
			printf(s.env.Stderr, "hush: note: in a rebase, ours is the branch you rebase onto and theirs is your own commit being replayed\n")
		}
	}
	if err == nil {
		s.infof("merged %s key by key in a git %s (%d secrets)", rep.Env, rep.Op, rep.Secrets)
	}
	return err
}

// quoteUnclean shows a label from the repository quoted, with Go's
// escapes, when it holds anything a terminal would act on, so that where
// it starts and ends is plain; printf escapes it either way.
func quoteUnclean(s string) string {
	if safe.Clean(s) {
		return s
	}
	return strconv.Quote(s)
}

func runResolveList(s *ui, asJSON bool) error {
	env, names, err := s.Conflicts()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(s.env.Stdout, map[string]any{"environment": env, "conflicts": append([]string{}, names...)})
	}
	for _, n := range names {
		printf(s.env.Stdout, "%s\n", n)
	}
	return nil
}

func runResolve(s *ui, keys []string, theirs bool) error {
	// A key changed since the merge is a session.ConflictError: exit 6.
	rep, err := s.Resolve(keys, theirs)
	if err != nil {
		return err
	}
	side := "ours"
	if theirs {
		side = "theirs"
	}
	s.infof("resolved %s in %s (%s)", strings.Join(rep.Keys, ", "), rep.Env, side)
	if len(rep.Remaining) == 0 {
		rel, _ := filepath.Rel(s.Dir, rep.Store)
		s.infof("no conflicts left in %s; now: git add %s", rep.Env, rel)
	} else {
		s.infof("still in conflict: %s", strings.Join(rep.Remaining, ", "))
	}
	return nil
}
