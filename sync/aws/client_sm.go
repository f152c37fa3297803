package aws

// Helpers of the Secrets Manager backend (secretsmanager.go): the SDK
// client from the default chain, and what an SDK error means for sync.
// Named sm* so they sit beside the SSM backend's own in one package.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

const (
	// smMaxAttempts bounds the tries of one call against throttling,
	// server errors and a dropped connection (the first try included).
	smMaxAttempts = 5
	// smMaxBackoff caps the (jittered, exponential) wait between tries, so
	// a remote that keeps failing is given up on in well under a minute.
	smMaxBackoff = 4 * time.Second
	// smTryTimeout and smDialTimeout bound one try, and its connect.
	smTryTimeout  = 30 * time.Second
	smDialTimeout = 5 * time.Second
)

// smClient is a Secrets Manager client from the default chain: the
// credentials of the environment, shared files, SSO, web identity or the
// instance role, and the region of AWS_REGION or the profile unless
// region is given. The endpoint is AWS_ENDPOINT_URL_SECRETS_MANAGER or
// AWS_ENDPOINT_URL (the SDK reads both) unless endpoint is given. wrap,
// when set, wraps the HTTP transport (tests put faults there); attempts
// 0 means smMaxAttempts; creds, when set, replaces the chain (tests).
func smClient(ctx context.Context, region, endpoint string, wrap func(http.RoundTripper) http.RoundTripper, attempts int, creds aws.CredentialsProvider) (*secretsmanager.Client, string, error) {
	if attempts <= 0 {
		attempts = smMaxAttempts
	}
	opts := []func(*config.LoadOptions) error{
		// A bound on each try, so a black-holed endpoint fails in
		// seconds, not after the kernel's connect timeout five times.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(smTryTimeout).WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = smDialTimeout
		})),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = smMaxBackoff
				// The bound is the attempts; no client-wide retry quota
				// that would fail a later call without trying it.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if creds != nil {
		opts = append(opts, config.WithCredentialsProvider(creds))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("awssm: the AWS configuration: %w", err)
	}
	if wrap != nil {
		// Around the client the chain built (AWS_CA_BUNDLE and all).
		cfg.HTTPClient = smWrapped{wrap(smDoer{cfg.HTTPClient})}
	}
	if cfg.Region == "" {
		return nil, "", fmt.Errorf("%w: awssm: no AWS region (set region in the awssm settings, AWS_REGION, or a profile's region)", store.ErrInvalid)
	}
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return c, cfg.Region, nil
}

// smWrapped is an SDK HTTP client that is a (wrapped) RoundTripper.
type smWrapped struct{ rt http.RoundTripper }

func (w smWrapped) Do(r *http.Request) (*http.Response, error) { return w.rt.RoundTrip(r) }

// smDoer is the SDK's HTTP client as a RoundTripper.
type smDoer struct {
	c interface {
		Do(*http.Request) (*http.Response, error)
	}
}

func (d smDoer) RoundTrip(r *http.Request) (*http.Response, error) { return d.c.Do(r) }

// smCode is the AWS error code of err, "" when err is not an answer of
// the service (a transport error, missing credentials, a cancelled
// context).
func smCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// smDenied are the codes of a refused principal, signature or key.
var smDenied = map[string]bool{
	"AccessDeniedException": true, "AccessDenied": true, "UnrecognizedClientException": true,
	"InvalidSignatureException": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	"ExpiredTokenException": true, "ExpiredToken": true, "InvalidClientTokenId": true,
	"MissingAuthenticationToken": true, "MissingAuthenticationTokenException": true,
	"NotAuthorized": true, "UnauthorizedOperation": true,
	// KMS refused to decrypt (or encrypt) the secret for this caller.
	"DecryptionFailure": true, "EncryptionFailure": true, "KMSAccessDeniedException": true,
}

// smUnavailable are the codes of a service that could not answer: the
// SDK has retried them smMaxAttempts times already.
var smUnavailable = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "InternalServiceError": true, "InternalFailure": true,
	"ServiceUnavailable": true, "ServiceUnavailableException": true, "RequestTimeout": true,
	"RequestTimeoutException": true,
}

// smError turns an SDK error of op on the secret name into sync's kinds:
// ErrDenied for a refused principal, ErrUnavailable for an unreachable,
// throttling or failing service (after the retries) and for credentials
// the chain could not find; any other answer as it is, with its code. It
// never carries a value: the SDK's messages hold the secret's name or ARN
// and the endpoint, not what was sent.
func smError(op, name string, err error) error {
	code := smCode(err)
	var re *awshttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("awssm: %s %s: %w", op, name, err)
	case smDenied[code] || code == "" && (status == http.StatusForbidden || status == http.StatusUnauthorized):
		// (A 403 whose body is not the service's JSON, as from a proxy or
		// moto's signature check, is a refusal too.)
		return fmt.Errorf("awssm: %s %s: %w: %s", op, name, hushsync.ErrDenied, smMessage(err))
	case smUnavailable[code] || status >= 500:
		return fmt.Errorf("awssm: %s %s: %w after %d attempts: %s", op, name, hushsync.ErrUnavailable, smMaxAttempts, smMessage(err))
	case code == "":
		hint := ""
		if strings.Contains(err.Error(), "credentials") {
			hint = " (no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
		}
		return fmt.Errorf("awssm: %s %s: %w: %v%s", op, name, hushsync.ErrUnavailable, err, hint)
	}
	return fmt.Errorf("awssm: %s %s: %s", op, name, smMessage(err))
}

// smMessage is an API error's code and message.
func smMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return ae.ErrorCode() + ": " + m
		}
		return ae.ErrorCode()
	}
	return err.Error()
}
