package session

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

// This file is hush export: the session's environment as layering sees it
// (personal over team), in a format other tools read, each key recorded
// as read.

// ExportOptions is what to export, how, and where.
type ExportOptions struct {
	// Format is an inject format (dotenv, json, yaml, shell, docker, k8s,
	// github) or sops, a SOPS file encrypted to the environment's
	// recipients, of SOPSType (yaml, the default, json or dotenv).
	Format, SOPSType string
	// Name and Namespace are the k8s Secret's (Name defaults to the
	// project's name).
	Name, Namespace string
	// Only keeps the keys matching one of these globs.
	Only []string
	// Output is a new file to write the export to, mode 0600; "" leaves
	// the export in Export.Data for the caller's stdout. Force replaces an
	// existing regular file (atomically, never through a link).
	Output string
	Force  bool
	// SOPS finds hush-sops, which writes SOPS files.
	SOPS func() (*sopsfile.Helper, error)
}

// Export is an export done.
type Export struct {
	Env string
	// SOPS says the export is a SOPS file (encrypted); otherwise it is
	// plaintext.
	SOPS bool
	// Data is the export, when no Output was given.
	Data []byte
	// Secrets are what was exported, for masking in a CI log.
	Secrets []inject.Secret
	// Skipped are the keys left out because hush run would not inject
	// them (the formats that become an environment).
	Skipped []string
	// Personal are the keys of a SOPS file that come from the user's
	// personal store, now shown to every recipient of the environment.
	Personal []string
	// SSHRecipients are the labels of the SOPS file's SSH recipients,
	// which sops reads from version 3.10 on.
	SSHRecipients []string
	// Inherited are the environments exported values were inherited
	// from: a SOPS file of the environment would show them to its
	// recipients (renderSOPS).
	Inherited []string
	// Mask says the values must be masked in the CI log before anything
	// else reaches it (GitHub Actions; see inject.WriteGitHubMasks).
	Mask bool
}

// Export renders the session's environment. A value the format cannot
// carry fails before anything is recorded as read or written; every key
// exported is one secret.read line; an audit log that cannot be written
// refuses the export before a value is decrypted. With Output, the one
// file written is Output.
func (s *Session) Export(o ExportOptions) (*Export, error) {
	if strings.EqualFold(o.Format, "example") {
		// An export is values; an example is names only (example.go).
		return nil, hint.With(Usagef("--format example: a .env.example holds no values, so it is not an export"), "hush example -o .env.example")
	}
	isSOPS := strings.EqualFold(o.Format, "sops")
	if o.SOPSType != "" && !isSOPS {
		return nil, Usagef("--sops-type goes with --format sops")
	}
	format, err := inject.ParseFormat(o.Format)
	if err != nil && !isSOPS {
		return nil, Usagef("%v", strings.TrimPrefix(err.Error(), "inject: "))
	}
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, err
	}
	entries, err := p.Layered(env, id)
	if err != nil {
		return nil, err
	}
	x := &Export{Env: env, SOPS: isSOPS}
	var paths []string
	allow := p.Config.AllowInject
	for _, e := range entries {
		if len(o.Only) > 0 && !exportMatch(o.Only, e.Name) {
			continue
		}
		// The loader policy of hush run: an export that becomes an
		// environment leaves out what run would not inject.
		if !isSOPS && format.SetsEnv() && !inject.Allowed(e.Name, allow) {
			x.Skipped = append(x.Skipped, e.Name)
			continue
		}
		x.Secrets = append(x.Secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Secret.Value.Reveal())})
		paths = append(paths, s.EntryPath(env, e))
		if e.Source == store.Personal {
			x.Personal = append(x.Personal, e.Name)
		}
		if e.Inherited(env) && !slices.Contains(x.Inherited, e.Env) {
			x.Inherited = append(x.Inherited, e.Env)
		}
	}
	name := o.Name
	if name == "" {
		name = p.Config.Project
	}
	var buf strings.Builder
	if isSOPS {
		b, err := s.renderSOPS(x, o)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	} else if err := inject.Export(&buf, format, x.Secrets, inject.ExportOptions{Name: strings.ToLower(name), Namespace: o.Namespace, Allow: allow}); err != nil {
		return nil, Usagef("%v", err)
	}
	if err := s.Audit(audit.SecretRead, paths, nil); err != nil {
		return nil, err
	}
	x.Mask = !isSOPS && s.Getenv("GITHUB_ACTIONS") == "true"
	if o.Output == "" {
		x.Data = []byte(buf.String())
		return x, nil
	}
	if err := WriteExport(o.Output, []byte(buf.String()), o.Force); err != nil {
		return nil, err
	}
	return x, nil
}

