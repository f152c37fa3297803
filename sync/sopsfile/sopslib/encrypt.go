package sopslib

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	gosync "sync"
	"time"
	"unicode/utf8"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/stores"
	"github.com/getsops/sops/v3/version"

	"github.com/hush-secrets/hush/store"
)

// Version is the version of sops this package is built with; files it
// writes say so in their metadata.
var Version = version.Version

// Encrypt writes secrets as a SOPS file of format f (YAML, JSON or dotenv)
// encrypted to recipients, as sops encrypt --age would: one top-level key
// per secret, under its name, every value encrypted, the data key sealed to
// each recipient, the MAC over all values. now is the lastmodified time.
// What sops could not give back exactly is refused naming the key, never
// the value.
func Encrypt(secrets []Secret, f Format, recipients []Recipient, now time.Time) ([]byte, error) {
	quiet()
	if f != YAML && f != JSON && f != Dotenv {
		return nil, fmt.Errorf("%w: hush writes SOPS files as yaml, json or dotenv, not %s", store.ErrInvalid, f)
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%w: no recipients to encrypt to", store.ErrInvalid)
	}
	if err := checkWritable(secrets, f); err != nil {
		return nil, err
	}
	var group sops.KeyGroup
	for _, r := range recipients {
		mk, err := sopsage.MasterKeyFromRecipient(r.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: recipient %s: sops cannot encrypt to this key type", store.ErrInvalid, r.Label)
		}
		group = append(group, mk)
	}
	branch := make(sops.TreeBranch, 0, len(secrets))
	for _, s := range secrets {
		branch = append(branch, sops.TreeItem{Key: s.Name, Value: s.Value.Reveal()})
	}
	tree := sops.Tree{
		Branches: sops.TreeBranches{branch},
		Metadata: sops.Metadata{
			KeyGroups: []sops.KeyGroup{group},
			// What sops encrypt writes by default. checkWritable refuses the
			// names it would leave unencrypted.
			UnencryptedSuffix: sops.DefaultUnencryptedSuffix,
			Version:           Version,
		},
	}
	dataKey := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, dataKey); err != nil {
		return nil, fmt.Errorf("sops: data key: %w", err)
	}
	for i, mk := range group {
		if err := mk.Encrypt(dataKey); err != nil {
			return nil, fmt.Errorf("sops: encrypt the data key to %s: %w", recipients[i].Label, err)
		}
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, fmt.Errorf("sops: encrypt: %w", errNoValue(err))
	}
	tree.Metadata.LastModified = now.UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("sops: encrypt the MAC: %w", err)
	}
	out, err := storeFor(f).EmitEncryptedFile(tree)
	if err != nil {
		return nil, fmt.Errorf("sops: write %s: %w", f, errNoValue(err))
	}
	return out, nil
}

// errNoValue drops an error's text, which for sops' tree walkers can
// include the value being encrypted.
func errNoValue(error) error { return fmt.Errorf("a value could not be encoded") }

// checkWritable refuses what a SOPS file of format f would not give back
// exactly, or would leave in plaintext.
func checkWritable(secrets []Secret, f Format) error {
	for _, s := range secrets {
		if err := store.ValidKeyName(s.Name); err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(s.Name, sops.DefaultUnencryptedSuffix):
			return fmt.Errorf("%w: %s: sops leaves keys ending in %s unencrypted; rename it to export it", store.ErrInvalid, s.Name, sops.DefaultUnencryptedSuffix)
		case f == Dotenv && strings.HasPrefix(s.Name, stores.SopsPrefix):
			return fmt.Errorf("%w: %s: sops reserves names starting with %s in dotenv files for its metadata; use --sops-type yaml or json", store.ErrInvalid, s.Name, stores.SopsPrefix)
		case f != Dotenv && s.Name == stores.SopsMetadataKey:
			return fmt.Errorf("%w: %s: sops reserves this top-level key for its metadata", store.ErrInvalid, s.Name)
		case f != Dotenv && !utf8.ValidString(s.Value.Reveal()):
			return fmt.Errorf("%w: %s: its value is not valid UTF-8, which %s cannot carry; use --sops-type dotenv", store.ErrInvalid, s.Name, f)
		case f == Dotenv && strings.Contains(s.Value.Reveal(), `\n`):
			return fmt.Errorf("%w: %s: its value holds a backslash followed by n, which sops' dotenv reads back as a newline; use --sops-type yaml or json", store.ErrInvalid, s.Name)
		}
	}
	return nil
}

var quietOnce gosync.Once

// quiet silences sops' loggers: they write to stderr on their own, and
// some of their fields (an undecryptable comment) can be file content.
func quiet() {
	quietOnce.Do(func() {
		for _, l := range logging.Loggers {
			l.SetOutput(io.Discard)
		}
	})
}
