// Package sopslib is the half of hush's SOPS support that links the sops
// library: hush-sops (cmd/hush-sops) runs it, and package sopsfile, hush's
// half, talks to it. It decrypts and encrypts SOPS files exactly as the
// sops binary of the same version does; see package sopsfile for why the
// two halves are separate executables.
package sopslib

import (
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"

	"github.com/hush-secrets/hush/sync/sopsfile"
)

// The shared types, under their names in sopsfile.
type (
	Format    = sopsfile.Format
	Keys      = sopsfile.Keys
	File      = sopsfile.File
	Entry     = sopsfile.Entry
	Secret    = sopsfile.Secret
	Recipient = sopsfile.Recipient
)

// The formats.
const (
	YAML   = sopsfile.YAML
	JSON   = sopsfile.JSON
	Dotenv = sopsfile.Dotenv
	INI    = sopsfile.INI
)

func storeFor(f Format) sops.Store {
	c := config.NewStoresConfig()
	switch f {
	case JSON:
		return json.NewStore(&c.JSON)
	case Dotenv:
		return dotenv.NewStore(&c.Dotenv)
	case INI:
		return ini.NewStore(&c.INI)
	}
	return yaml.NewStore(&c.YAML)
}

// Detect reports whether data is a SOPS file sops can load, and in which
// format. hint (a Format, or "") is tried first; the others follow. Its
// values are not decrypted here.
func Detect(data []byte, hint Format) (Format, bool) {
	f, err := detect(data, sopsfile.Candidates(data, hint))
	return f, err == nil
}

// detect returns the first of formats sops loads data as, or the reason
// the first of them (the likeliest) does not load.
func detect(data []byte, formats []Format) (Format, error) {
	quiet()
	var first error
	for _, f := range formats {
		_, err := load(storeFor(f), data)
		if err == nil {
			return f, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return "", sopsfile.ErrNotSOPS
	}
	return "", first
}

// Lib answers hush-sops' requests (sopsfile.Impl).
type Lib struct{}

// Decrypt decrypts data as the first of formats sops loads it as. formats
// are sopsfile.Candidates: data carries SOPS metadata, so a file none of
// them loads is damaged (ErrIntegrity), not a plain file.
func (Lib) Decrypt(data []byte, formats []Format, keys Keys) (*File, error) {
	f, err := detect(data, formats)
	if err != nil {
		return nil, err
	}
	return Decrypt(data, f, keys)
}

// Encrypt is Encrypt.
func (Lib) Encrypt(secrets []Secret, f Format, recipients []Recipient, now time.Time) ([]byte, error) {
	return Encrypt(secrets, f, recipients, now)
}
