package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// ctx is the command's context (cancelled on interrupt by the caller).
func (s *session) ctx() context.Context {
	if s.context != nil {
		return s.context
	}
	return context.Background()
}

// session is what a command's action works with: the streams, the
// directories, and lazily the project and the identity.
type session struct {
	env     *Env
	command string
	quiet   bool
	dir     string // -C or the working directory
	envFlag string

	context  context.Context
	project  *store.Project
	identity *crypt.Identity
	notes    []string
	// keyringWitness is the audit witness in the OS keyring, one per
	// session so a keyring that did not answer is asked once.
	keyringWitness *audit.KeyringWitness
}

func newSession(env *Env, c *cli.Context) (*session, error) {
	s := &session{env: env, context: c.Context, command: commandName(c), quiet: globalBool(c, "quiet"), envFlag: envOption(c, env)}
	if d := globalString(c, "C"); d != "" {
		s.dir = d
	} else {
		wd, err := env.Getwd()
		if err != nil {
			return nil, err
		}
		s.dir = wd
	}
	return s, nil
}

// globalString reads a global flag wherever on the command line it was
// given. urfave/cli's own lookup stops at the innermost command defining the
// flag, even when it was set on the app (hush -C DIR env ls).
func globalString(c *cli.Context, name string) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet(name) {
			return ctx.String(name)
		}
	}
	return c.String(name)
}

// envOption is --env wherever it was given, else HUSH_ENV.
func envOption(c *cli.Context, env *Env) string {
	if v := globalString(c, "env"); v != "" {
		return v
	}
	return env.Getenv("HUSH_ENV")
}

func globalBool(c *cli.Context, name string) bool {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet(name) {
			return ctx.Bool(name)
		}
	}
	return false
}

func commandName(c *cli.Context) string {
	names := c.Lineage()
	var parts []string
	for i := len(names) - 1; i >= 0; i-- {
		if names[i].Command != nil && names[i].Command.Name != "" {
			parts = append(parts, names[i].Command.Name)
		}
	}
	return strings.Join(parts, " ")
}

// xdg returns an XDG base directory, following the spec's defaults.
func (s *session) xdg(name, fallback string) string {
	if v := s.env.Getenv(name); v != "" && filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(s.home(), fallback)
}

func (s *session) home() string {
	if h := s.env.Getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

func (s *session) configDir() string {
	return filepath.Join(s.xdg("XDG_CONFIG_HOME", ".config"), "hush")
}
func (s *session) dataDir() string {
	return filepath.Join(s.xdg("XDG_DATA_HOME", ".local/share"), "hush")
}
func (s *session) stateDir() string {
	return filepath.Join(s.xdg("XDG_STATE_HOME", ".local/state"), "hush")
}

func (s *session) infof(format string, args ...any) {
	if !s.quiet {
		s.say("hush: "+format, args)
	}
}

func (s *session) warnf(format string, args ...any) {
	s.say("hush: warning: "+format, args)
}

// openProject finds the project around the working directory.
func (s *session) openProject() (*store.Project, error) {
	if s.project != nil {
		return s.project, nil
	}
	p, err := store.Open(s.dir, s.dataDir())
	if err != nil {
		return nil, err
	}
	if err := s.trustProject(p); err != nil {
		return nil, err
	}
	s.project = p
	return p, nil
}

// envName is the environment a command works on: --env, HUSH_ENV, or the
// project's default.
func (s *session) envName() (string, error) {
	p, err := s.openProject()
	if err != nil {
		return "", err
	}
	name := s.envFlag
	if name == "" {
		// default_env is a pinned setting: it decides whose readers get
		// a value set without --env.
		if err := p.CheckSettings("default_env"); err != nil {
			return "", err
		}
		name = p.Config.DefaultEnv
	}
	if name == "" {
		return "", usagef("no environment given and the project has no default_env; use --env")
	}
	if _, err := p.Config.Env(name); err != nil {
		return "", err
	}
	return name, nil
}

func (s *session) lookup() *crypt.Lookup {
	l := &crypt.Lookup{
		Getenv:    s.env.Getenv,
		ConfigDir: s.configDir(),
		Note:      func(n string) { s.notes = append(s.notes, n) },
	}
	switch {
	case s.env.Keyring != nil:
		l.Keyring = s.env.Keyring
	case s.env.Getenv("HUSH_KEYRING") != "off":
		l.Keyring = crypt.SystemKeyring{}
	}
	// ssh_identities is honoured only as acknowledged (commands that run
	// while settings are pending, such as status, must not take it from a
	// pull).
	if s.project != nil && s.project.Config.SSHIdentities && s.project.CheckSettings("ssh_identities") == nil {
		l.SSHKeys = []string{filepath.Join(s.home(), ".ssh", "id_ed25519"), filepath.Join(s.home(), ".ssh", "id_rsa")}
	}
	return l
}

// identityOrErr finds the user's identity, explaining where hush looked
// when there is none.
func (s *session) identityOrErr() (*crypt.Identity, error) {
	if s.identity != nil {
		return s.identity, nil
	}
	l := s.lookup()
	id, err := l.Find()
	if err != nil {
		for _, n := range s.notes {
			printf(s.env.Stderr, "hush: note: %s\n", n)
		}
		if errors.Is(err, crypt.ErrNoIdentity) {
			if _, ferr := store.FindRoot(s.dir); ferr == nil {
				// hush init refuses in an existing project: a newcomer
				// joins by making a key and sending its recipient.
				return nil, withHint(err, "set HUSH_IDENTITY or HUSH_IDENTITY_FILE (CI); or %s", joinHint(l.IdentityFile()))
			}
			return nil, withHint(err, "set HUSH_IDENTITY or HUSH_IDENTITY_FILE, put a key in %s, or run hush init to create one", l.IdentityFile())
		}
		return nil, err
	}
	s.identity = id
	return id, nil
}

// osUser names the local account for the audit log.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint(os.Getuid())
}

