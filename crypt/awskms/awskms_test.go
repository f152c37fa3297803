package awskms

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// Against a real moto_server's KMS: a file key round-trips under its
// context and key; another environment's context, another project's, or
// another key does not decrypt it; an asymmetric key is refused.
func TestWrapUnwrapMoto(t *testing.T) {
	m := vaulttest.StartMoto(t, 1<<20)
	ctx := context.Background()
	c, err := New(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(m.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(spec types.KeySpec, usage types.KeyUsageType) string {
		out, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.KeyMetadata.KeyId)
	}
	key := mk(types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	other := mk(types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	if err := c.CheckKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckKey(ctx, mk(types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)); err == nil {
		t.Fatal("a signing key accepted")
	}
	fk := bytes.Repeat([]byte{7}, 16)
	prod := crypt.KeyContext{Project: "p1", Env: "prod"}
	blob, err := c.Wrap(ctx, key, prod, fk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Unwrap(ctx, key, prod, blob)
	if err != nil || !bytes.Equal(got, fk) {
		t.Fatalf("unwrap: %x, %v", got, err)
	}
	for name, kc := range map[string]crypt.KeyContext{"env": {Project: "p1", Env: "staging"}, "project": {Project: "p2", Env: "prod"}} {
		if _, err := c.Unwrap(ctx, key, kc, blob); !errors.Is(err, age.ErrIncorrectIdentity) {
			t.Errorf("another %s's context: %v", name, err)
		}
	}
	// Another key named: AWS answers IncorrectKeyException (classified
	// ErrIncorrectIdentity); moto 5.2.1 answers AccessDeniedException. Either
	// way nothing is decrypted.
	if got, err := c.Unwrap(ctx, other, prod, blob); err == nil || got != nil {
		t.Errorf("another key: %x, %v", got, err)
	}
	if _, err := c.Wrap(ctx, "alias/none", prod, fk); err == nil {
		t.Error("a key that does not exist wrapped")
	}
	// Through crypt: an age file readable by the KMS alone.
	k := &crypt.KMS{Services: map[string]crypt.KeyService{crypt.KindAWSKMS: c}, Project: "p1"}
	r, err := k.Recipient("aws-kms:"+key, "prod")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := crypt.Encrypt([]byte("hello"), r)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := crypt.Decrypt(ct, crypt.KMSOnly(k, "kms").Identities("prod", []string{"aws-kms:" + key})...)
	if err != nil || string(pt) != "hello" {
		t.Fatalf("decrypt: %q %v", pt, err)
	}
}
