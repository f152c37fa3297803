package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

// sopsCommands are the commands of the SOPS and migration issue; import and
// export read and write SOPS files through the helpers below.
func sopsCommands(env *Env) []*cli.Command {
	return []*cli.Command{diffCommand(env), migrateCommand(env)}
}

// readImportFile reads FILE ("-": stdin) for diff: see session.ReadSource.
func readImportFile(s *ui, path, formatFlag string, follow bool) (*inject.Imported, error) {
	return s.ReadSource(session.Source{Path: path, Stdin: s.env.Stdin, Format: formatFlag, Follow: follow, SOPS: s.sopsHelper})
}

// followFlag lets import, migrate and diff read a file the safe rules
// refuse.
var followFlag = &cli.BoolFlag{Name: "follow", Usage: "read FILE even if it is a symlink in the project leading out of it, a FIFO or a device"}

// sourceRoots are the directories whose content the repository controls
// (session.SourceRoots), for hush run --env-file.
func sourceRoots(p *store.Project) []string { return session.SourceRoots(p) }

// sopsHelper finds hush-sops, which holds the sops library (see package
// sopsfile for why it is a separate executable).
func (s *ui) sopsHelper() (*sopsfile.Helper, error) {
	path, err := sopsfile.FindHelper()
	if err != nil {
		return nil, hint.With(err, "SOPS files are read and written by %s, installed next to hush by ./install.sh (or: go install ./cmd/%s)", sopsfile.HelperName, sopsfile.HelperName)
	}
	return &sopsfile.Helper{Path: path, Env: s.env.Environ(), Stderr: linesWriter{s.env.Stderr}}, nil
}

// renderSOPS encrypts secrets of envName as a SOPS file to the
// environment's recipients, honouring recipient pinning as every write
// to the team store does. personal names the secrets that come from the
// user's personal store, which the file would show to every recipient.
func renderSOPS(s *ui, p *store.Project, envName string, secrets []inject.Secret, personal []string, sopsType string) ([]byte, error) {
	if sopsType == "" {
		sopsType = "yaml"
	}
	format, err := sopsfile.ParseFormat(sopsType)
	if err != nil || format == sopsfile.INI {
		return nil, usagef("--sops-type %q: hush writes SOPS files as yaml, json or dotenv", sopsType)
	}
	if pe, err := p.PinDiff(envName); err != nil {
		return nil, err
	} else if pe != nil {
		return nil, pe
	}
	ec, err := p.Config.Env(envName)
	if err != nil {
		return nil, err
	}
	var rcpts []sopsfile.Recipient
	var ssh []string
	for _, r := range ec.Recipients {
		rcpts = append(rcpts, sopsfile.Recipient{Key: r.Key, Label: r.Label})
		if strings.HasPrefix(r.Key, "ssh-") {
			ssh = append(ssh, r.Label)
		}
	}
	if len(personal) > 0 {
		s.warnf("%s come from your personal store; the SOPS file shows them to every recipient of %s (use --only to leave them out)", strings.Join(personal, ", "), envName)
	}
	in := make([]sopsfile.Secret, len(secrets))
	for i, sec := range secrets {
		in[i] = sopsfile.Secret{Name: sec.Name, Value: store.Value(sec.Value.Reveal())}
	}
	h, err := s.sopsHelper()
	if err != nil {
		return nil, err
	}
	out, err := h.Encrypt(in, format, rcpts, s.env.Now())
	if err != nil {
		return nil, err
	}
	if len(ssh) > 0 {
		s.infof("note: %s are SSH recipients, which sops reads from version 3.10 on", strings.Join(ssh, ", "))
	}
	return out, nil
}
