package gcpsm

import (
	"context"
	"fmt"
	"hash/crc32"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hush-secrets/hush/sync"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) int64 { return int64(crc32.Checksum(b, castagnoli)) }

// insecureConn dials a loopback endpoint in plaintext. Google's transport
// drops authentication altogether on an insecure connection, so the
// application-default credentials are found here, by the same lookup the
// client uses, and their token is sent with each call.
func insecureConn(_ context.Context, host string) (*grpc.ClientConn, error) {
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}})
	if err != nil {
		return nil, fmt.Errorf("gcpsm: %w: %v (set up application-default credentials: gcloud auth application-default login, GOOGLE_APPLICATION_CREDENTIALS, or run on GCP)", sync.ErrDenied, err)
	}
	return grpc.NewClient(host, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(tokenCreds{creds}))
}

// tokenCreds sends the credentials' access token on a loopback connection.
type tokenCreds struct{ c *auth.Credentials }

func (t tokenCreds) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := t.c.Token(ctx)
	if err != nil {
		return nil, err
	}
	typ := tok.Type
	if typ == "" {
		typ = "Bearer"
	}
	return map[string]string{"authorization": typ + " " + tok.Value}, nil
}

// RequireTransportSecurity is false: insecureConn is only made for a
// loopback IP (see loopback).
func (tokenCreds) RequireTransportSecurity() bool { return false }
