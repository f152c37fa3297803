// Package awskms wraps and unwraps a store's file key with an AWS KMS key,
// under an encryption context naming the project and the environment
// (crypt.KeyContext.Map), so a wrapped key copied into another environment
// or project does not decrypt there. It links the AWS SDK, so it is for the
// companion hush-cloud only: hush itself asks the companion (the "kms"
// operation of the hush-cloud protocol) and never imports this package.
//
// Credentials and region come from the AWS default chain of the
// companion's environment (AWS_PROFILE, AWS_REGION, the instance role…);
// AWS_ENDPOINT_URL overrides the endpoint. The key named by the recipient
// (aws-kms:KEY: a key id, an alias/NAME or an ARN) is the only thing the
// repository decides.
package awskms

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/hush-secrets/hush/crypt"
)

// Client is a KMS client.
type Client struct{ kms *kms.Client }

var _ crypt.KeyService = (*Client)(nil)

// New loads the default configuration (AWS_ENDPOINT_URL honoured).
func New(ctx context.Context, opts ...func(*config.LoadOptions) error) (*Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: aws: %v", crypt.ErrKeyService, err)
	}
	return &Client{kms: kms.NewFromConfig(cfg)}, nil
}

// Wrap is KMS Encrypt of fileKey under keyID with the encryption context.
func (c *Client) Wrap(ctx context.Context, keyID string, kctx crypt.KeyContext, fileKey []byte) ([]byte, error) {
	out, err := c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: fileKey, EncryptionContext: kctx.Map()})
	if err != nil {
		return nil, classify("encrypt", keyID, err)
	}
	return out.CiphertextBlob, nil
}

// Unwrap is KMS Decrypt of blob, with the key named (a blob made under
// another key is refused, not decrypted under it) and the context the
// reader computed. A blob of another context or key wraps
// age.ErrIncorrectIdentity.
func (c *Client) Unwrap(ctx context.Context, keyID string, kctx crypt.KeyContext, blob []byte) ([]byte, error) {
	out, err := c.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(keyID), CiphertextBlob: blob, EncryptionContext: kctx.Map()})
	if err != nil {
		return nil, classify("decrypt", keyID, err)
	}
	return out.Plaintext, nil
}

// CheckKey refuses a key hush cannot use: not a symmetric
// encrypt/decrypt key, or not enabled.
func (c *Client) CheckKey(ctx context.Context, keyID string) error {
	out, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return classify("describe", keyID, err)
	}
	m := out.KeyMetadata
	if m.KeyUsage != types.KeyUsageTypeEncryptDecrypt || m.KeySpec != types.KeySpecSymmetricDefault {
		return fmt.Errorf("aws kms key %s is not a symmetric encrypt/decrypt key (%s, %s)", keyID, m.KeySpec, m.KeyUsage)
	}
	if m.KeyState != types.KeyStateEnabled {
		return fmt.Errorf("%w: aws kms key %s is %s", crypt.ErrKeyService, keyID, m.KeyState)
	}
	return nil
}

// classify: a ciphertext that is not this key's under this context is
// ErrIncorrectIdentity; a refusal or an unreachable service ErrKeyService.
func classify(op, keyID string, err error) error {
	var ic *types.InvalidCiphertextException
	var ik *types.IncorrectKeyException
	if errors.As(err, &ic) || errors.As(err, &ik) {
		return fmt.Errorf("%w: aws kms %s with %s: the ciphertext is not this key's under this context", age.ErrIncorrectIdentity, op, keyID)
	}
	var nf *types.NotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("aws kms %s: key %s not found", op, keyID)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%w: aws kms %s with %s: %s: %s", crypt.ErrKeyService, op, keyID, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("%w: aws kms %s with %s: %v", crypt.ErrKeyService, op, keyID, err)
}

// Driver is the companion's aws-kms key service: one client, made from
// the default configuration at the first request.
type Driver struct {
	mu  sync.Mutex
	c   *Client
	err error
}

func (d *Driver) client(ctx context.Context) (*Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil && d.err == nil {
		d.c, d.err = New(ctx)
	}
	return d.c, d.err
}

// Wrap implements crypt.KeyService.
func (d *Driver) Wrap(ctx context.Context, keyID string, kctx crypt.KeyContext, fileKey []byte) ([]byte, error) {
	c, err := d.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Wrap(ctx, keyID, kctx, fileKey)
}

// Unwrap implements crypt.KeyService.
func (d *Driver) Unwrap(ctx context.Context, keyID string, kctx crypt.KeyContext, blob []byte) ([]byte, error) {
	c, err := d.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Unwrap(ctx, keyID, kctx, blob)
}

// Check refuses a key hush cannot use (CheckKey).
func (d *Driver) Check(ctx context.Context, keyID string) error {
	c, err := d.client(ctx)
	if err != nil {
		return err
	}
	return c.CheckKey(ctx, keyID)
}
