package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// InitOptions is what hush init was asked: environments (default dev),
// the project's name (default: the directory's) and the user's label
// (default: the account name).
type InitOptions struct {
	Envs        []string
	Name, Label string
}

// InitReport is what Init did, for the CLI to say.
type InitReport struct {
	Project *store.Project
	Envs    []string
	// Identity is the identity the project is encrypted to; Created says
	// hush made it, kept in Where.
	Identity *crypt.Identity
	Created  bool
	Where    string
	// GitConfig is why the git drivers could not be configured (nil when
	// they were, or outside git).
	GitConfig error
}

var nonNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Init creates a project in Dir: the user's identity (found, or made and
// kept), hush.yaml with a fresh project id, each environment encrypted to
// the user, the audit lines, and hush's line in .gitattributes. A
// .gitattributes hush cannot safely append to fails it before anything is
// created.
func (s *Session) Init(o InitOptions) (*InitReport, error) {
	root, err := filepath.Abs(s.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(root, store.DirName)); err == nil {
		return nil, hint.With(fmt.Errorf("%s %w: this is already a hush project", filepath.Join(root, store.DirName), store.ErrExists),
			"%s", JoinHint(s.Lookup().IdentityFile()))
	}
	envs := o.Envs
	if len(envs) == 0 {
		envs = []string{"dev"}
	}
	for _, e := range envs {
		if err := store.ValidEnvName(e); err != nil {
			return nil, err
		}
	}
	name := o.Name
	if name == "" {
		if name = strings.Trim(nonNameChars.ReplaceAllString(filepath.Base(root), "-"), "-."); name == "" {
			name = "project"
		}
	}
	if err := store.ValidProjectName(name); err != nil {
		return nil, err
	}
	label := o.Label
	if label == "" {
		label = OSUser()
	}
	rep := &InitReport{Envs: envs}
	l := s.Lookup()
	id, err := l.Find()
	switch {
	case errors.Is(err, crypt.ErrNoIdentity):
		if id, err = crypt.Generate(); err != nil {
			return nil, err
		}
		where, err := l.Store(id)
		for _, n := range s.notes {
			s.Report.Notef("%s", n)
		}
		if err != nil {
			return nil, fmt.Errorf("keep the new identity: %w", err)
		}
		rep.Created, rep.Where = true, where
		// Said now: whatever fails later, the key exists and is kept.
		s.Report.Infof("created a new identity %s, kept in %s", crypt.Fingerprint(id.Public), where)
		s.Report.Infof("hint: back it up: without it, nothing encrypted to it can be read")
	case err != nil:
		return nil, err
	default:
		s.Report.Infof("using your identity %s from %s", crypt.Fingerprint(id.Public), id.Source)
	}
	rep.Identity = id
	s.identity = id
	if err := CheckGitAttributes(root); err != nil {
		return nil, err
	}
	pid, err := store.NewProjectID()
	if err != nil {
		return nil, err
	}
	cfg := &store.Config{Version: store.ConfigVersion, ID: pid, Project: name, DefaultEnv: envs[0], Environments: map[string]*store.EnvConfig{}}
	p, err := store.Create(root, s.DataDir(), cfg)
	if err != nil {
		return nil, err
	}
	if err := p.RegisterInit(s.Now()); err != nil {
		return nil, err
	}
	s.project, rep.Project = p, p
	me := []store.Recipient{{Key: crypt.CanonicalRecipient(id.Public), Label: label}}
	for _, e := range envs {
		if err := p.CreateEnv(e, me, id); err != nil {
			return nil, err
		}
	}
	if err := s.Audit(audit.ProjectInit, []string{name}, nil); err != nil {
		return nil, err
	}
	if err := s.Audit(audit.EnvCreate, s.EnvPaths(envs), nil); err != nil {
		return nil, err
	}
	if err := WriteGitAttributes(root); err != nil {
		return nil, err
	}
	if top := git.Top(root); top != "" {
		rep.GitConfig = ConfigureGit(s.Ctx(), top)
	}
	return rep, nil
}
