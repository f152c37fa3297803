package sopslib

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/kms"
	"github.com/getsops/sops/v3/version"
	"google.golang.org/grpc"

	"github.com/hush-secrets/hush/store"
)

// sopsSources are the key services tried after the in-memory identities:
// sops' own, reading its environment, files and cloud credentials as the
// sops binary does. Tests that feed hostile files replace it.
var sopsSources = func() []keyservice.KeyServiceClient {
	return []keyservice.KeyServiceClient{keyservice.NewLocalClient()}
}

// Decrypt decrypts a SOPS file of format f (see Detect) and flattens it.
// Every value is decrypted and the MAC verified before anything is
// returned: a tampered file yields an error wrapping store.ErrIntegrity, a
// file no available key opens one wrapping store.ErrNoIdentity. Errors
// never contain a value.
func Decrypt(data []byte, f Format, keys Keys) (*File, error) {
	quiet()
	st := storeFor(f)
	tree, err := load(st, data)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(tree.Metadata); err != nil {
		return nil, err
	}
	out := &File{Format: f, MACOnlyEncrypted: tree.Metadata.MACOnlyEncrypted}
	for _, g := range tree.Metadata.KeyGroups {
		for _, k := range g {
			if k.TypeToIdentifier() == sopsage.KeyTypeIdentifier {
				out.Recipients = append(out.Recipients, k.ToString())
			}
		}
	}
	if len(tree.Branches) != 1 {
		return nil, fmt.Errorf("%w: the file holds %d documents; hush reads one", store.ErrInvalid, len(tree.Branches))
	}
	// Which leaves the file stores in plaintext is seen before decryption:
	// an encrypted leaf is an ENC[…] string.
	plain := map[string]bool{}
	if err := walk(tree.Branches[0], nil, func(p path, v any) error {
		// sops leaves empty strings as they are: nothing to hide.
		if s, ok := v.(string); !ok || s != "" && !strings.HasPrefix(s, "ENC[") {
			plain[p.String()] = true
		}
		return nil
	}); err != nil {
		return nil, err
	}

	svc := &identityService{keys: keys}
	order := keys.DecryptionOrder
	if len(order) == 0 {
		order = sops.DefaultDecryptionOrder
	}
	dataKey, err := tree.Metadata.GetDataKeyWithKeyServices(append([]keyservice.KeyServiceClient{svc}, sopsSources()...), order)
	if err != nil {
		if svc.damaged {
			return nil, fmt.Errorf("%w: the data key addressed to your identity does not decrypt (the file was changed or damaged)", store.ErrIntegrity)
		}
		return nil, fmt.Errorf("%w: no key available here opens the file (age recipients: %s); sops' other key sources were tried too",
			store.ErrNoIdentity, orNone(out.Recipients))
	}
	cipher := &valueCipher{Cipher: aes.NewCipher()}
	computed, err := tree.Decrypt(dataKey, cipher)
	if cipher.refused {
		return nil, fmt.Errorf("%w: %v", store.ErrIntegrity, errBytesType)
	}
	if err != nil {
		// aes-gcm refused a value or a comment, or its type does not
		// parse: changed after encryption.
		return nil, fmt.Errorf("%w: a value does not decrypt (the file was changed after it was encrypted)", store.ErrIntegrity)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != computed {
		return nil, fmt.Errorf("%w: MAC mismatch (the file was changed after it was encrypted)", store.ErrIntegrity)
	}
	entries, err := flatten(tree.Branches[0], f, st)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if plain[e.Path] {
			out.Plaintext = append(out.Plaintext, e.Name)
		}
	}
	out.Entries = entries
	return out, nil
}

// load parses an encrypted file without decrypting it. sops' stores are
// not written for hostile input, so a panic is an error here.
func load(st sops.Store, data []byte) (tree sops.Tree, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: not a readable SOPS %s file", store.ErrIntegrity, st.Name())
		}
	}()
	tree, err = st.LoadEncryptedFile(data)
	if err != nil {
		// Parser messages can quote the file, and an unencrypted value
		// with it: keep only the gist.
		return sops.Tree{}, fmt.Errorf("%w: not a readable SOPS %s file (%s)", store.ErrIntegrity, st.Name(), loadErrorKind(err))
	}
	return tree, nil
}

