// Package session is the layer between the CLI and the rest of hush. A
// Session opens the project and the identity once per command, and every
// read and change of a value goes through it together with its audit line
// (audit.go, values.go), so a command cannot do one without the other. The
// workflows that used to live in the CLI — importing, migrating, merging,
// preparing hush run's environment, the leak runbook, applying an edit —
// are here too and return reports the CLI renders.
//
// The session prints nothing itself: what it has to say on the way goes to
// its Reporter, which the CLI escapes and writes to stderr.
package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/cloud"
	"github.com/hush-secrets/hush/sync/vault"
)

// Reporter receives what a session says while it works. Arguments may come
// from the repository; the Reporter escapes them.
type Reporter interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	// Notef is a note from the identity lookup (where it looked).
	Notef(format string, args ...any)
}

// Options is what the CLI tells a session about the command.
type Options struct {
	// Dir is -C or the working directory.
	Dir string
	// Env is --env or HUSH_ENV ("" for the project's default).
	EnvFlag string
	// Command names the command in audit lines and trust decisions
	// ("set", "member ack").
	Command string
	// Getenv and Now are the process's environment and clock.
	Getenv func(string) string
	Now    func() time.Time
	// Environ is the whole environment, for companions (hush-cloud); nil
	// lets them inherit the process's.
	Environ func() []string
	// Keyring is the OS keyring; nil means the system one unless
	// HUSH_KEYRING=off.
	Keyring crypt.Keyring
	// Redact takes what the command line must not show out of an error
	// text before it is written to the audit log.
	Redact func(string) string
	// Version is hush's version, for audit lines.
	Version string
	// Report receives notes and warnings; nil discards them.
	Report Reporter
	// Context is cancelled on interrupt; nil is context.Background.
	Context context.Context
	// Prompt asks for a secret on the terminal without echo (a Vault
	// password); nil, or an error, when there is none.
	Prompt func(prompt string) (string, error)
}

// Session is one command's view of hush: the project, the identity and the
// audit log, each opened when first needed.
type Session struct {
	Options
	project  *store.Project
	identity *crypt.Identity
	notes    []string
	// keyringWitness is the audit witness in the OS keyring, one per
	// session so a keyring that did not answer is asked once.
	keyringWitness *audit.KeyringWitness
	// forwarding sends audit lines to the configured sinks (forward.go).
	forwarding *forwarding
	// vaultLogins keeps a typed Vault password and an unwrapped secret id
	// for the session's later logins (vault.go).
	vaultLogins *vault.LoginCache
	// requestID is the command's correlation id with Vault, made when the
	// command first opens it (vault.go).
	requestID string
	// cloud is the command's hush-cloud, started on first use (cloud.go).
	cloud *cloud.Client
	// transit is the Vault transit key service of KMS recipients (kms.go).
	transit *vault.Transit
}

