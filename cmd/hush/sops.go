package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

// sopsCommands are the commands of the SOPS and migration issue; import and
// export read and write SOPS files through the helpers below.
func sopsCommands(env *Env) []*cli.Command {
	return []*cli.Command{diffCommand(env), migrateCommand(env)}
}

// maxImportFile bounds what import, diff and migrate read.
const maxImportFile = 64 << 20

// readImportFile reads FILE ("-": stdin) for import, diff and migrate: a
// SOPS file (recognised by its sops metadata, whatever its name) is
// decrypted with the user's identity, in memory; any other file is parsed
// as dotenv, JSON or YAML by --format or its name. Errors name the file and
// never a value.
//
// A symlink in the project that leads out of it, a FIFO or a device is
// refused unless follow (--follow): see openSource.
func readImportFile(s *ui, path, formatFlag string, follow bool) (*inject.Imported, error) {
	var r io.Reader = s.env.Stdin
	if path != "-" {
		f, _, err := openSource(s, path, follow)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportFile {
		return nil, fmt.Errorf("%w: %s is over %d MiB; nothing imported", store.ErrInvalid, path, maxImportFile>>20)
	}
	if imp, err := readSOPS(s, path, data, formatFlag); imp != nil || err != nil {
		return imp, err
	}
	format, err := importFormat(path, formatFlag)
	if err != nil {
		return nil, err
	}
	imp, err := inject.Import(bytes.NewReader(data), format)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v; nothing imported", store.ErrInvalid, path, err)
	}
	return imp, nil
}

// followFlag lets import, migrate and diff read a file the safe rules
// refuse.
var followFlag = &cli.BoolFlag{Name: "follow", Usage: "read FILE even if it is a symlink in the project leading out of it, a FIFO or a device"}

// openSource opens a file to import. The project and its git work tree are
// the repository's, and a commit can make .env a symlink to
// ~/.git-credentials: such a link (or a directory link on the way) must
// lead to a file inside them, and the file must be a regular file, unless
// follow. Links outside the project are the user's and followed.
func openSource(s *ui, path string, follow bool) (*os.File, *store.Source, error) {
	if follow {
		f, err := os.Open(path)
		return f, nil, err
	}
	src, err := store.ResolveSource(path, sourceRoots(s.Opened()))
	if err == nil {
		var f *os.File
		if f, err = src.Open(); err == nil {
			return f, src, nil
		}
	}
	if errors.Is(err, store.ErrOutside) {
		return nil, nil, hint.With(fmt.Errorf("%w; nothing imported", err),
			"check what the repository put there (ls -l %s); if you mean it, pass --follow", safe.ShellWord(path))
	}
	return nil, nil, err
}

// sourceRoots are the directories whose content the repository controls:
// the project and the git work tree around it.
func sourceRoots(p *store.Project) []string {
	if p == nil {
		return nil
	}
	roots := []string{p.Root}
	if top := git.Top(p.Root); top != "" {
		roots = append(roots, top)
	}
	return roots
}

// readSOPS returns nil, nil when data is not a SOPS file (sopsfile.Candidates:
// no SOPS metadata or ciphertext in it).
func readSOPS(s *ui, path string, data []byte, formatFlag string) (*inject.Imported, error) {
	guess := sopsfile.FormatForPath(path)
	if formatFlag != "" {
		guess, _ = sopsfile.ParseFormat(formatFlag)
	}
	formats := sopsfile.Candidates(data, guess)
	if len(formats) == 0 {
		return nil, nil
	}
	// Every command that reads a file needs the identity anyway, to read
	// or write the environment; sops' own key sources are tried after it.
	id, err := s.Identity()
	if err != nil {
		return nil, err
	}
	keys := sopsKeys(id)
	if o := s.env.Getenv("SOPS_DECRYPTION_ORDER"); o != "" {
		keys.DecryptionOrder = strings.Split(o, ",")
	}
	h, err := s.sopsHelper()
	if err != nil {
		return nil, err
	}
	// The file carries SOPS metadata: it is read as SOPS or not at all. A
	// damaged one is never parsed again as plain text (see sopsfile).
	file, err := h.Decrypt(data, formats, keys)
	if err != nil {
		err = fmt.Errorf("%s (SOPS %s): %w; nothing imported", path, formats[0], err)
		if errors.Is(err, store.ErrIntegrity) {
			err = hint.With(err, "%s carries SOPS metadata, so hush reads it only as a SOPS file; `sops decrypt %s` gives sops' own verdict", path, path)
		}
		return nil, err
	}
	s.infof("%s is a SOPS %s file: %d values decrypted, MAC verified", path, file.Format, len(file.Entries))
	if len(file.Plaintext) > 0 {
		s.warnf("%s stored %s unencrypted (anyone with the file can read them)", path, strings.Join(file.Plaintext, ", "))
		if file.MACOnlyEncrypted {
			s.warnf("%s uses mac_only_encrypted: those unencrypted values are not authenticated and could have been changed", path)
		}
	}
	imp := &inject.Imported{}
	for _, e := range file.Entries {
		imp.Secrets = append(imp.Secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Value.Reveal())})
	}
	return imp, nil
}

// sopsHelper finds hush-sops, which holds the sops library (see package
// sopsfile for why it is a separate executable).
func (s *ui) sopsHelper() (*sopsfile.Helper, error) {
	path, err := sopsfile.FindHelper()
	if err != nil {
		return nil, hint.With(err, "SOPS files are read and written by %s, installed next to hush by ./install.sh (or: go install ./cmd/%s)", sopsfile.HelperName, sopsfile.HelperName)
	}
	return &sopsfile.Helper{Path: path, Env: s.env.Environ(), Stderr: linesWriter{s.env.Stderr}}, nil
}

// sopsKeys lends the user's identity to sops: hush-sops asks hush to
// unwrap age stanzas with it, so the key itself never leaves this process
// (see sync/sopsfile), and is never put in SOPS_AGE_KEY or a key file.
func sopsKeys(id *crypt.Identity) sopsfile.Keys {
	if id == nil {
		return sopsfile.Keys{}
	}
	return sopsfile.Keys{Identities: []age.Identity{id.Identity}, Own: []string{id.Public}}
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
