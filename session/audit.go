package session

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is the one place audit lines are made (DESIGN.md contract 4):
// every read and change of a value in values.go, and every workflow of this
// package, records through these methods, and an error from them fails
// the command. The CLI never builds an audit.Entry.

// AuditLog is the user's audit log, keyed to the identity when one is
// known (the anchor) and witnessed outside the state directory.
func (s *Session) AuditLog() *audit.Log {
	l := &audit.Log{Path: filepath.Join(s.StateDir(), "audit.jsonl")}
	if v, err := strconv.ParseInt(s.Getenv("HUSH_AUDIT_MAX_SIZE"), 10, 64); err == nil && v > 0 {
		l.MaxSize = v
	}
	if s.identity != nil {
		l.AnchorKey, _ = s.identity.DeriveKey("audit anchor")
	}
	l.Sync = s.Getenv("HUSH_AUDIT_SYNC") == "1"
	l.Witnesses = s.auditWitnesses(l.Path)
	l.Appended = s.spoolAudit
	return l
}

// auditWitnesses are where the anchor's copy and counter live outside the
// state directory: the OS keyring when one is configured (an optional
// witness: one that does not answer is skipped) and always a file in the
// personal data directory, so a keyring that comes and goes loses nothing.
func (s *Session) auditWitnesses(logPath string) []audit.Witness {
	ws := []audit.Witness{audit.FileWitness{Path: filepath.Join(s.DataDir(), "audit.witness")}}
	var kr crypt.Keyring
	switch {
	case s.Keyring != nil:
		kr = s.Keyring
	case s.Getenv("HUSH_KEYRING") != "off":
		// Shorter than the identity lookup's wait: the file witness is
		// always written, the keyring only raises the bar.
		kr = crypt.SystemKeyring{Timeout: 500 * time.Millisecond}
	}
	if kr != nil {
		if s.keyringWitness == nil {
			w := audit.NewKeyringWitness(kr, "audit-witness:"+logPath)
			s.keyringWitness = &w
		}
		ws = append([]audit.Witness{*s.keyringWitness}, ws...)
	}
	return ws
}

// AnchorKey is the audit anchor's key of the user's identity, nil when
// there is none (verify and repair then check the chain only).
func (s *Session) AnchorKey() []byte {
	id, err := s.Identity()
	if err != nil {
		return nil
	}
	key, _ := id.DeriveKey("audit anchor")
	return key
}

// refused is the error of a command whose audit line could not be
// written.
func refused(err error) error {
	return TornHint(fmt.Errorf("%w; the command is refused because its access could not be recorded", err))
}

// TornHint adds how to fix a torn last line to err.
func TornHint(err error) error {
	var torn *audit.TornError
	if errors.As(err, &torn) {
		return hint.With(err, "a crash or a full disk cut an append short; hush audit repair cuts the torn line and records the cut")
	}
	return err
}

// Entry is one audit line of this command, not yet written.
func (s *Session) Entry(action, path string, opErr error) audit.Entry {
	ident := ""
	if s.identity != nil {
		ident = s.identity.Public
	}
	e := audit.Entry{Time: s.Now().UTC(), Action: action, Path: path, Identity: ident, User: OSUser(), PID: os.Getpid(), Command: s.Command, Success: opErr == nil,
		Host: hostname(), Version: s.Version, RequestID: s.requestID}
	if opErr != nil {
		e.Error = auditErrorText(s.Redact(opErr.Error()))
	}
	return e
}

// Record writes entries as one append. Its error must fail the command.
func (s *Session) Record(entries ...audit.Entry) error {
	if err := s.AuditLog().Append(entries...); err != nil {
		return refused(err)
	}
	s.forwardAudit()
	return nil
}

// Audit records one line per path. Its error must fail the command.
func (s *Session) Audit(action string, paths []string, opErr error) error {
	entries := make([]audit.Entry, 0, len(paths))
	for _, p := range paths {
		entries = append(entries, s.Entry(action, p, opErr))
	}
	return s.Record(entries...)
}

// AuditWith records one line and returns opErr, or the audit failure when
// recording failed.
func (s *Session) AuditWith(action string, path string, opErr error) error {
	return join(opErr, s.Audit(action, []string{path}, opErr))
}

// join returns opErr, with the audit failure added when there was one.
func join(opErr, auditErr error) error {
	switch {
	case auditErr == nil:
		return opErr
	case opErr == nil:
		return auditErr
	}
	return fmt.Errorf("%w (and: %v)", opErr, auditErr)
}

// AuditRun records one line for the keys of env a command read together
// (hush run): path project/env, the keys named in the line. Refs are
// lines of their own (they name other environments or a remote).
func (s *Session) AuditRun(action, env string, keys, refPaths []string) error {
	return s.AuditRunFrom(action, []EnvKeys{{Env: env, Keys: keys}}, refPaths)
}