// New starts a session. It opens nothing yet.
func New(o Options) *Session {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
	if o.Report == nil {
		o.Report = discard{}
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	return &Session{Options: o}
}

type discard struct{}

func (discard) Infof(string, ...any) {}
func (discard) Warnf(string, ...any) {}
func (discard) Notef(string, ...any) {}

// Ctx is the command's context.
func (s *Session) Ctx() context.Context { return s.Context }

// xdg returns an XDG base directory, following the spec's defaults.
func (s *Session) xdg(name, fallback string) string {
	if v := s.Getenv(name); v != "" && filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(s.Home(), fallback)
}

// Home is the user's home directory.
func (s *Session) Home() string {
	if h := s.Getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// ConfigDir, DataDir and StateDir are hush's XDG directories.
func (s *Session) ConfigDir() string {
	return filepath.Join(s.xdg("XDG_CONFIG_HOME", ".config"), "hush")
}
func (s *Session) DataDir() string {
	return filepath.Join(s.xdg("XDG_DATA_HOME", ".local/share"), "hush")
}
func (s *Session) StateDir() string {
	return filepath.Join(s.xdg("XDG_STATE_HOME", ".local/state"), "hush")
}

// Project finds the project around Dir, registers the checkout and refuses
// when the settings that say which project this is changed unacknowledged.
func (s *Session) Project() (*store.Project, error) {
	if s.project != nil {
		return s.project, nil
	}
	p, err := store.Open(s.Dir, s.DataDir())
	if err != nil {
		return nil, err
	}
	if err := s.trust(p); err != nil {
		return nil, err
	}
	s.project = p
	return p, nil
}

// Opened is the project if one was opened, else nil.
func (s *Session) Opened() *store.Project { return s.project }

// UseProject makes p the session's project (hush init, which creates it).
func (s *Session) UseProject(p *store.Project) { s.project = p }

// trustExempt are the commands that work while settings changes are
// pending: the ones that show or acknowledge them, and git's drivers,
// which have their own pinning.
var trustExempt = map[string]bool{
	"ack": true, "member ack": true, "link": true, "status": true, "doctor": true,
	"member ls": true, "env ls": true, "git textconv": true, "git merge": true, "__complete": true,
}

// projectSettings are the settings every command uses: which project this
// is and which identities hush may try.
var projectSettings = []string{"id", "project", "ssh_identities"}

// trust registers the checkout (trust on first use, legacy migration) and
// refuses when the project's identity settings changed.
func (s *Session) trust(p *store.Project) error {
	reg, err := p.Register(s.Now())
	if err != nil {
		return err
	}
	if reg.Legacy != "" {
		s.Report.Infof("this project has no id yet: this checkout is now project %s, with the pins kept under its name; personal data kept under its name (%s) is used once you run: hush link",
			p.ProjectKey(), reg.Legacy)
	}
	if reg.Shared {
		others, _ := p.OtherCheckouts()
		s.Report.Infof("project id %s is also checked out in %s: this checkout starts from its pins; its personal store is its own until you run: hush link",
			p.ProjectKey(), strings.Join(others, ", "))
	}
	if trustExempt[strings.TrimPrefix(s.Command, "hush ")] {
		return nil
	}
	return p.CheckSettings(projectSettings...)
}

// UsageError is a command line hush cannot act on (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// EnvName is the environment a command works on: --env, HUSH_ENV, or the
// project's default.
func (s *Session) EnvName() (string, error) {
	p, err := s.Project()
	if err != nil {
		return "", err
	}
	name := s.EnvFlag
	if name == "" {
		// default_env is a pinned setting: it decides whose readers get
		// a value set without --env.
		if err := p.CheckSettings("default_env"); err != nil {
			return "", err
		}
		name = p.Config.DefaultEnv
	}
	if name == "" {
		return "", Usagef("no environment given and the project has no default_env; use --env")
	}
	if _, err := p.Config.Env(name); err != nil {
		return "", err
	}
	return name, nil
}

// Lookup is where hush looks for the user's identity.
func (s *Session) Lookup() *crypt.Lookup {
	l := &crypt.Lookup{
		Getenv:    s.Getenv,
		ConfigDir: s.ConfigDir(),
		Note:      func(n string) { s.notes = append(s.notes, n) },
	}
	switch {
	case s.Keyring != nil:
		l.Keyring = s.Keyring
	case s.Getenv("HUSH_KEYRING") != "off":
		l.Keyring = crypt.SystemKeyring{}
	}
	// ssh_identities is honoured only as acknowledged (commands that run
	// while settings are pending, such as status, must not take it from a
	// pull).
	if s.project != nil && s.project.Config.SSHIdentities && s.project.CheckSettings("ssh_identities") == nil {
		l.SSHKeys = []string{filepath.Join(s.Home(), ".ssh", "id_ed25519"), filepath.Join(s.Home(), ".ssh", "id_rsa")}
	}
	return l
}

// Notes are what the identity lookup noted on the way.
func (s *Session) Notes() []string { return s.notes }

// Identity finds the user's identity, explaining where hush looked when
// there is none.
func (s *Session) Identity() (*crypt.Identity, error) {
	if s.identity != nil {
		return s.identity, nil
	}
	l := s.Lookup()
	id, err := l.Find()
	if errors.Is(err, crypt.ErrNoIdentity) {
		// No age key: a machine whose access is a key service's (CI with
		// a Vault token) reads the environments with a KMS recipient.
		if k := s.kms(s.project); k != nil && hasKMS(s.project) {
			s.identity = crypt.KMSOnly(k, kmsPublic)
			return s.identity, nil
		}
	}
	if err != nil {
		for _, n := range s.notes {
			s.Report.Notef("%s", n)
		}
		if errors.Is(err, crypt.ErrNoIdentity) {
			if _, ferr := store.FindRoot(s.Dir); ferr == nil {
				// hush init refuses in an existing project: a newcomer
				// joins by making a key and sending its recipient.
				return nil, hint.With(err, "set HUSH_IDENTITY or HUSH_IDENTITY_FILE (CI); or %s", JoinHint(l.IdentityFile()))
			}
			return nil, hint.With(err, "set HUSH_IDENTITY or HUSH_IDENTITY_FILE, put a key in %s, or run hush init to create one", l.IdentityFile())
		}
		return nil, err
	}
	id.KMS = s.kms(s.project)
	s.identity = id
	return id, nil
}

// Known is the identity if one was found, else nil.
func (s *Session) Known() *crypt.Identity { return s.identity }

// UseIdentity makes id the session's identity (hush init, which makes it).
func (s *Session) UseIdentity(id *crypt.Identity) { s.identity = id }

// OpenEnv is the preamble of every command that reads or writes secrets:
// the project, the environment to work on, and the identity to do it with.
func (s *Session) OpenEnv() (*store.Project, string, *crypt.Identity, error) {
	p, err := s.Project()
	if err != nil {
		return nil, "", nil, err
	}
	env, err := s.EnvName()
	if err != nil {
		return nil, "", nil, err
	}
	id, err := s.Identity()
	if err != nil {
		return nil, "", nil, err
	}
	return p, env, id, nil
}

// JoinHint tells a newcomer to an existing project how to join it: hush
// init is for new projects only.
func JoinHint(identityFile string) string {
	return fmt.Sprintf("to join this project, make a key (hush keygen -o %s), print its recipient (hush whoami) and send it to a member, who runs: hush member add RECIPIENT --env ENV --label NAME; see hush help member", safe.ShellWord(identityFile))
}

// projectIdentity is the project and the identity, for reading values.
func (s *Session) projectIdentity() (*store.Project, *crypt.Identity, error) {
	p, err := s.Project()
	if err != nil {
		return nil, nil, err
	}
	id, err := s.Identity()
	if err != nil {
		return nil, nil, err
	}
	return p, id, nil
}

// forChange is projectIdentity for a change: it also refuses when the
// audit log cannot be written, so the change is refused before it happens
// rather than recorded nowhere.
func (s *Session) forChange() (*store.Project, *crypt.Identity, error) {
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, nil, err
	}
	return p, id, nil
}