func loadErrorKind(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "metadata not found"):
		return "no sops metadata"
	case strings.Contains(msg, "Duplicate value"), strings.Contains(msg, "duplicate"):
		return "an entry of its metadata is repeated"
	case strings.Contains(msg, "more than one of"):
		return "conflicting encryption rules in its metadata"
	case strings.Contains(msg, "lastmodified"), strings.Contains(msg, "parsing time"):
		return "bad lastmodified in its metadata"
	case strings.Contains(msg, "invalid dotenv input line"):
		return "a line is not NAME=value"
	case strings.Contains(msg, "not a mapping"):
		return "its sops metadata is not a mapping"
	}
	return "it does not parse"
}

// checkVersion does what sops decrypt does with the version in the
// metadata before it decrypts anything (common.LoadEncryptedFileWithBugFixes):
// one that does not parse is refused, and a file of a sops older than 3.3.0
// with AWS KMS encryption contexts is one sops would rewrite to read.
func checkVersion(md sops.Metadata) error {
	older, err := version.AIsNewerThanB(kmsContextFixed, md.Version)
	if err != nil {
		return fmt.Errorf("%w: not a readable SOPS file (bad version in its metadata)", store.ErrIntegrity)
	}
	if !older {
		return nil
	}
	for _, g := range md.KeyGroups {
		for _, k := range g {
			if mk, ok := k.(*kms.MasterKey); ok && len(mk.EncryptionContext) >= 2 {
				return fmt.Errorf("%w: the file was written by sops %s with AWS KMS encryption contexts, which sops before %s wrote wrongly; open and save it once with a current sops", store.ErrInvalid, truncate(md.Version), kmsContextFixed)
			}
		}
	}
	return nil
}

// kmsContextFixed is sops' KMS_ENC_CTX_BUG_FIXED_VERSION.
const kmsContextFixed = "3.3.0"

// errBytesType is a value marked type:bytes. sops' cipher decrypts one into
// a []byte and then uses it as a map key, which panics: sops decrypt itself
// crashes on such a file, and no sops store writes one (every format holds
// text; sops' binary format keeps the blob as a string). The type is not
// authenticated, so it is a sign of a changed file.
var errBytesType = errors.New("a value is marked type:bytes, which sops writes for no format and cannot decrypt (the file was changed after it was encrypted)")

// encryptedValue is sops' own pattern for an encrypted value (aes.encre),
// so the type read here is the type sops' cipher would read.
var encryptedValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// valueCipher is sops' AES cipher that refuses, before decrypting, the
// value types it cannot take (errBytesType), so that no value of a file,
// however changed, makes sops panic.
// (sops' tree walker keeps only the text of the error, so refused says it.)
type valueCipher struct {
	sops.Cipher
	refused bool
}

func (c *valueCipher) Decrypt(ciphertext string, key []byte, additionalData string) (any, error) {
	if m := encryptedValue.FindStringSubmatch(ciphertext); m != nil && m[4] == "bytes" {
		c.refused = true
		return nil, errBytesType
	}
	return c.Cipher.Decrypt(ciphertext, key, additionalData)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// errNotMine makes sops go on to its next key service.
var errNotMine = errors.New("not a key hush holds")

// identityService is a sops key service that decrypts age data keys with
// identities held in memory. sops asks it first and its own local service
// after, so the user's identity never has to be put where sops looks for
// keys (SOPS_AGE_KEY, a key file), and every other key source still works.
type identityService struct {
	keys    Keys
	damaged bool
}

func (s *identityService) Decrypt(_ context.Context, req *keyservice.DecryptRequest, _ ...grpc.CallOption) (*keyservice.DecryptResponse, error) {
	ak := req.GetKey().GetAgeKey()
	if ak == nil || len(s.keys.Identities) == 0 {
		return nil, errNotMine
	}
	mk := &sopsage.MasterKey{Recipient: ak.GetRecipient(), EncryptedKey: string(req.GetCiphertext())}
	sopsage.ParsedIdentities(s.keys.Identities).ApplyToMasterKey(mk)
	plain, err := mk.Decrypt()
	if err != nil {
		for _, own := range s.keys.Own {
			if sameRecipient(own, ak.GetRecipient()) {
				s.damaged = true
			}
		}
		return nil, errNotMine
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func (s *identityService) Encrypt(context.Context, *keyservice.EncryptRequest, ...grpc.CallOption) (*keyservice.EncryptResponse, error) {
	return nil, errNotMine
}

// sameRecipient compares recipients ignoring an SSH key's comment.
func sameRecipient(a, b string) bool {
	norm := func(s string) string {
		f := strings.Fields(s)
		if len(f) >= 2 && strings.HasPrefix(f[0], "ssh-") {
			return f[0] + " " + f[1]
		}
		return strings.TrimSpace(s)
	}
	return norm(a) == norm(b)
}
