// Package sopsfile reads and writes SOPS files (YAML, JSON, dotenv and INI)
// through the sops library itself, so a file hush reads or writes means
// exactly what it means to the sops binary of the same version.
//
// The sops library links the AWS, GCP, Azure and HuaweiCloud SDKs, gRPC and
// some 350 other packages whose initialisation would cost every hush
// command about 40 ms before main — three times what `hush get` costs in
// all. So the library lives in a companion executable, hush-sops (package
// sopslib, command cmd/hush-sops), installed next to hush, and this
// package is hush's side of it: the types, the format names, a cheap test
// for SOPS metadata, and Decrypt and Encrypt, which run hush-sops and talk
// to it over a pipe (see wire.go). Only commands that touch a SOPS file pay
// for sops.
//
// The user's identity never leaves the hush process: when sops needs an
// age data key unwrapped, hush-sops sends the stanzas back and hush
// unwraps them with the identity it holds, as an age plugin would. Every
// other key source sops supports (SOPS_AGE_KEY_FILE, PGP, cloud KMS, Vault
// transit) runs inside hush-sops, configured by the environment as for the
// sops binary. The MAC is always verified: a file changed after it was
// encrypted yields ErrIntegrity and no value.
//
// A SOPS file is a tree; hush holds flat names. The mapping (see
// sopslib/flatten.go) says how one becomes the other, and Encrypt writes
// hush's names back as a flat tree that maps to the same names, so hush →
// SOPS → hush is exact.
package sopsfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/hush-secrets/hush/store"
)

// Format is a SOPS file format.
type Format string

// The formats sops stores a tree in. (A file of sops' "binary" format is a
// JSON file whose one value, "data", holds the blob: it reads as JSON, and
// the blob is stored byte for byte under the name data.)
const (
	YAML   Format = "yaml"
	JSON   Format = "json"
	Dotenv Format = "dotenv"
	INI    Format = "ini"
)

// Formats lists every format, in the order detection tries them.
var Formats = []Format{YAML, JSON, Dotenv, INI}

// ParseFormat accepts yaml, yml, json, dotenv, env and ini.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "yaml", "yml":
		return YAML, nil
	case "json":
		return JSON, nil
	case "dotenv", "env":
		return Dotenv, nil
	case "ini":
		return INI, nil
	}
	return "", fmt.Errorf("%w SOPS format %q (want yaml, json, dotenv or ini)", store.ErrInvalid, s)
}

// FormatForPath guesses a format from a file name as sops does: by
// extension, with dotenv for .env and names like .env.local, and "" when
// the name says nothing.
func FormatForPath(path string) Format {
	base := strings.ToLower(filepath.Base(path))
	if f, err := ParseFormat(filepath.Ext(base)); err == nil {
		return f
	}
	if base == ".env" || strings.HasPrefix(base, ".env.") {
		return Dotenv
	}
	return ""
}

