package main

import (
	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
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

// sopsHelper finds hush-sops, which holds the sops library (see package
// sopsfile for why it is a separate executable).
func (s *ui) sopsHelper() (*sopsfile.Helper, error) {
	path, err := sopsfile.FindHelper()
	if err != nil {
		return nil, hint.With(err, "SOPS files are read and written by %s, installed next to hush by ./install.sh (or: go install ./cmd/%s)", sopsfile.HelperName, sopsfile.HelperName)
	}
	return &sopsfile.Helper{Path: path, Env: s.env.Environ(), Stderr: linesWriter{s.env.Stderr}}, nil
}
