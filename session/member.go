package session

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file changes who can read an environment: hush member add, rm and
// ci-key. Re-encryption is store's (store/members.go: AddRecipients,
// RemoveMember); each change is called from one function here, which
// writes its audit lines.

// MemberEnvs is the environments a member command works on: --env (a
// comma list) or, when allDefault, every environment.
func (s *Session) MemberEnvs(allDefault bool) ([]string, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if s.EnvFlag == "" {
		if allDefault {
			return p.Config.EnvNames(), nil
		}
		return nil, Usagef("name the environments with --env E[,E2]")
	}
	envs := strings.Split(s.EnvFlag, ",")
	for _, e := range envs {
		if _, err := p.Config.Env(e); err != nil {
			return nil, err
		}
	}
	return envs, nil
}

// ParseRecipients turns arguments into recipients labelled label: keys as
// given (age1…, ssh-…), or files holding one per line, as age -R reads
// them (comments and blank lines skipped). A bad one is a usage error
// naming where it was.
func ParseRecipients(args []string, label string) ([]store.Recipient, error) {
	var out []store.Recipient
	add := func(k, where string) error {
		if _, err := crypt.ParseRecipient(k); err != nil {
			return Usagef("%s: %v", where, err)
		}
		out = append(out, store.Recipient{Key: crypt.CanonicalRecipient(k), Label: label})
		return nil
	}
	for _, a := range args {
		if strings.HasPrefix(a, "age1") || strings.HasPrefix(a, "ssh-") || crypt.IsKMS(a) {
			if err := add(a, "recipient"); err != nil {
				return nil, err
			}
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return nil, Usagef("%q is neither a recipient (age1…, ssh-…, vault-transit:KEY) nor a readable file", a)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for line := 1; sc.Scan(); line++ {
			t := strings.TrimSpace(sc.Text())
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if err := add(t, fmt.Sprintf("%s:%d", a, line)); err != nil {
				f.Close()
				return nil, err
			}
			n++
		}
		f.Close()
		if n == 0 {
			return nil, Usagef("%s holds no recipient", a)
		}
	}
	return out, nil
}

// MemberAdd is what adding recipients did.
type MemberAdd struct {
	// Envs are the environments asked for, in order.
	Envs []string
	// Added holds, per environment, the recipients actually added (none
	// for one they already were recipients of).
	Added map[string][]store.Recipient
}

// AddMembers makes the recipients args name (see ParseRecipients),
// labelled label, recipients of the environments of --env, re-encrypting
// each. One member.add line per environment, whether it worked or not.
// The report is returned with an error too: the environments before the
// failing one are done.
func (s *Session) AddMembers(args []string, label string) (*MemberAdd, error) {
	if _, err := s.Project(); err != nil {
		return nil, err
	}
	rs, err := ParseRecipients(args, label)
	if err != nil {
		return nil, err
	}
	envs, err := s.MemberEnvs(false)
	if err != nil {
		return nil, err
	}
	return s.addRecipients(envs, rs)
}

func (s *Session) addRecipients(envs []string, rs []store.Recipient) (*MemberAdd, error) {
	p, id, err := s.forChange()
	if err != nil {
		return nil, err
	}
	added, err := p.AddRecipients(envs, rs, id)
	if aerr := s.Audit(audit.MemberAdd, s.EnvPaths(envs), err); aerr != nil && err == nil {
		err = aerr
	}
	return &MemberAdd{Envs: envs, Added: added}, err
}

// CIKey is a CI identity made a recipient.
type CIKey struct {
	// Identity is the new key; its secret is shown once and kept nowhere.
	Identity *crypt.Identity
	Envs     []string
}

// AddCIKey makes a new identity, labelled label, a recipient of the
// environments of --env, re-encrypting each, and records it as member.add.
func (s *Session) AddCIKey(label string) (*CIKey, error) {
	envs, err := s.MemberEnvs(false)
	if err != nil {
		return nil, err
	}
	if _, err := s.Identity(); err != nil {
		return nil, err
	}
	ci, err := crypt.Generate()
	if err != nil {
		return nil, err
	}
	if _, err := s.addRecipients(envs, []store.Recipient{{Key: ci.Public, Label: label}}); err != nil {
		return nil, err
	}
	return &CIKey{Identity: ci, Envs: envs}, nil
}

// MemberRemoval is what removing a member did.
type MemberRemoval struct {
	Who string
	// Removals are the environments finished, in order (see
	// store.Removal: what was marked exposed, and whether the member was
	// one this user ever acknowledged).
	Removals []store.Removal
	// Remaining is, per environment finished, how many recipients it is
	// now encrypted to.
	Remaining map[string]int
}

// Acknowledged are the removals of a recipient this user had encrypted
// to: the ones whose secrets must be rotated.
func (r *MemberRemoval) Acknowledged() []store.Removal {
	var out []store.Removal
	for _, x := range r.Removals {
		if !x.Unacknowledged {
			out = append(out, x)
		}
	}
	return out
}

// RemoveMember removes who (a label or a key) from the environments of
// --env, or every environment, by store.RemoveMember: each store is
// re-encrypted to the remaining recipients and its secrets marked exposed
// to who until rotated (DESIGN.md contract 5). One member.remove line per
// environment finished (the environments asked for, when none was),
// whether it worked or not; the report is returned with an error too, an
// interrupted removal being finished by running it again.
func (s *Session) RemoveMember(who string) (*MemberRemoval, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	envs, err := s.MemberEnvs(true)
	if err != nil {
		return nil, err
	}
	id, err := s.Identity()
	if err != nil {
		return nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	removals, err := p.RemoveMember(who, envs, id, s.Now().UTC())
	var paths []string
	for _, r := range removals {
		paths = append(paths, s.SecretPath(r.Env, ""))
	}
	if len(paths) == 0 {
		paths = []string{s.SecretPath(strings.Join(envs, ","), "")}
	}
	if aerr := s.Audit(audit.MemberRemove, paths, err); aerr != nil && err == nil {
		err = aerr
	}
	rep := &MemberRemoval{Who: who, Removals: removals, Remaining: map[string]int{}}
	for _, r := range removals {
		if ec, ok := p.Config.Environments[r.Env]; ok {
			rep.Remaining[r.Env] = len(ec.Recipients)
		}
	}
	return rep, err
}

// MemberRow is one member as hush member ls shows it.
type MemberRow struct {
	store.Member
	Fingerprint string `json:"fingerprint"`
}

// Members lists every recipient of the project, or of env alone when env
// is not "". It reads hush.yaml only: no store is decrypted.
func (s *Session) Members(env string) ([]MemberRow, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if env != "" {
		if _, err := p.Config.Env(env); err != nil {
			return nil, err
		}
	}
	rows := []MemberRow{}
	for _, m := range p.Config.Members() {
		if env == "" || slices.Contains(m.Envs, env) {
			rows = append(rows, MemberRow{m, crypt.Fingerprint(m.Key)})
		}
	}
	return rows, nil
}
