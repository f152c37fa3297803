package main

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
)

// ui is what a command's action works with: the streams and flags of the
// command line around a session (package session), which opens the
// project and the identity and records every access.
type ui struct {
	*session.Session
	env   *Env
	quiet bool
}

func newSession(env *Env, c *cli.Context) (*ui, error) {
	dir := globalString(c, "C")
	if dir == "" {
		wd, err := env.Getwd()
		if err != nil {
			return nil, err
		}
		dir = wd
	}
	s := newUI(env, dir, commandName(c))
	s.quiet = globalBool(c, "quiet")
	s.EnvFlag, s.Context = envOption(c, env), c.Context
	if s.Context == nil {
		s.Context = context.Background()
	}
	return s, nil
}

// reporter renders what the session says on the way, escaped like every
// other line (render.go).
type reporter struct{ s *ui }

func (r reporter) Infof(format string, args ...any) { r.s.infof(format, args...) }
func (r reporter) Warnf(format string, args ...any) { r.s.warnf(format, args...) }
func (r reporter) Notef(format string, args ...any) {
	printf(r.s.env.Stderr, "hush: note: "+format+"\n", args...)
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

func (s *ui) infof(format string, args ...any) {
	if !s.quiet {
		s.say("hush: "+format, args)
	}
}

func (s *ui) warnf(format string, args ...any) {
	s.say("hush: warning: "+format, args)
}

// newUI is a ui without a command line, for tests that drive one command's
// run function directly.
func newUI(env *Env, dir, command string) *ui {
	s := &ui{env: env}
	s.Session = session.New(session.Options{Dir: dir, Command: command, Getenv: env.Getenv, Environ: env.Environ, Now: env.Now, Keyring: env.Keyring,
		Version: version, Redact: func(msg string) string { return redactArgv(msg, env.redact) }, Report: reporter{s}, Prompt: promptSecret})
	return s
}

// withSession is the Action of a command that works with a session: the
// session is made from the command line, then fn runs with it.
func withSession(env *Env, fn func(c *cli.Context, s *ui) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		s, err := newSession(env, c)
		if err != nil {
			return err
		}
		// A login the key services made (KMS recipients) is revoked
		// when the command is done (a run that execs its child leaves it
		// to its TTL).
		defer s.CloseKMS()
		// The companion (hush-cloud), if the command started one, ends
		// with it: rotations and KMS recipients keep one for the whole
		// command rather than one per request.
		defer s.CloseCloud()
		return fn(c, s)
	}
}