// Recognition. A file is a SOPS file when it carries SOPS metadata or SOPS
// ciphertext, in any format, whatever its name; hush then reads it only
// through sops, and a file sops cannot load, decrypt and verify is refused
// (ErrIntegrity), never read again as plain dotenv, JSON or YAML: a damaged
// SOPS file means nothing hush could store. The rule is deliberately
// wider than what sops loads, so that damage cannot turn a SOPS file into
// a plain one:
//
//   - YAML: a top-level sops key (a line starting with sops:, quoted or not);
//   - JSON: a top-level "sops" key, or, in a file that is not a JSON object
//     at all (cut off, damaged), any "sops" key;
//   - dotenv: a line whose key starts with sops_ (lower case, as sops' own
//     dotenv store decides what is metadata; leading blanks and export
//     count too), whatever follows it, in a file not named as another
//     format;
//   - INI: a [sops] section;
//   - any format: a value sops encrypted (ENC[AES256_GCM,…), even with
//     every line of metadata gone.
//
// A plain file that merely mentions sops (a key SOPS_AGE_KEY_FILE, a
// nested "sops" in a JSON object, the word in a value) is not one.
var markers = sync.OnceValue(func() map[Format]*regexp.Regexp {
	return map[Format]*regexp.Regexp{
		YAML:   regexp.MustCompile(`(?m)^["']?sops["']?[ \t]*:`),
		JSON:   regexp.MustCompile(`"sops"\s*:`),
		Dotenv: regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?sops_`),
		INI:    regexp.MustCompile(`(?m)^[ \t]*\[[ \t]*sops[ \t]*\][ \t]*\r?$`),
	}
})

// encrypted marks a value sops encrypted, in any format.
var encrypted = []byte("ENC[AES256_GCM,")

// Candidates returns the formats to load data as when it is a SOPS file
// (see Recognition above), and nil when it is not one. hint (a Format, or
// "": the file's name or --format) decides when its own marker is there:
// then it is the only candidate, as sops itself would read the file only
// in the format its name says. Otherwise the formats whose markers data
// carries, JSON first for what looks like JSON (JSON is YAML too); and a
// file whose only trace of sops is an encrypted value is a candidate in
// the hint's format, or every format. A file with candidates must load
// as one of them, or it is refused.
func Candidates(data []byte, hint Format) []Format {
	if hint != "" && matches(data, hint) {
		return []Format{hint}
	}
	order := make([]Format, 0, len(Formats)+1)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		order = append(order, JSON)
	}
	order = append(order, Formats...)
	var out []Format
	for _, f := range order {
		// sops_ keys are metadata only in dotenv: in a file named as YAML,
		// JSON or INI they are keys (its ENC[…] values still count).
		if f == Dotenv && hint != "" && hint != Dotenv {
			continue
		}
		if matches(data, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 && bytes.Contains(data, encrypted) {
		if hint != "" {
			return []Format{hint}
		}
		for _, f := range order {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// matches reports whether data carries format f's metadata marker.
func matches(data []byte, f Format) bool {
	m := markers()[f]
	if m == nil || !m.Match(data) {
		return false
	}
	if f == JSON {
		// A JSON object is SOPS only with a top-level "sops" key (or
		// encrypted values); one that does not parse is judged by the
		// marker alone.
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err == nil {
			_, ok := top["sops"]
			return ok || bytes.Contains(data, encrypted)
		}
	}
	return true
}

// Keys are the identities to try before sops' own key sources.
type Keys struct {
	// Identities are age identities held in memory (X25519, hybrid or SSH).
	Identities []age.Identity
	// Own are the public recipients of Identities (age1… or ssh-… lines).
	// When the file's data key is addressed to one of them and still does
	// not decrypt, the file is damaged: that is ErrIntegrity, not a missing
	// key.
	Own []string
	// DecryptionOrder is sops' --decryption-order (SOPS_DECRYPTION_ORDER):
	// the key types to try first. Empty means sops' default, age then PGP,
	// so a file with KMS and age keys opens with the age identity without
	// asking KMS.
	DecryptionOrder []string
}

// File is a decrypted SOPS file, flattened to names.
type File struct {
	Format  Format
	Entries []Entry
	// Plaintext names the entries the file held unencrypted (keys matching
	// its unencrypted_suffix or regexes): their values were readable by
	// anyone with the file.
	Plaintext []string
	// MACOnlyEncrypted says the MAC covers only the encrypted values, so
	// the Plaintext ones are not authenticated.
	MACOnlyEncrypted bool
	// Recipients lists the file's age recipients.
	Recipients []string
}

// Entry is one value of a SOPS file under its hush name.
type Entry struct {
	// Name is the environment name (see the mapping in sopslib/flatten.go).
	Name string
	// Path is where the value sits in the file, in the syntax of
	// sops decrypt --extract: ["db"]["password"], ["hosts"][0].
	Path  string
	Value store.Value
}

// Secret is a name and value to write.
type Secret struct {
	Name  string
	Value store.Value
}

// Recipient is an age recipient (age1…, or an ssh-ed25519/ssh-rsa public
// key, which sops 3.10 and later read) with the label hush knows it by.
type Recipient struct {
	Key   string
	Label string
}