// hostname names the machine for the audit log ("" when unknown).
func hostname() string {
	h, _ := os.Hostname()
	return h
}

// auditRun records one line for the keys of env a command read together
// (hush run): path project/env, the keys named in the line. Refs are
// lines of their own (they name other environments or a remote).
func (s *session) auditRun(action, env string, keys, refPaths []string) error {
	var entries []audit.Entry
	if len(keys) > 0 {
		e := s.auditEntry(action, s.secretPath(env, ""), nil)
		e.Keys = keys
		entries = append(entries, e)
	}
	for _, p := range refPaths {
		entries = append(entries, s.auditEntry(action, p, nil))
	}
	if err := s.auditLog().Append(entries...); err != nil {
		return tornHint(fmt.Errorf("%w; the command is refused because its access could not be recorded", err))
	}
	return nil
}

// auditRemote records one line per path of an operation on a remote:
// source is the remote's address, lease the lease it granted ("" when
// none). Its error must fail the command, as audit's does.
func (s *session) auditRemote(action, source, lease string, paths []string, opErr error) error {
	entries := make([]audit.Entry, 0, len(paths))
	for _, p := range paths {
		e := s.auditEntry(action, p, opErr)
		e.Source, e.Lease = source, lease
		entries = append(entries, e)
	}
	if err := s.auditLog().Append(entries...); err != nil {
		return tornHint(fmt.Errorf("%w; the command is refused because its access could not be recorded", err))
	}
	return nil
}

// audit records entries in the user's audit log. Its error must fail the
// command (DESIGN.md contract 4).
func (s *session) audit(action string, paths []string, opErr error) error {
	log := s.auditLog()
	entries := make([]audit.Entry, 0, len(paths))
	for _, p := range paths {
		entries = append(entries, s.auditEntry(action, p, opErr))
	}
	if err := log.Append(entries...); err != nil {
		return tornHint(fmt.Errorf("%w; the command is refused because its access could not be recorded", err))
	}
	return nil
}

// auditEntry is one audit line of this command.
func (s *session) auditEntry(action, path string, opErr error) audit.Entry {
	ident := ""
	if s.identity != nil {
		ident = s.identity.Public
	}
	e := audit.Entry{Time: s.env.Now().UTC(), Action: action, Path: path, Identity: ident, User: osUser(), PID: os.Getpid(), Command: s.command, Success: opErr == nil,
		Host: hostname(), Version: version}
	if opErr != nil {
		e.Error = auditErrorText(redactArgv(opErr.Error(), s.env.redact))
	}
	return e
}

// auditReady fails when the audit log cannot be written, so a change is
// refused before it happens rather than recorded nowhere.
func (s *session) auditReady() error {
	if err := s.auditLog().Writable(); err != nil {
		return tornHint(fmt.Errorf("%w; the command is refused because its access could not be recorded", err))
	}
	return nil
}

// auditErrorText keeps an error short for the log. hush's errors never
// carry values, and the caller took out what the command line had after
// an '=', so the message itself is safe.
func auditErrorText(msg string) string {
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// secretPath is the audit path of a key: project/env/KEY.
func (s *session) secretPath(env, key string) string {
	name := "?"
	if s.project != nil {
		name = s.project.Config.Project
	}
	if key == "" {
		return name + "/" + env
	}
	return name + "/" + env + "/" + key
}

// auditWith records one line and returns opErr, or the audit failure when
// recording failed.
func (s *session) auditWith(action string, path string, opErr error) error {
	if err := s.audit(action, []string{path}, opErr); err != nil {
		if opErr != nil {
			return fmt.Errorf("%w (and: %v)", opErr, err)
		}
		return err
	}
	return opErr
}

// openEnv is the preamble of every command that reads or writes secrets:
// the project, the environment to work on, and the identity to do it with.
func (s *session) openEnv() (*store.Project, string, *crypt.Identity, error) {
	p, err := s.openProject()
	if err != nil {
		return nil, "", nil, err
	}
	env, err := s.envName()
	if err != nil {
		return nil, "", nil, err
	}
	id, err := s.identityOrErr()
	if err != nil {
		return nil, "", nil, err
	}
	return p, env, id, nil
}

// envPaths are the audit paths of whole environments: project/env.
func (s *session) envPaths(envs []string) []string {
	paths := make([]string, len(envs))
	for i, e := range envs {
		paths[i] = s.secretPath(e, "")
	}
	return paths
}

// joinHint tells a newcomer to an existing project how to join it: hush
// init is for new projects only.
func joinHint(identityFile string) string {
	return fmt.Sprintf("to join this project, make a key (hush keygen -o %s), print its recipient (hush whoami) and send it to a member, who runs: hush member add RECIPIENT --env ENV --label NAME; see hush help member", shellWord(identityFile))
}
