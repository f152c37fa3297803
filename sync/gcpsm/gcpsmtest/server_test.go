package gcpsmtest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cloud.google.com/go/auth/credentials"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The fake is held here to what Google documents for Secret Manager (the
// API reference for each method, "Use entity tags for optimistic
// concurrency control", "Filter lists of secrets"), through Google's own
// client library over a real TCP connection.

type bearer struct{ tok string }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if b.tok == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + b.tok}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// client returns a client authenticated by the fake's key file through
// Google's auth library (the JWT-bearer grant against the fake's token
// endpoint), or with tok as given when auth is false.
func client(t *testing.T, s *Server, auth bool, tok string) *secretmanager.Client {
	t.Helper()
	if auth {
		p, err := s.CredentialsFile(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		creds, err := credentials.DetectDefault(&credentials.DetectOptions{CredentialsFile: p, Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := creds.Token(context.Background())
		if err != nil {
			t.Fatalf("token from the fake's endpoint: %v", err)
		}
		tok = got.Value
	}
	conn, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer{tok}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secretmanager.NewClient(context.Background(), option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var automatic = &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}

func code(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("got %v, want code %v", err, want)
	}
}

func TestAuthRequired(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	for _, tok := range []string{"", "ya29.made-up"} {
		_, err := client(t, s, false, tok).GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/a"})
		code(t, err, codes.Unauthenticated)
	}
	if s.Calls("GetSecret") != 0 {
		t.Fatal("an unauthenticated call reached the service")
	}
	// The token endpoint refuses an assertion not signed by the key.
	resp, err := http.PostForm(s.auth.url, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"e30.e30.AAAA"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged assertion: status %d", resp.StatusCode)
	}
	// With application-default credentials from the key file: accepted.
	_, err = client(t, s, true, "").GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/a"})
	code(t, err, codes.NotFound)
}

func TestCreateAndAdd(t *testing.T) {
	s := Start(t)
	c := client(t, s, true, "")
	ctx := context.Background()
	create := func(id string, labels map[string]string) error {
		_, err := c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: id, Secret: &secretmanagerpb.Secret{Replication: automatic, Labels: labels}})
		return err
	}
	if err := create("a", map[string]string{"env": "dev"}); err != nil {
		t.Fatal(err)
	}
	code(t, create("a", nil), codes.AlreadyExists)
	code(t, create("a.b", nil), codes.InvalidArgument)
	code(t, create(strings.Repeat("x", 256), nil), codes.InvalidArgument)
	code(t, create("b", map[string]string{"Env": "dev"}), codes.InvalidArgument)
	code(t, create("b", map[string]string{"env": "Dev"}), codes.InvalidArgument)
	code(t, create("b", map[string]string{"env": strings.Repeat("x", 64)}), codes.InvalidArgument)
	_, err := c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "c", Secret: &secretmanagerpb.Secret{}})
	code(t, err, codes.InvalidArgument) // replication is required

	add := func(parent string, data []byte, crc *int64) (*secretmanagerpb.SecretVersion, error) {
		return c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent, Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: crc}})
	}
	_, err = add("projects/p/secrets/missing", []byte("x"), nil)
	code(t, err, codes.NotFound)
	_, err = add("projects/p/secrets/a", make([]byte, MaxPayload+1), nil)
	code(t, err, codes.InvalidArgument)
	bad := CRC32C([]byte("x")) + 1
	_, err = add("projects/p/secrets/a", []byte("x"), &bad)
	code(t, err, codes.InvalidArgument)
	for i, want := range []string{"projects/p/secrets/a/versions/1", "projects/p/secrets/a/versions/2"} {
		crc := CRC32C([]byte{byte(i), 0xff})
		v, err := add("projects/p/secrets/a", []byte{byte(i), 0xff}, &crc)
		if err != nil || v.Name != want || v.State != secretmanagerpb.SecretVersion_ENABLED || v.Etag == "" || !v.ClientSpecifiedPayloadChecksum {
			t.Fatalf("add %d: %v %v", i, v, err)
		}
	}
	// No checksum sent: the server computes one and returns it on access.
	if _, err := add("projects/p/secrets/a", make([]byte, MaxPayload), nil); err != nil {
		t.Fatal(err)
	}
	r, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/a/versions/3"})
	if err != nil || len(r.Payload.Data) != MaxPayload || r.Payload.DataCrc32C == nil || *r.Payload.DataCrc32C != CRC32C(make([]byte, MaxPayload)) {
		t.Fatalf("access v3: %v", err)
	}
	r, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/a/versions/1"})
	if err != nil || string(r.Payload.Data) != "\x00\xff" || r.Name != "projects/p/secrets/a/versions/1" {
		t.Fatalf("access v1: %v %v", r, err)
	}
	_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/a/versions/9"})
	code(t, err, codes.NotFound)
}

