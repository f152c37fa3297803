package crypt

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
)

// fakeService is a key service in memory: "ciphertext" is the file key
// XORed with a MAC of key and context, tagged, so another context or key
// does not unwrap. It records every request.
type fakeService struct {
	calls []string
	fail  error
}

func (f *fakeService) pad(key string, kc KeyContext) []byte {
	kctx := kc.Bytes()
	m := hmac.New(sha256.New, []byte("test-only "+key))
	m.Write(kctx)
	return m.Sum(nil)
}

func (f *fakeService) Wrap(_ context.Context, key string, kctx KeyContext, fk []byte) ([]byte, error) {
	f.calls = append(f.calls, "wrap "+key)
	if f.fail != nil {
		return nil, f.fail
	}
	p := f.pad(key, kctx)
	out := make([]byte, len(fk))
	for i := range fk {
		out[i] = fk[i] ^ p[i]
	}
	return append(out, p[16:24]...), nil
}

func (f *fakeService) Unwrap(_ context.Context, key string, kctx KeyContext, ct []byte) ([]byte, error) {
	f.calls = append(f.calls, "unwrap "+key)
	if f.fail != nil {
		return nil, f.fail
	}
	p := f.pad(key, kctx)
	if len(ct) != 24 || !bytes.Equal(ct[16:], p[16:24]) {
		return nil, fmt.Errorf("%w: wrong key or context", age.ErrIncorrectIdentity)
	}
	out := make([]byte, 16)
	for i := range out {
		out[i] = ct[i] ^ p[i]
	}
	return out, nil
}

func testKMS(svc KeyService, project string, audited *[]string) *KMS {
	return &KMS{Services: map[string]KeyService{KindVaultTransit: svc}, Project: project,
		Audit: func(op, env, r string, err error) error {
			*audited = append(*audited, fmt.Sprintf("%s %s %s %v", op, env, r, err == nil))
			return nil
		}}
}

func TestKMSRoundTripAndContext(t *testing.T) {
	svc := &fakeService{}
	var audited []string
	k := testKMS(svc, "p1", &audited)
	r, err := k.Recipient("vault-transit:prod", "prod")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := Encrypt([]byte("hello"), r)
	if err != nil {
		t.Fatal(err)
	}
	// No age key: the key service alone reads it.
	id := KMSOnly(k, "kms")
	got, err := Decrypt(ct, id.Identities("prod", []string{"vault-transit:prod"})...)
	if err != nil || string(got) != "hello" {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	// Another environment's context, another project's: not decrypted.
	if _, err := Decrypt(ct, id.Identities("staging", []string{"vault-transit:prod"})...); !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "did not decrypt") {
		t.Fatalf("other env: %v", err)
	}
	other := KMSOnly(testKMS(svc, "p2", &audited), "kms")
	if _, err := Decrypt(ct, other.Identities("prod", []string{"vault-transit:prod"})...); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("other project: %v", err)
	}
	want := []string{"wrap prod vault-transit:prod true", "unwrap prod vault-transit:prod true", "unwrap staging vault-transit:prod false", "unwrap prod vault-transit:prod false"}
	if strings.Join(audited, "|") != strings.Join(want, "|") {
		t.Fatalf("audited %q, want %q", audited, want)
	}
}

// A stanza naming a key the reader did not accept is never sent to the
// service, and a file full of stanzas costs one request per accepted key.
func TestKMSHostileStanzas(t *testing.T) {
	svc := &fakeService{}
	var audited []string
	k := testKMS(svc, "p1", &audited)
	stanzas := []*age.Stanza{
		{Type: KMSStanza, Args: []string{KindVaultTransit, "planted"}, Body: bytes.Repeat([]byte{1}, 24)},
		{Type: KMSStanza, Args: []string{KindVaultTransit, "prod"}, Body: bytes.Repeat([]byte{2}, 24)},
		{Type: KMSStanza, Args: []string{KindVaultTransit, "prod"}, Body: bytes.Repeat([]byte{3}, 24)},
		{Type: KMSStanza, Args: []string{KindAWSKMS, "prod"}, Body: bytes.Repeat([]byte{4}, 24)},
		{Type: KMSStanza, Args: []string{KindVaultTransit}, Body: []byte{5}},
	}
	id := k.Identity("prod", []string{"vault-transit:prod", "age1notkms", "vault-transit:prod"})
	if _, err := id.Unwrap(stanzas); !errors.Is(err, age.ErrIncorrectIdentity) {
		t.Fatalf("unwrap: %v", err)
	}
	if strings.Join(svc.calls, ",") != "unwrap prod" {
		t.Fatalf("requests %q, want one unwrap of prod", svc.calls)
	}
	// Nothing accepted: nothing asked at all.
	if k.Identity("prod", []string{"age1x"}) != nil {
		t.Fatal("an identity with no accepted KMS key")
	}
}

// A service that refuses is the service's error (not a damaged file), and
// writing without access says which service to configure.
func TestKMSErrors(t *testing.T) {
	denied := errors.New("permission denied")
	svc := &fakeService{fail: denied}
	var audited []string
	k := testKMS(svc, "p1", &audited)
	r, _ := k.Recipient("vault-transit:prod", "prod")
	if _, err := Encrypt([]byte("x"), r); !errors.Is(err, denied) || errors.Is(err, ErrIntegrity) {
		t.Fatalf("wrap: %v", err)
	}
	ok := testKMS(&fakeService{}, "p1", &audited)
	r, _ = ok.Recipient("vault-transit:prod", "prod")
	ct, err := Encrypt([]byte("x"), r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decrypt(ct, KMSOnly(k, "kms").Identities("prod", []string{"vault-transit:prod"})...)
	if !errors.Is(err, denied) || errors.Is(err, ErrIntegrity) || errors.Is(err, ErrNoIdentity) {
		t.Fatalf("unwrap: %v", err)
	}
	var none *KMS
	if _, err := none.Recipient("vault-transit:prod", "prod"); !errors.Is(err, ErrKeyService) {
		t.Fatalf("no access: %v", err)
	}
	if _, err := (&KMS{Services: k.Services}).Recipient("vault-transit:prod", "prod"); !errors.Is(err, ErrKeyService) {
		t.Fatalf("no project id: %v", err)
	}
	long := "alias/" + strings.Repeat("k", maxKMSKey-len("alias/"))
	for _, bad := range []string{"vault-transit:", "vault-transit:a b", "vault-transit:../x", "vault-transit:a//b", "vault-transit:x/", "gcp-kms:x",
		"aws-kms:" + long + "k", "aws-kms:-x", "aws-kms:x\ny"} {
		if _, err := ParseRecipient(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for _, good := range []string{"aws-kms:" + long, "vault-transit:transit/prod", "aws-kms:arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"} {
		if _, err := ParseRecipient(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}
