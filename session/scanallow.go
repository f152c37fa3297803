package session

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// ScanAllowlist is .hush/scan.yaml's allowlist as this user acknowledged
// it: entries added since the last acknowledgement are left out (and
// returned, for a warning) until hush ack pins them, so a pushed commit
// cannot switch the scan off. The first scan of a checkout pins what is
// there (trust on first use, as for hush.yaml).
func (s *Session) ScanAllowlist() (allow scan.Allowlist, unacked []string, err error) {
	p, err := s.Project()
	if err != nil {
		return scan.Allowlist{}, nil, err
	}
	cur, err := readScanAllow(p)
	if err != nil {
		return scan.Allowlist{}, nil, err
	}
	pinned, ok, err := p.PinnedScanAllow()
	if err != nil {
		return scan.Allowlist{}, nil, err
	}
	if !ok {
		if err := p.PinScanAllow(allowEntries(cur)); err != nil {
			return scan.Allowlist{}, nil, err
		}
		return cur, nil, nil
	}
	// The user's own edit, not yet committed, pins itself: what a pull
	// brings is committed, what this user typed is not.
	if own := s.uncommittedScanAllow(p, cur); len(own) > 0 {
		var add []string
		for _, e := range own {
			if !slices.Contains(pinned, e) {
				add = append(add, e)
			}
		}
		if len(add) > 0 {
			pinned = append(pinned, add...)
			slices.Sort(pinned)
			if err := p.PinScanAllow(pinned); err != nil {
				return scan.Allowlist{}, nil, err
			}
		}
	}
	keep := func(kind string, vs []string) []string {
		var out []string
		for _, v := range vs {
			if e := kind + " " + v; slices.Contains(pinned, e) {
				out = append(out, v)
			} else {
				unacked = append(unacked, e)
			}
		}
		return out
	}
	allow = scan.Allowlist{Paths: keep("path", cur.Paths), Rules: keep("rule", cur.Rules), Fingerprints: keep("fingerprint", cur.Fingerprints)}
	return allow, unacked, nil
}

// PendingScanAllow returns .hush/scan.yaml's entries as they are now and
// those of them not acknowledged yet, for hush ack to show and then pin
// exactly what it showed.
func (s *Session) PendingScanAllow() (current, unacked []string, err error) {
	p, err := s.Project()
	if err != nil {
		return nil, nil, err
	}
	cur, err := readScanAllow(p)
	if err != nil {
		return nil, nil, err
	}
	if _, unacked, err = s.ScanAllowlist(); err != nil {
		return nil, nil, err
	}
	return allowEntries(cur), unacked, nil
}

// AcknowledgeScanAllow pins entries (as PendingScanAllow returned them) as
// the acknowledged allowlist.
func (s *Session) AcknowledgeScanAllow(entries []string) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	err = p.PinScanAllow(entries)
	return s.AuditWith(audit.ProjectAck, s.SecretPath("scan.yaml", ""), err)
}

// uncommittedScanAllow lists the entries of cur that HEAD's
// .hush/scan.yaml lacks: edits in this work tree, which only this user can
// have made. None while a merge, rebase, cherry-pick or revert is under
// way (the work tree then holds the other side's lines), and none outside
// git, where nothing is pulled and the pin decides alone.
func (s *Session) uncommittedScanAllow(p *store.Project, cur scan.Allowlist) []string {
	top, rel := git.Path(filepath.Join(p.Dir(), "scan.yaml"))
	if top == "" {
		return nil
	}
	ctx := s.Ctx()
	for _, ref := range []string{"MERGE_HEAD", "REBASE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"} {
		if git.OK(ctx, top, "rev-parse", "-q", "--verify", ref) {
			return nil
		}
	}
	committed := scan.Allowlist{}
	if out, err := git.Output(ctx, top, "show", "HEAD:"+rel); err == nil {
		a, err := scan.ParseAllowlist(out)
		if err != nil {
			return nil
		}
		committed = a
	} else if git.OK(ctx, top, "rev-parse", "-q", "--verify", "HEAD") && git.OK(ctx, top, "cat-file", "-e", "HEAD:"+rel) {
		return nil // there is a committed file, but it could not be read
	}
	have := allowEntries(committed)
	var own []string
	for _, e := range allowEntries(cur) {
		if !slices.Contains(have, e) {
			own = append(own, e)
		}
	}
	return own
}

// readScanAllow reads and parses .hush/scan.yaml; no file is an empty
// allowlist.
func readScanAllow(p *store.Project) (scan.Allowlist, error) {
	b, err := store.ReadFileNoFollow(filepath.Join(p.Dir(), "scan.yaml"), 1<<20)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return scan.Allowlist{}, nil
	case err != nil:
		return scan.Allowlist{}, err
	}
	a, err := scan.ParseAllowlist(b)
	if err != nil {
		return scan.Allowlist{}, fmt.Errorf("%w: .hush/scan.yaml: %v", store.ErrInvalid, err)
	}
	return a, nil
}

// allowEntries flattens an allowlist into the pinned form: "path GLOB",
// "rule ID", "fingerprint FP".
func allowEntries(a scan.Allowlist) []string {
	var out []string
	for _, v := range a.Paths {
		out = append(out, "path "+v)
	}
	for _, v := range a.Rules {
		out = append(out, "rule "+v)
	}
	for _, v := range a.Fingerprints {
		out = append(out, "fingerprint "+v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ownStores are env's own values, personal over team, without those it
// inherits: this loop reads each parent under its own name, and a parent
// the user cannot read must not hide env's own values from the scan.
func ownStores(p *store.Project, env string, id *crypt.Identity) ([]store.Entry, error) {
	team, err := p.Read(env, store.Team, id)
	if err != nil {
		return nil, err
	}
	personal, err := p.Read(env, store.Personal, id)
	if err != nil {
		return nil, err
	}
	var out []store.Entry
	for name, sec := range team.Secrets {
		if _, ok := personal.Secrets[name]; !ok {
			out = append(out, store.Entry{Name: name, Secret: sec, Source: store.Team, Env: env})
		}
	}
	for name, sec := range personal.Secrets {
		out = append(out, store.Entry{Name: name, Secret: sec, Source: store.Personal, Env: env})
	}
	slices.SortFunc(out, func(a, b store.Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// KnownValues are the project's own values, for the scan to look for:
// "env/KEY" → value, every environment the user can read, values shorter
// than scan.MinKnownLength left out (they match by chance). The scan reads
// each value: one read line per key, written before any is returned.
// skipped says why an environment could not be read.
func (s *Session) KnownValues() (known map[string]string, skipped map[string]error, err error) {
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, nil, err
	}
	known, skipped = map[string]string{}, map[string]error{}
	var paths []string
	for _, env := range p.Config.EnvNames() {
		entries, err := ownStores(p, env, id)
		if err != nil {
			skipped[env] = err
			continue
		}
		for _, e := range entries {
			v := e.Secret.Value.Reveal()
			if len(v) < scan.MinKnownLength {
				continue
			}
			known[env+"/"+e.Name] = v
			paths = append(paths, s.SecretPath(env, e.Name))
		}
	}
	if len(paths) > 0 {
		if err := s.Audit(audit.SecretRead, paths, nil); err != nil {
			return nil, nil, err
		}
	}
	return known, skipped, nil
}