// EnvKeys are keys read together from one environment's stores.
type EnvKeys struct {
	Env  string
	Keys []string
}

// AuditRunFrom is AuditRun for keys read from several environments (an
// environment and those it inherits from): one line per environment, in
// order, each naming its own keys, so a value inherited from dev is a
// read of dev.
func (s *Session) AuditRunFrom(action string, groups []EnvKeys, refPaths []string) error {
	var entries []audit.Entry
	for _, g := range groups {
		if len(g.Keys) > 0 {
			e := s.Entry(action, s.SecretPath(g.Env, ""), nil)
			e.Keys = g.Keys
			entries = append(entries, e)
		}
	}
	for _, p := range refPaths {
		entries = append(entries, s.Entry(action, p, nil))
	}
	return s.Record(entries...)
}

// AuditRemote records one line per path of an operation on a remote:
// source is the remote's address, lease the lease it granted ("" when
// none). Its error must fail the command.
func (s *Session) AuditRemote(action, source, lease string, paths []string, opErr error) error {
	return s.AuditRemoteID(action, source, lease, "", paths, opErr)
}

// AuditRemoteEach is AuditRemote with the remote's request id of each
// path's work (remoteIDs[i] for paths[i]), recorded on success only.
func (s *Session) AuditRemoteEach(action, source string, paths, remoteIDs []string, opErr error) error {
	entries := make([]audit.Entry, 0, len(paths))
	for i, p := range paths {
		e := s.Entry(action, p, opErr)
		e.Source = source
		if opErr == nil && i < len(remoteIDs) {
			e.RemoteRequestID = remoteIDs[i]
		}
		entries = append(entries, e)
	}
	return s.Record(entries...)
}

// AuditRemoteID is AuditRemote naming the remote's id of the request
// that did the work (Vault's request_id), on success only.
func (s *Session) AuditRemoteID(action, source, lease, remoteID string, paths []string, opErr error) error {
	if opErr != nil {
		remoteID = ""
	}
	entries := make([]audit.Entry, 0, len(paths))
	for _, p := range paths {
		e := s.Entry(action, p, opErr)
		e.Source, e.Lease, e.RemoteRequestID = source, lease, remoteID
		entries = append(entries, e)
	}
	return s.Record(entries...)
}

// AuditRotate records one phase of a rotation at a source: path is the
// key's, source names the provider (and its remote where it has one),
// detail what the phase did (never a value). Its error must fail the
// command.
func (s *Session) AuditRotate(action, env, key, source, detail string, opErr error) error {
	e := s.Entry(action, s.SecretPath(env, key), opErr)
	e.Source, e.Detail = source, detail
	return s.Record(e)
}

// AuditCI records one line of hush ci: action on path at the CI
// destination source, detail naming the variable there. Its error must
// fail the command.
func (s *Session) AuditCI(action, source, path, detail string, opErr error) error {
	e := s.Entry(action, path, opErr)
	e.Source, e.Detail = source, detail
	return s.Record(e)
}

// AuditReady fails when the audit log cannot be written, so a change is
// refused before it happens rather than recorded nowhere.
func (s *Session) AuditReady() error {
	if err := s.AuditLog().Writable(); err != nil {
		return refused(err)
	}
	return nil
}

// auditErrorText keeps an error short for the log. hush's errors never
// carry values, and Redact took out what the command line had after an
// '=', so the message itself is safe.
func auditErrorText(msg string) string {
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// SecretPath is the audit path of a key: project/env/KEY, or project/env
// for key "" (audit.Path).
func (s *Session) SecretPath(env, key string) string {
	name := "?"
	if s.project != nil {
		name = s.project.Config.Project
	}
	return audit.Path{Project: name, Env: env, Key: key}.String()
}

// EntryPath is the audit path of a layered entry of env: the environment
// whose store holds the value, so reading a value staging inherits is a
// read of dev's.
func (s *Session) EntryPath(env string, e store.Entry) string {
	if e.Env != "" {
		env = e.Env
	}
	return s.SecretPath(env, e.Name)
}

// readEnvs are env and the environments a layered read of it decrypts
// (those it inherits from): the paths of a listing's lines. A chain that
// cannot be followed is env alone (the read failed on it anyway).
func (s *Session) readEnvs(env string) []string {
	envs := []string{env}
	if s.project != nil {
		if parents, err := s.project.Parents(env); err == nil {
			envs = append(envs, parents...)
		}
	}
	return envs
}

// EnvPaths are the audit paths of whole environments: project/env.
func (s *Session) EnvPaths(envs []string) []string {
	paths := make([]string, len(envs))
	for i, e := range envs {
		paths[i] = s.SecretPath(e, "")
	}
	return paths
}

// OSUser names the local account.
func OSUser() string {
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