// WriteExport writes an export to a new file, 0600. With force an existing
// regular file is replaced atomically by a new 0600 file: never truncated
// and rewritten in place, so a 0644 file does not keep its mode, a hard
// link's other names keep their content and a reader holding the old file
// open never sees the new one. A symlink, a FIFO (whose reader would get
// the plaintext) or a device is refused, with or without force.
func WriteExport(path string, data []byte, force bool) error {
	var err error
	if force {
		err = store.WriteFileAtomic(path, data)
	} else {
		err = store.CreateFileExclusive(path, data, 0o600)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return hint.With(fmt.Errorf("%s already exists", path), "pass --force to replace it")
	case errors.Is(err, store.ErrUnsafe):
		return hint.With(err, "write to a new regular file, or to stdout")
	}
	return err
}

// sopsReadersOfParents refuses a SOPS file of x.Env holding values
// inherited from a parent that some of x.Env's recipients cannot read: the
// file would give them the parent's values, which hush itself refuses them
// (a read of x.Env needs the parent).
func sopsReadersOfParents(cfg *store.Config, x *Export) error {
	ec, err := cfg.Env(x.Env)
	if err != nil {
		return err
	}
	for _, parent := range x.Inherited {
		pc, err := cfg.Env(parent)
		if err != nil {
			return err
		}
		if blind := missing(ec.Recipients, pc.Recipients); len(blind) > 0 {
			return hint.With(fmt.Errorf("a SOPS file of %s would hold values it inherits from %s, encrypted to %s, who cannot read %s", x.Env, parent, strings.Join(blind, ", "), parent),
				"export only %s's own keys (--only), or make them members of %s first", x.Env, parent)
		}
	}
	return nil
}

func exportMatch(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// renderSOPS encrypts x's secrets as a SOPS file to the environment's
// recipients, honouring recipient pinning as every write to the team
// store does.
func (s *Session) renderSOPS(x *Export, o ExportOptions) ([]byte, error) {
	sopsType := o.SOPSType
	if sopsType == "" {
		sopsType = "yaml"
	}
	format, err := sopsfile.ParseFormat(sopsType)
	if err != nil || format == sopsfile.INI {
		return nil, Usagef("--sops-type %q: hush writes SOPS files as yaml, json or dotenv", sopsType)
	}
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	if pe, err := p.PinDiff(x.Env); err != nil {
		return nil, err
	} else if pe != nil {
		return nil, pe
	}
	ec, err := p.Config.Env(x.Env)
	if err != nil {
		return nil, err
	}
	if err := sopsReadersOfParents(p.Config, x); err != nil {
		return nil, err
	}
	var rcpts []sopsfile.Recipient
	for _, r := range ec.Recipients {
		if crypt.IsKMS(r.Key) {
			// A key service member reads the team store, not this file:
			// SOPS's own Vault/KMS support would take the address from
			// the file, which hush does not write for it.
			s.Report.Warnf("%s (%s) is a key service: the SOPS file is encrypted to the age members only", r.Label, r.Key)
			continue
		}
		rcpts = append(rcpts, sopsfile.Recipient{Key: r.Key, Label: r.Label})
		if strings.HasPrefix(r.Key, "ssh-") {
			x.SSHRecipients = append(x.SSHRecipients, r.Label)
		}
	}
	in := make([]sopsfile.Secret, len(x.Secrets))
	for i, sec := range x.Secrets {
		in[i] = sopsfile.Secret{Name: sec.Name, Value: store.Value(sec.Value.Reveal())}
	}
	if o.SOPS == nil {
		return nil, errors.New("no SOPS helper")
	}
	h, err := o.SOPS()
	if err != nil {
		return nil, err
	}
	return h.Encrypt(in, format, rcpts, s.Now())
}
