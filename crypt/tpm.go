package crypt

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// A TPM-sealed identity: the X25519 secret key sealed to the TPM's storage
// root key (a keyed-hash object with fixedTPM and fixedParent, created
// under the owner hierarchy's ECC SRK, which the TPM re-derives from its
// seed), kept in a key file that opens only in the TPM that sealed it.
//
// What it protects against: the key file copied off the disk (a backup, a
// stolen disk, a sync folder) is useless elsewhere. What it does not: any
// process on the running machine that may open the TPM (root; the tss group
// for /dev/tpmrm0) can unseal it, as hush does, without a password, and
// the unsealed key lives in hush's memory while it runs.

// sealedPrefix starts the line of a sealed key file that holds the blob.
const sealedPrefix = "HUSH-TPM-SEALED-1:"

// DefaultTPM is the kernel's resource-managed TPM device.
const DefaultTPM = "/dev/tpmrm0"

// IsSealed says b is a TPM-sealed key file.
func IsSealed(b []byte) bool {
	return bytes.Contains(b, []byte("\n"+sealedPrefix)) || bytes.HasPrefix(b, []byte(sealedPrefix))
}

func srk(t transport.TPM) (*tpm2.CreatePrimaryResponse, func(), error) {
	p, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(t)
	if err != nil {
		return nil, nil, fmt.Errorf("TPM: create the storage key: %w", err)
	}
	flush := func() { _, _ = tpm2.FlushContext{FlushHandle: p.ObjectHandle}.Execute(t) }
	return p, flush, nil
}

// Seal seals id's secret key to the TPM and returns the key file's text
// (comments naming the public key, then the blob). The text holds no
// secret another machine can use.
func Seal(t transport.TPM, id *Identity, now time.Time) (string, error) {
	if id.secret == "" {
		return "", errors.New("only X25519 identities can be sealed")
	}
	p, flush, err := srk(t)
	if err != nil {
		return "", err
	}
	defer flush()
	tmpl := tpm2.TPMTPublic{
		Type: tpm2.TPMAlgKeyedHash, NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, UserWithAuth: true, NoDA: true},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash,
			&tpm2.TPMSKeyedHashParms{Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull}}),
	}
	cr, err := tpm2.Create{
		ParentHandle: tpm2.NamedHandle{Handle: p.ObjectHandle, Name: p.Name},
		InPublic:     tpm2.New2B(tmpl),
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: []byte(id.secret)})}},
	}.Execute(t)
	if err != nil {
		return "", fmt.Errorf("TPM: seal: %w", err)
	}
	blob := base64.RawStdEncoding.EncodeToString(tpm2.Marshal(cr.OutPublic)) + ":" + base64.RawStdEncoding.EncodeToString(tpm2.Marshal(cr.OutPrivate))
	return fmt.Sprintf("# created: %s\n# public key: %s\n# sealed to this machine's TPM: it opens nowhere else\n%s%s\n",
		now.UTC().Format(time.RFC3339), id.Public, sealedPrefix, blob), nil
}

// Unseal opens a sealed key file's blob in the TPM and parses the
// identity. A blob from another TPM (or damaged) fails; errors never quote
// the file.
func Unseal(t transport.TPM, text []byte, source string) (*Identity, error) {
	var blob string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, sealedPrefix) {
			blob = strings.TrimPrefix(l, sealedPrefix)
			break
		}
	}
	pubS, privS, ok := strings.Cut(blob, ":")
	pubB, err1 := base64.RawStdEncoding.DecodeString(pubS)
	privB, err2 := base64.RawStdEncoding.DecodeString(privS)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: %s: not a TPM-sealed identity", ErrIntegrity, source)
	}
	pub, err1 := tpm2.Unmarshal[tpm2.TPM2BPublic](pubB)
	priv, err2 := tpm2.Unmarshal[tpm2.TPM2BPrivate](privB)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: %s: not a TPM-sealed identity", ErrIntegrity, source)
	}
	p, flush, err := srk(t)
	if err != nil {
		return nil, err
	}
	defer flush()
	ld, err := tpm2.Load{ParentHandle: tpm2.NamedHandle{Handle: p.ObjectHandle, Name: p.Name}, InPrivate: *priv, InPublic: *pub}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: this TPM cannot open it (sealed on another machine, or the TPM was cleared): %v", ErrNoIdentity, source, err)
	}
	defer func() { _, _ = tpm2.FlushContext{FlushHandle: ld.ObjectHandle}.Execute(t) }()
	us, err := tpm2.Unseal{ItemHandle: tpm2.NamedHandle{Handle: ld.ObjectHandle, Name: ld.Name}}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: unseal: %v", ErrNoIdentity, source, err)
	}
	id, err := ParseIdentity(us.OutData.Buffer, source)
	if err != nil {
		return nil, err
	}
	id.Source = "TPM-sealed " + source
	return id, nil
}
