package session

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/store"
)

// posturePlaces is item 4: the scanner over the work tree (git's list of
// files where there is one), o.Paths (archives, images, build dirs: the
// scanner opens them layer by layer) and, with o.History, every commit;
// and the plaintext env files in the tree and in history.
func (s *Session) posturePlaces(o PostureOptions, known map[string]string) (PostureSection, error) {
	sec := PostureSection{ID: "places", Title: "Secrets where they must never be", Findings: []PostureFinding{}}
	p := s.project
	cfg := scan.Config{Known: known}
	allow, unacked, err := s.ScanAllowlist()
	if err != nil {
		return sec, err
	}
	cfg.Allow = allow
	if len(unacked) > 0 {
		sec.Notes = append(sec.Notes, ".hush/scan.yaml allows "+strings.Join(unacked, ", ")+" since you last acknowledged it: not applied (hush ack)")
	}
	sc, err := scan.New(cfg)
	if err != nil {
		return sec, err
	}
	ctx := s.Ctx()
	// A finding names its secret by an id that holds only within this
	// report (the same secret in the tree and in history has one id): the
	// scanner's fingerprints are unkeyed hashes a guess can be tested
	// against, and its Redacted shows four characters; neither is shown.
	idKey := make([]byte, 32)
	if _, err := rand.Read(idKey); err != nil {
		return sec, err
	}
	defer clear(idKey)
	secretID := func(f scan.Finding) string {
		sum := keyedSum(idKey, f.SecretFingerprint)
		return hex.EncodeToString(sum[:6])
	}
	add := func(fs []scan.Finding, how string) {
		for _, f := range fs {
			where := fmt.Sprintf("%s:%d", f.File, f.Line)
			if f.Commit != "" {
				where += " in commit " + shortRev(f.Commit)
			}
			if f.Note != "" {
				where += " (" + f.Note + ")"
			}
			what := f.Description
			if what == "" {
				what = f.Rule
			}
			sev := SevHigh
			if f.Key != "" {
				what, sev = "the stored value of "+f.Key, SevCritical
			}
			sec.Findings = append(sec.Findings, PostureFinding{Severity: sev, What: what, Where: where,
				Evidence: fmt.Sprintf("%s: rule %s, secret %s (an id for this report only)", how, f.Rule, secretID(f)),
				Fix:      postureScanFix(f)})
		}
	}
	root := p.Root
	fs, err := sc.ScanPaths(ctx, root)
	if err != nil {
		return sec, err
	}
	relFindings(root, fs)
	add(fs, "hush scan of the work tree")
	for _, extra := range o.Paths {
		if _, err := os.Lstat(extra); errors.Is(err, os.ErrNotExist) {
			return sec, fmt.Errorf("--path %s %w", extra, store.ErrNotFound)
		}
		fs, err := sc.ScanPaths(ctx, extra)
		if err != nil {
			return sec, err
		}
		add(fs, "hush scan "+extra)
	}
	inGit := git.Top(root) != ""
	if o.History {
		if !inGit {
			sec.Notes = append(sec.Notes, "--history: the project is not in a git work tree")
		} else {
			fs, err := sc.ScanHistory(ctx, root, "")
			if err != nil {
				return sec, err
			}
			add(fs, "hush scan --history")
		}
	} else {
		sec.Notes = append(sec.Notes, "git history not scanned (add --history)")
	}

	tracked := map[string]bool{}
	if inGit {
		if out, err := git.Output(ctx, root, "ls-files", "-z"); err == nil {
			for _, f := range strings.Split(string(out), "\x00") {
				if f != "" && scan.IsEnvFile(f) && !scan.IsEnvTemplate(f) {
					tracked[f] = true
					sec.Findings = append(sec.Findings, PostureFinding{Severity: SevHigh, What: "a plaintext env file is committed", Where: f,
						Evidence: "tracked by git (git ls-files)", Fix: fmt.Sprintf("hush migrate %s --remove && git rm --cached %s", f, f)})
				}
			}
		}
		// Every env file a commit ever added, tracked now or not: its
		// values are in history for whoever clones. --relative names them
		// as ls-files does when the project is a subdirectory of the repo.
		if out, err := git.Output(ctx, root, "log", "--all", "--diff-filter=A", "--name-only", "--relative", "--format=", "-z"); err == nil {
			seen := map[string]bool{}
			for _, f := range strings.FieldsFunc(string(out), func(r rune) bool { return r == 0 || r == '\n' }) {
				if seen[f] || tracked[f] || !scan.IsEnvFile(f) || scan.IsEnvTemplate(f) {
					continue
				}
				seen[f] = true
				sec.Findings = append(sec.Findings, PostureFinding{Severity: SevHigh, What: "a plaintext env file is in git history", Where: f,
					Evidence: "added by a commit (git log --diff-filter=A), no longer tracked",
					Fix:      "rotate what it held (hush rotate KEY --env ENV), then rewrite history: git filter-repo --invert-paths --path " + f})
			}
		}
	}
	for _, f := range untrackedEnvFiles(root, tracked) {
		sec.Findings = append(sec.Findings, PostureFinding{Severity: SevMedium, What: "a plaintext env file in the work tree", Where: f,
			Evidence: "a file named like an env file (not a template) on disk", Fix: fmt.Sprintf("hush migrate %s --remove", f)})
	}
	return sec, nil
}

