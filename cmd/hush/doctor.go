package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func doctorCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check identity, keyring, pinning, git drivers, audit chain, plaintext files, rotation",
		ArgsUsage: " ",
		Description: `Each check prints ✓ or ✗ with a one-line fix. Exit 1 when anything is wrong.

EXAMPLE:
   hush doctor --json`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			return runDoctor(s, c.Bool("json"))
		}),
	}
}

type check struct {
	Name string `json:"check"`
	OK   bool   `json:"ok"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

func runDoctor(s *ui, asJSON bool) error {
	checks := doctorChecks(s)
	bad := 0
	for _, c := range checks {
		if !c.OK {
			bad++
		}
	}
	if asJSON {
		if err := writeJSON(s.env.Stdout, checks); err != nil {
			return err
		}
	} else {
		renderChecks(s, checks)
	}
	if bad > 0 {
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d checks failed", bad)}
	}
	return nil
}

// doctorChecks runs every check of hush doctor, in the order shown.
func doctorChecks(s *ui) []check {
	var checks []check
	add := func(name string, ok bool, info, fix string) {
		c := check{Name: name, OK: ok, Info: info}
		if !ok {
			c.Fix = fix
		}
		checks = append(checks, c)
	}
	p, perr := s.Project()
	if perr != nil {
		add("project", false, perr.Error(), "run hush init, or cd into a project")
	} else {
		add("project", true, fmt.Sprintf("%s in %s, environments %s", p.Config.Project, p.Root, strings.Join(p.Config.EnvNames(), ", ")), "")
	}

	id, idErr := s.Identity()
	switch {
	case idErr != nil:
		fix := "run hush init, or set HUSH_IDENTITY_FILE"
		if perr == nil {
			fix = session.JoinHint(s.Lookup().IdentityFile())
		}
		add("identity", false, firstLine(idErr.Error()), fix)
	default:
		add("identity", true, fmt.Sprintf("%s from %s", crypt.Fingerprint(id.Public), id.Source), "")
	}
	if st, err := os.Lstat(s.Lookup().IdentityFile()); err == nil {
		perm := st.Mode().Perm()
		add("identity file permissions", perm&0o077 == 0 && st.Mode().IsRegular(), fmt.Sprintf("%s mode %04o", s.Lookup().IdentityFile(), perm),
			"chmod 600 "+s.Lookup().IdentityFile())
	}
	if s.env.Getenv("HUSH_KEYRING") == "off" {
		add("keyring", true, "skipped (HUSH_KEYRING=off)", "")
	} else {
		_, err := crypt.SystemKeyring{}.Get(crypt.KeyringService, crypt.KeyringUser)
		ok := err == nil || errors.Is(err, crypt.ErrKeyringNotFound)
		info := "reachable"
		if !ok {
			info = firstLine(err.Error())
		}
		add("keyring", ok, info, "start a Secret Service (gnome-keyring, KeePassXC) or set HUSH_KEYRING=off and use the identity file")
	}

	if perr == nil {
		var changed []string
		for _, e := range p.Config.EnvNames() {
			if pe, err := p.PinDiff(e); err == nil && pe != nil {
				changed = append(changed, e)
			}
		}
		add("recipients pinned", len(changed) == 0, pinInfo(changed), "review git log -p .hush/hush.yaml, then hush member ack --env "+strings.Join(changed, ","))
		if pd, err := p.Pending(); err == nil {
			var keys []string
			for _, c := range pd.Settings {
				keys = append(keys, store.Printable(c.Key))
			}
			add("settings pinned", len(keys) == 0, map[bool]string{true: "hush.yaml's settings are as you acknowledged them", false: "changed since you acknowledged them: " + strings.Join(keys, ", ")}[len(keys) == 0], "review git log -p .hush/hush.yaml, then hush ack")
		}
		if chains, broken := inheritance(p); chains > 0 {
			add("inheritance", len(broken) == 0, map[bool]string{true: fmt.Sprintf("every chain of inherits can be followed (%d inheriting)", chains), false: strings.Join(broken, "; ")}[len(broken) == 0],
				"fix inherits: in .hush/hush.yaml (hush env inherit NAME PARENT|--none)")
		}
		if top := git.Top(p.Root); top != "" {
			missing := session.GitDriversMissing(p.Root)
			add("git drivers", !missing, map[bool]string{true: "not configured in this clone", false: "diff and merge drivers configured"}[missing], "hush git setup")
		}
		if js, err := s.PendingRotations(); err != nil {
			add("rotations", false, firstLine(err.Error()), "see the journal it names; remove it once the source and the store agree")
		} else {
			var open []string
			for _, j := range js {
				open = append(open, fmt.Sprintf("%s in %s (%s) at phase %s", j.Key, j.Env, j.Provider, j.Phase))
			}
			add("rotations", len(js) == 0, map[bool]string{true: "none unfinished", false: "unfinished: " + strings.Join(open, "; ")}[len(js) == 0], "hush rotate --resume (hush status says what the store and the source hold)")
		}
		files := plaintextEnvFiles(p.Root)
		add("plaintext env files", len(files) == 0, plainInfo(files), "hush import FILE --env ENV for each, then delete it (and rotate values it ever committed)")
		if idErr == nil {
			add("rotation", true, "", "")
			checks[len(checks)-1] = rotationCheck(s, p)
			var pending []string
			for _, e := range p.Config.EnvNames() {
				if c, err := liveConflicts(s, p, e, id); err == nil && len(c) > 0 {
					pending = append(pending, e+": "+strings.Join(store.ConflictNames(c), ", "))
				}
			}
			add("merge conflicts", len(pending) == 0, map[bool]string{true: "none pending", false: "unresolved, ours in use: " + strings.Join(pending, "; ")}[len(pending) == 0],
				"hush resolve KEY --ours|--theirs --env ENV, then git add the store")
		}
	}

	var key []byte
	if idErr == nil {
		key, _ = id.DeriveKey("audit anchor")
	}
	if rep, err := s.AuditLog().VerifyAll(key, nil); err != nil {
		hint := "inspect " + s.AuditLog().Path + "; hush audit verify names the first bad line"
		var torn *audit.TornError
		if errors.As(err, &torn) {
			hint = "hush audit repair cuts the torn line and records the cut"
		}
		add("audit log", false, firstLine(err.Error()), hint)
	} else {
		add("audit log", true, fmt.Sprintf("%d lines, chain verified; %s", rep.Lines, anchorInfo(rep.Anchored, rep.AnchorNote)), "")
	}
	return append(checks, forwardCheck(s))
}

// renderChecks prints checks for a person: a mark, the name and what was
// found, and how to fix what failed.
func renderChecks(s *ui, checks []check) {
	color := s.env.StdoutTTY && s.env.Getenv("NO_COLOR") == ""
	for _, c := range checks {
		mark := "✓"
		if !c.OK {
			mark = "✗"
		}
		if color {
			if c.OK {
				mark = "\x1b[32m" + mark + "\x1b[0m"
			} else {
				mark = "\x1b[31m" + mark + "\x1b[0m"
			}
		}
		// mark is hush's own (and may be coloured); the rest is escaped.
		printf(s.env.Stdout, mark+" %s: %s\n", c.Name, c.Info)
		if !c.OK {
			printf(s.env.Stdout, "    fix: %s\n", c.Fix)
		}
	}
}

func rotationCheck(s *ui, p *store.Project) check {
	survey, err := s.Survey(p.Config.EnvNames(), s.env.Now().UTC())
	if err != nil {
		// A bad policy, or a listing that could not be recorded: either
		// way the check did not happen.
		return check{Name: "rotation", OK: false, Info: err.Error(), Fix: "fix the rotation section of hush.yaml, or the audit log (hush audit verify)"}
	}
	var overdue []string
	for _, sv := range survey {
		for _, st := range sv.Secrets {
			if st.Bad() {
				overdue = append(overdue, sv.Env+"/"+st.Name+" ("+string(st.State)+")")
			}
		}
	}
	if len(overdue) == 0 {
		return check{Name: "rotation", OK: true, Info: "nothing overdue, exposed or compromised"}
	}
	return check{Name: "rotation", OK: false, Info: strings.Join(overdue, ", "), Fix: "hush rotate KEY --env ENV (hush status for details)"}
}

// inheritance counts the environments that inherit and lists the chains
// that cannot be followed (a missing parent, a cycle). A link changed
// unacknowledged is the settings check's.
func inheritance(p *store.Project) (chains int, broken []string) {
	for _, e := range p.Config.EnvNames() {
		if p.Config.Environments[e].Inherits == "" {
			continue
		}
		chains++
		if _, err := p.Parents(e); errors.Is(err, store.ErrInheritance) {
			broken = append(broken, strings.TrimPrefix(err.Error(), store.ErrInheritance.Error()+": "))
		}
	}
	return chains, broken
}

func pinInfo(changed []string) string {
	if len(changed) == 0 {
		return "every environment's recipients are as you last encrypted them"
	}
	return "recipients changed since your last write: " + strings.Join(changed, ", ")
}

func plainInfo(files []string) string {
	if len(files) == 0 {
		return "none found"
	}
	return strings.Join(files, ", ")
}

func anchorInfo(anchored bool, note string) string {
	if anchored {
		return "anchor holds"
	}
	return note
}

// plaintextEnvFiles lists .env-like files in the project tree (relative
// names), skipping .git, node_modules and examples that hold no values by
// convention (.env.example, .env.sample, .env.template).
func plaintextEnvFiles(root string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "node_modules" || name == ".hush" || name == ".cache" || name == "vendor" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if scan.IsEnvFile(name) && !scan.IsEnvTemplate(name) {
			rel, _ := filepath.Rel(root, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}
