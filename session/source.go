package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/sopsfile"
)

// This file reads the files hush import, migrate and diff take in: a
// plain dotenv, JSON or YAML file, or a SOPS file decrypted in memory.

// MaxImportFile bounds what import, diff and migrate read.
const MaxImportFile = 64 << 20

// Source says which file to read and how.
type Source struct {
	// Path is the file; "-" is Stdin.
	Path  string
	Stdin io.Reader
	// Format is --format: dotenv, json or yaml ("" from the name).
	Format string
	// Follow reads a file the safe rules refuse (OpenSource).
	Follow bool
	// SOPS finds hush-sops, which decrypts a SOPS file; nil refuses one.
	SOPS func() (*sopsfile.Helper, error)
}

// ReadSource reads a file for import, diff or migrate: a SOPS file
// (recognised by its sops metadata, whatever its name) is decrypted with
// the user's identity, in memory; any other file is parsed as dotenv, JSON
// or YAML by --format or its name. Errors name the file and never a value.
func (s *Session) ReadSource(src Source) (*inject.Imported, error) {
	r := src.Stdin
	if src.Path != "-" {
		f, err := s.OpenSource(src.Path, src.Follow)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else if r == nil {
		r = bytes.NewReader(nil)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxImportFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxImportFile {
		return nil, fmt.Errorf("%w: %s is over %d MiB; nothing imported", store.ErrInvalid, src.Path, MaxImportFile>>20)
	}
	if imp, err := s.readSOPS(src, data); imp != nil || err != nil {
		return imp, err
	}
	format, err := ImportFormat(src.Path, src.Format)
	if err != nil {
		return nil, err
	}
	imp, err := inject.Import(bytes.NewReader(data), format)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v; nothing imported", store.ErrInvalid, src.Path, err)
	}
	return imp, nil
}

// ImportFormat picks a plain file's format from --format or its name.
func ImportFormat(path, flag string) (inject.Format, error) {
	if flag != "" {
		f, err := inject.ParseFormat(flag)
		if err != nil || (f != inject.FormatDotenv && f != inject.FormatJSON && f != inject.FormatYAML) {
			return "", Usagef("--format %q: import reads dotenv, json or yaml", flag)
		}
		return f, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return inject.FormatJSON, nil
	case ".yaml", ".yml":
		return inject.FormatYAML, nil
	}
	return inject.FormatDotenv, nil
}

// OpenSource opens a file to import. The project and its git work tree are
// the repository's, and a commit can make .env a symlink to
// ~/.git-credentials: such a link (or a directory link on the way) must
// lead to a file inside them, and the file must be a regular file, unless
// follow. Links outside the project are the user's and followed.
func (s *Session) OpenSource(path string, follow bool) (*os.File, error) {
	if follow {
		return os.Open(path)
	}
	src, err := store.ResolveSource(path, SourceRoots(s.Opened()))
	if err == nil {
		var f *os.File
		if f, err = src.Open(); err == nil {
			return f, nil
		}
	}
	if errors.Is(err, store.ErrOutside) {
		return nil, hint.With(fmt.Errorf("%w; nothing imported", err),
			"check what the repository put there (ls -l %s); if you mean it, pass --follow", safe.ShellWord(path))
	}
	return nil, err
}

// SourceRoots are the directories whose content the repository controls:
// the project and the git work tree around it.
func SourceRoots(p *store.Project) []string {
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
func (s *Session) readSOPS(src Source, data []byte) (*inject.Imported, error) {
	guess := sopsfile.FormatForPath(src.Path)
	if src.Format != "" {
		guess, _ = sopsfile.ParseFormat(src.Format)
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
	if o := s.Getenv("SOPS_DECRYPTION_ORDER"); o != "" {
		keys.DecryptionOrder = strings.Split(o, ",")
	}
	if src.SOPS == nil {
		return nil, fmt.Errorf("%s is a SOPS file, which this command does not read; nothing imported", src.Path)
	}
	h, err := src.SOPS()
	if err != nil {
		return nil, err
	}
	// The file carries SOPS metadata: it is read as SOPS or not at all. A
	// damaged one is never parsed again as plain text (see sopsfile).
	file, err := h.Decrypt(data, formats, keys)
	if err != nil {
		err = fmt.Errorf("%s (SOPS %s): %w; nothing imported", src.Path, formats[0], err)
		if errors.Is(err, store.ErrIntegrity) {
			err = hint.With(err, "%s carries SOPS metadata, so hush reads it only as a SOPS file; `sops decrypt %s` gives sops' own verdict", src.Path, src.Path)
		}
		return nil, err
	}
	s.Report.Infof("%s is a SOPS %s file: %d values decrypted, MAC verified", src.Path, file.Format, len(file.Entries))
	if len(file.Plaintext) > 0 {
		s.Report.Warnf("%s stored %s unencrypted (anyone with the file can read them)", src.Path, strings.Join(file.Plaintext, ", "))
		if file.MACOnlyEncrypted {
			s.Report.Warnf("%s uses mac_only_encrypted: those unencrypted values are not authenticated and could have been changed", src.Path)
		}
	}
	imp := &inject.Imported{}
	for _, e := range file.Entries {
		imp.Secrets = append(imp.Secrets, inject.Secret{Name: e.Name, Value: inject.NewValue(e.Value.Reveal())})
	}
	return imp, nil
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