func shortRev(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func postureScanFix(f scan.Finding) string {
	if f.Key != "" {
		env, key, _ := strings.Cut(f.Key, "/")
		return fmt.Sprintf("hush rotate %s --env %s, then remove it from %s", key, env, f.File)
	}
	if f.Commit != "" {
		return "rotate the credential at its provider; it stays in history until rewritten (git filter-repo)"
	}
	return "rotate the credential, move it into hush (hush set KEY --env ENV) and remove it from " + f.File
}

// relFindings names work-tree findings relative to the project root.
func relFindings(root string, fs []scan.Finding) {
	for i := range fs {
		if rel, err := filepath.Rel(root, filepath.FromSlash(fs[i].File)); err == nil && !strings.HasPrefix(rel, "..") {
			fs[i].File = filepath.ToSlash(rel)
		}
	}
}

// untrackedEnvFiles are the env files under root that git does not track
// (all of them outside git), as hush doctor lists them.
func untrackedEnvFiles(root string, tracked map[string]bool) []string {
	var out []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == ".git" || name == "node_modules" || name == store.DirName || name == ".cache" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !scan.IsEnvFile(name) || scan.IsEnvTemplate(name) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if rel = filepath.ToSlash(rel); !tracked[rel] {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// postureHygiene is item 5: the audit chain, its forwarding, and which
// keys rotate at their source.
func (s *Session) postureHygiene(id *crypt.Identity, rep *PostureReport) PostureSection {
	sec := PostureSection{ID: "hygiene", Title: "Audit and rotation hygiene", Findings: []PostureFinding{}}
	var key []byte
	if id != nil {
		key, _ = id.DeriveKey("audit anchor")
	}
	if r, err := s.AuditLog().VerifyAll(key, nil); err != nil {
		sec.Findings = append(sec.Findings, PostureFinding{Severity: SevHigh, What: "the audit log does not verify", Where: s.AuditLog().Path,
			Evidence: firstLineOf(err), Fix: "hush audit verify (names the first bad line); hush audit repair for a torn tail"})
	} else {
		sec.Notes = append(sec.Notes, fmt.Sprintf("audit log: %d lines, chain verified", r.Lines))
	}
	if f, err := s.Forwarder(); err != nil {
		sec.Findings = append(sec.Findings, PostureFinding{Severity: SevMedium, What: "audit forwarding is misconfigured", Where: "config.yaml audit.forward",
			Evidence: firstLineOf(err), Fix: "hush doctor"})
	} else if f == nil {
		sec.Findings = append(sec.Findings, PostureFinding{Severity: SevMedium, What: "audit lines are not forwarded", Where: filepath.Join(s.ConfigDir(), "config.yaml"),
			Evidence: "no audit: forward: sink configured; the log lives only on this machine",
			Fix:      "add an audit: forward: sink (syslog, http or journald) to config.yaml, then hush doctor"})
	}
	var automated []string
	manual := map[string][]string{}
	for _, a := range rep.Ages {
		if a.Source != "" {
			automated = append(automated, a.Env+"/"+a.Key+" ("+a.Source+")")
		} else if a.Every != "" {
			manual[a.Env] = append(manual[a.Env], a.Key)
		}
	}
	slices.Sort(automated)
	if len(automated) > 0 {
		sec.Notes = append(sec.Notes, "rotated at their source: "+strings.Join(automated, ", "))
	}
	for _, env := range rep.Envs {
		keys := manual[env]
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		shown := keys
		if len(shown) > 10 {
			shown = shown[:10]
		}
		more := ""
		if len(keys) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(keys)-len(shown))
		}
		sec.Findings = append(sec.Findings, PostureFinding{Severity: SevLow, What: fmt.Sprintf("%d keys with a rotation period rotate by hand", len(keys)),
			Where: env + ": " + strings.Join(shown, ", ") + more, Evidence: "no rotation.sources entry in hush.yaml for them",
			Fix: "add rotation.sources." + shown[0] + " (provider postgres, mysql, vault, command or acme) to hush.yaml, then hush rotate --due"})
	}
	return sec
}