func TestLatestStatesAndEtags(t *testing.T) {
	s := Start(t)
	c := client(t, s, true, "")
	ctx := context.Background()
	const name = "projects/p/secrets/a"
	for _, v := range []string{"one", "two"} {
		if err := s.Put(name, nil, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	sec, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name + "/versions/latest"})
	if err != nil || v2.Name != name+"/versions/2" {
		t.Fatalf("latest: %v %v", v2, err)
	}
	// A stale etag is refused with FAILED_PRECONDITION.
	_, err = c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: v2.Name, Etag: `"stale"`})
	code(t, err, codes.FailedPrecondition)
	d, err := c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: v2.Name, Etag: v2.Etag})
	if err != nil || d.State != secretmanagerpb.SecretVersion_DISABLED || d.Etag == v2.Etag {
		t.Fatalf("disable: %v %v", d, err)
	}
	// The old etag is spent: a second disable with it fails.
	_, err = c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: v2.Name, Etag: v2.Etag})
	code(t, err, codes.FailedPrecondition)
	// "latest" is the most recently created version, disabled or not.
	l, err := c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name + "/versions/latest"})
	if err != nil || l.Name != v2.Name || l.State != secretmanagerpb.SecretVersion_DISABLED {
		t.Fatalf("latest after disable: %v %v", l, err)
	}
	_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name + "/versions/latest"})
	code(t, err, codes.FailedPrecondition)
	// Changing a version leaves the secret's etag alone.
	sec2, _ := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
	if sec2.Etag != sec.Etag {
		t.Fatal("a version change changed the secret's etag")
	}
	// Destroyed: no data, cannot be enabled again.
	if _, err := c.DestroySecretVersion(ctx, &secretmanagerpb.DestroySecretVersionRequest{Name: name + "/versions/1"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name + "/versions/1"})
	code(t, err, codes.FailedPrecondition)
	_, err = c.EnableSecretVersion(ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: name + "/versions/1"})
	code(t, err, codes.FailedPrecondition)
	if e, err := c.EnableSecretVersion(ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: v2.Name}); err != nil || e.State != secretmanagerpb.SecretVersion_ENABLED {
		t.Fatalf("enable: %v %v", e, err)
	}
	// Versions are never renumbered.
	if err := s.Put(name, nil, []byte("three")); err != nil {
		t.Fatal(err)
	}
	states, data := s.Versions(name)
	if len(states) != 3 || states[0] != secretmanagerpb.SecretVersion_DESTROYED || data[0] != nil || string(data[2]) != "three" {
		t.Fatalf("versions: %v %q", states, data)
	}
	err = c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: name, Etag: `"stale"`})
	code(t, err, codes.FailedPrecondition)
	if err := c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: name, Etag: sec.Etag}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name + "/versions/latest"})
	code(t, err, codes.NotFound)
}

func TestListPagesAndFilters(t *testing.T) {
	s := Start(t)
	c := client(t, s, true, "")
	ctx := context.Background()
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		if err := s.Put("projects/p/secrets/"+id, map[string]string{"env": "dev", "app": "x"}, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("projects/p/secrets/b", map[string]string{"env": "prod", "app": "x"}, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("projects/q/secrets/a9", map[string]string{"env": "dev", "app": "x"}, []byte("q")); err != nil {
		t.Fatal(err)
	}
	list := func(filter string) []string {
		t.Helper()
		var out []string
		it := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", Filter: filter})
		for {
			sec, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sec.Name[strings.LastIndex(sec.Name, "/")+1:])
		}
	}
	before := s.Calls("ListSecrets")
	if got := strings.Join(list("labels.env=dev AND labels.app=x"), ","); got != "a1,a2,a3,a4,a5" {
		t.Fatalf("filtered list: %s", got)
	}
	if n := s.Calls("ListSecrets") - before; n != 3 {
		t.Fatalf("5 secrets at 2 a page took %d calls", n)
	}
	if got := strings.Join(list(`labels.env="dev" AND labels.app="x"`), ","); got != "a1,a2,a3,a4,a5" {
		t.Fatalf("quoted filter: %s", got)
	}
	if got := strings.Join(list("labels.env:prod"), ","); got != "b" {
		t.Fatalf("list env:prod: %s", got)
	}
	if got := list("labels.env=staging"); len(got) != 0 {
		t.Fatalf("list env=staging: %v", got)
	}
	_, err := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageToken: "nonsense"}).Next()
	code(t, err, codes.InvalidArgument)

	for _, v := range []string{"2", "3", "4"} {
		if err := s.Put("projects/p/secrets/a1", nil, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	it := c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/p/secrets/a1", PageSize: 1})
	for {
		v, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, v.Name[strings.LastIndex(v.Name, "/")+1:])
	}
	if strings.Join(names, ",") != "4,3,2,1" {
		t.Fatalf("versions newest first: %v", names)
	}
}

func TestFaults(t *testing.T) {
	s := Start(t)
	c := client(t, s, true, "")
	ctx := context.Background()
	if err := s.Put("projects/p/secrets/a", nil, []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.LoseAnswer("AddSecretVersion", 1)
	_, err := c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/p/secrets/a", Payload: &secretmanagerpb.SecretPayload{Data: []byte("w")}})
	code(t, err, codes.Unavailable)
	if states, _ := s.Versions("projects/p/secrets/a"); len(states) != 2 {
		t.Fatalf("a lost answer did not commit: %v", states)
	}
	s.Fail("GetSecret", 1, codes.ResourceExhausted)
	_, err = c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/a"})
	code(t, err, codes.ResourceExhausted)
	s.Corrupt(1)
	r, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/a/versions/1"})
	if err != nil || CRC32C(r.Payload.Data) == *r.Payload.DataCrc32C {
		t.Fatalf("corrupt access: %v", err)
	}
	s.Stop()
	_, err = c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/a"})
	code(t, err, codes.Unavailable)
}
