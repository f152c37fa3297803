package main

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// runGitMerge is git's merge driver for .hush/*.age: it decrypts the base,
// ours and theirs, merges key by key, and writes the result over OURS
// encrypted to the merged recipients. Keys changed differently on both
// sides are named (never their values), kept as ours, saved for hush
// resolve, and reported to git as a conflict.
func runGitMerge(s *session, base, ours, theirs, path string) error {
	env := strings.TrimSuffix(filepath.Base(path), ".age")
	if err := store.ValidEnvName(env); err != nil {
		return err
	}
	absPath, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	p, err := store.Open(filepath.Dir(filepath.Dir(absPath)), s.dataDir())
	if err != nil {
		return err
	}
	s.project = p
	id, err := s.identityOrErr()
	if err != nil {
		return err
	}
	var docs [3]*store.Document
	for i, f := range []string{base, ours, theirs} {
		if docs[i], err = store.DecryptFile(f, env, id); err != nil {
			return fmt.Errorf("merge %s: %s side: %w", path, [3]string{"base", "our", "their"}[i], err)
		}
	}
	merged, conflicts := store.Merge3(docs[0], docs[1], docs[2])
	rcpts, err := mergeRecipients(s, p, env, path)
	if err != nil {
		return err
	}
	if err := store.WriteTo(ours, merged, rcpts); err != nil {
		return err
	}
	if err := p.WriteConflicts(env, conflicts, rcpts); err != nil {
		return err
	}
	if err := s.audit(audit.SecretWrite, []string{s.secretPath(env, "")}, nil); err != nil {
		return err
	}
	if len(conflicts) > 0 {
		names := store.ConflictNames(conflicts)
		return &exitCodeError{code: exitError, err: withHint(
			fmt.Errorf("merge conflict in %s: %s changed differently on both sides (ours kept for now)", env, strings.Join(names, ", ")),
			"pick per key: hush resolve KEY --ours|--theirs --env %s, then git add %s", env, path)}
	}
	s.infof("merged %s key by key (%d secrets)", env, len(merged.Secrets))
	return nil
}

// mergeRecipients is the three-way merge of env's recipients between the
// merge base, HEAD and the other head, read from git. A recipient the user
// has not pinned and did not have on their side is left out, with a
// warning: a merge must not smuggle in a recipient that recipient pinning
// would have refused (hush member ack, then any write, adds them).
func mergeRecipients(s *session, p *store.Project, env, path string) ([]store.Recipient, error) {
	cfgPath := filepath.ToSlash(filepath.Join(filepath.Dir(path), store.ConfigName))
	read := func(rev string) ([]store.Recipient, error) {
		out, err := exec.Command("git", "show", rev+":"+cfgPath).Output()
		if err != nil {
			return nil, nil // the file did not exist at rev
		}
		cfg, err := store.ParseConfig(out)
		if err != nil {
			return nil, err
		}
		if ec, ok := cfg.Environments[env]; ok {
			return ec.Recipients, nil
		}
		return nil, nil
	}
	var other string
	for _, h := range []string{"MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD"} {
		if exec.Command("git", "rev-parse", "-q", "--verify", h).Run() == nil {
			other = h
			break
		}
	}
	var merged []store.Recipient
	oursR, errO := read("HEAD")
	if other != "" && errO == nil {
		mb, err := exec.Command("git", "merge-base", "HEAD", other).Output()
		baseR, errB := read(strings.TrimSpace(string(mb)))
		theirsR, errT := read(other)
		if err == nil && errB == nil && errT == nil {
			merged = store.MergeRecipients(baseR, oursR, theirsR)
		}
	}
	if merged == nil {
		ec, err := p.Config.Env(env)
		if err != nil {
			return nil, err
		}
		merged = ec.Recipients
		s.warnf("could not read both sides' hush.yaml from git; encrypting %s to the working tree's recipients", env)
	}
	allowed := append([]store.Recipient(nil), oursR...)
	if pinned, ok, err := p.Pinned(env); err == nil && ok {
		allowed = append(allowed, pinned...)
	} else if !ok {
		allowed = merged // nothing pinned yet: trust on first use
	}
	kept, dropped := store.FilterRecipients(merged, allowed)
	for _, r := range dropped {
		s.warnf("%s: not encrypting to %s, added on the other side and not acknowledged; run hush member ack --env %s", env, r.Label, env)
	}
	if len(kept) == 0 {
		return nil, errors.New("the merged recipients of " + env + " leave no one you have acknowledged")
	}
	return kept, nil
}

func runResolveList(s *session) error {
	p, env, id, err := s.openEnv()
	if err != nil {
		return err
	}
	c, err := p.ReadConflicts(env, id)
	if err != nil {
		return err
	}
	for _, n := range store.ConflictNames(c) {
		printf(s.env.Stdout, "%s\n", n)
	}
	return nil
}

func runResolve(s *session, keys []string, theirs bool) error {
	p, env, id, err := s.openEnv()
	if err != nil {
		return err
	}
	conflicts, err := p.ReadConflicts(env, id)
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
	if err := s.auditReady(); err != nil {
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
		paths[i] = s.secretPath(env, k)
	}
	if aerr := s.audit(audit.SecretWrite, paths, err); aerr != nil && err == nil {
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
		rel, _ := filepath.Rel(s.dir, p.TeamPath(env))
		s.infof("no conflicts left in %s; now: git add %s", env, rel)
	} else {
		s.infof("still in conflict: %s", strings.Join(store.ConflictNames(conflicts), ", "))
	}
	return nil
}
