// Package gcpsmtest is a FAKE of GCP Secret Manager for tests: an
// in-process gRPC server on the official secretmanagerpb service stubs,
// listening on 127.0.0.1, plus a fake OAuth token endpoint so the real
// client library authenticates with application-default credentials (a
// service-account key file the fake writes, whose token_uri points at it).
// No emulator of Secret Manager is served to this machine; this fake
// implements only the methods hush's backend uses, and holds them to the
// documented API (server_test.go checks each point):
//
//   - every request needs "authorization: Bearer T" with a token the fake's
//     token endpoint issued for a JWT signed by the key file's private key
//     (Unauthenticated otherwise);
//   - CreateSecret: AlreadyExists for an existing id, InvalidArgument for an
//     id outside [A-Za-z0-9_-]{1,255} or a label outside the label rules;
//   - AddSecretVersion: NotFound for a missing secret, InvalidArgument for a
//     payload over 64 KiB or a data_crc32c that does not match the data;
//     versions are numbered 1, 2, … per secret and never reused;
//   - Get/AccessSecretVersion: "latest" is the most recently created
//     version whatever its state; accessing a DISABLED or DESTROYED version
//     is FailedPrecondition; the payload carries its data_crc32c;
//   - Disable/Enable/DestroySecretVersion and DeleteSecret: FailedPrecondition
//     when an etag is given and does not match; each change makes a new
//     etag of the resource changed only (a version's change leaves the
//     secret's etag alone); destroying clears the data for good;
//   - ListSecrets/ListSecretVersions: newest version first, page tokens with
//     at most PageMax items a page (default 2, so paging is exercised), and
//     the label filter labels.K=V (or labels.K:V) joined with AND;
//   - faults for the backend's tests: a method can fail before acting
//     (Fail, FailAfter, ServerErrors) or act and lose its answer
//     (LoseAnswer, LoseNextWrite), and Access can return corrupted data
//     (Corrupt).
//
// It is not Secret Manager: IAM, replication, rotation, aliases, regional
// secrets, TTLs and the rest of the filter grammar are not modelled.
package gcpsmtest

import (
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxPayload is Secret Manager's documented limit for one version's data.
const MaxPayload = 64 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C is the checksum Secret Manager uses for payloads.
func CRC32C(b []byte) int64 { return int64(crc32.Checksum(b, castagnoli)) }

type version struct {
	pb   *secretmanagerpb.SecretVersion
	data []byte
	crc  int64
}

type secret struct {
	pb       *secretmanagerpb.Secret
	versions []*version // index i is version i+1
}

type fault struct {
	skip int
	n    int
	code codes.Code
	lose bool
}

// Server is the fake. Its zero value is not usable: call Start.
type Server struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer

	// Addr is the gRPC listener's host:port on 127.0.0.1.
	Addr string
	// PageMax caps every page served (and is the default page size).
	PageMax int

	mu      gosync.Mutex
	secrets map[string]*secret // by resource name
	etagN   int
	faults  map[string]*fault // by method name, e.g. "AddSecretVersion"
	corrupt int
	calls   map[string]int
	// requireLocations refuses automatic replication.
	requireLocations bool
	// loseWrite loses the next write's answer; failing fails every call.
	loseWrite, failing bool
	failed             int

	auth *tokenServer
	gs   *grpc.Server
	lis  net.Listener
}

// Start runs the fake on 127.0.0.1 until the test ends.
func Start(t interface {
	Helper()
	Fatalf(string, ...any)
	Cleanup(func())
}) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("gcpsmtest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New starts a fake; Stop ends it.
func New() (*Server, error) {
	auth, err := newTokenServer()
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		auth.close()
		return nil, err
	}
	s := &Server{Addr: lis.Addr().String(), PageMax: 2, secrets: map[string]*secret{}, faults: map[string]*fault{}, calls: map[string]int{}, auth: auth, lis: lis}
	s.gs = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	secretmanagerpb.RegisterSecretManagerServiceServer(s.gs, s)
	go func() { _ = s.gs.Serve(lis) }()
	return s, nil
}

// Stop ends the gRPC server and the token endpoint; calls after it fail
// as against a server that is down.
func (s *Server) Stop() {
	s.gs.Stop()
	s.auth.close()
}

// Fail makes the next n calls of method fail with code before acting.
func (s *Server) Fail(method string, n int, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = &fault{n: n, code: code}
}

// FailAfter lets skip calls of method through, then fails the next n
// with code before acting.
func (s *Server) FailAfter(method string, skip, n int, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = &fault{skip: skip, n: n, code: code}
}

// LoseAnswer makes the next n calls of method act, then answer Unavailable
// as if the connection broke after the commit.
func (s *Server) LoseAnswer(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = &fault{n: n, code: codes.Unavailable, lose: true}
}

// writes are the methods that change something.
var writes = map[string]bool{"CreateSecret": true, "AddSecretVersion": true, "UpdateSecret": true, "DeleteSecret": true,
	"DisableSecretVersion": true, "EnableSecretVersion": true, "DestroySecretVersion": true}

// LoseNextWrite makes the next call of any write method act, then answer
// Unavailable.
func (s *Server) LoseNextWrite() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseWrite = true
}

// ServerErrors, while on, answers every call before acting with
// Unavailable or ResourceExhausted, in turn.
func (s *Server) ServerErrors(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = on
}

// RequireLocations refuses automatic replication from now on, as an
// organisation policy on resource locations does.
func (s *Server) RequireLocations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireLocations = true
}

// Corrupt makes the next n AccessSecretVersion answers carry data that does
// not match their checksum.
func (s *Server) Corrupt(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt = n
}

// Calls is how many calls of method reached the fake (authenticated).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ok := false
	for _, a := range md.Get("authorization") {
		if tok, found := strings.CutPrefix(a, "Bearer "); found && s.auth.valid(tok) {
			ok = true
		}
	}
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token.")
	}
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	s.mu.Lock()
	s.calls[method]++
	f := s.faults[method]
	var lose bool
	if s.failing {
		s.failed++
		s.mu.Unlock()
		if s.failed%2 == 0 {
			return nil, status.Error(codes.ResourceExhausted, "Quota exceeded (gcpsmtest)")
		}
		return nil, status.Error(codes.Unavailable, "The service is currently unavailable (gcpsmtest)")
	}
	if s.loseWrite && writes[method] {
		s.loseWrite, lose = false, true
	} else if f != nil && f.skip > 0 {
		f.skip--
	} else if f != nil && f.n > 0 {
		f.n--
		if !f.lose {
			s.mu.Unlock()
			return nil, status.Errorf(f.code, "gcpsmtest: injected %v", f.code)
		}
		lose = true
	}
	s.mu.Unlock()
	resp, err := h(ctx, req)
	if lose {
		return nil, status.Error(codes.Unavailable, "gcpsmtest: answer lost after commit")
	}
	return resp, err
}

func (s *Server) etag() string {
	s.etagN++
	return fmt.Sprintf("%q", strconv.FormatInt(time.Now().UnixNano(), 16)+"-"+strconv.Itoa(s.etagN))
}

// parent "projects/P" → ok; name "projects/P/secrets/S" → P, S.
func splitSecret(name string) (project, id string, ok bool) {
	p := strings.Split(name, "/")
	if len(p) != 4 || p[0] != "projects" || p[1] == "" || p[2] != "secrets" {
		return "", "", false
	}
	return p[1], p[3], validID(p[3])
}

func splitVersion(name string) (secretName, ver string, ok bool) {
	i := strings.LastIndex(name, "/versions/")
	if i < 0 {
		return "", "", false
	}
	secretName, ver = name[:i], name[i+len("/versions/"):]
	if _, _, ok := splitSecret(secretName); !ok || ver == "" {
		return "", "", false
	}
	return secretName, ver, true
}

func validID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validLabel checks the documented rules for labels (ASCII part): keys
// start with a lower-case letter, keys and values use lower-case letters,
// digits, '_' and '-', at most 63 characters.
func validLabel(k, v string) bool {
	ok := func(s string) bool {
		if len(s) > 63 {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	return k != "" && k[0] >= 'a' && k[0] <= 'z' && ok(k) && ok(v)
}

func (s *Server) lookup(name string) (*secret, error) {
	if _, _, ok := splitSecret(name); !ok {
		return nil, status.Errorf(codes.InvalidArgument, "invalid resource name %q", name)
	}
	sec := s.secrets[name]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", name)
	}
	return sec, nil
}

func (s *Server) lookupVersion(name string) (*secret, *version, error) {
	secName, ver, ok := splitVersion(name)
	if !ok {
		return nil, nil, status.Errorf(codes.InvalidArgument, "invalid resource name %q", name)
	}
	sec, err := s.lookup(secName)
	if err != nil {
		return nil, nil, err
	}
	if ver == "latest" {
		if len(sec.versions) == 0 {
			return nil, nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", secName)
		}
		return sec, sec.versions[len(sec.versions)-1], nil
	}
	n, err := strconv.Atoi(ver)
	if err != nil || n < 1 {
		return nil, nil, status.Errorf(codes.InvalidArgument, "invalid version %q", ver)
	}
	if n > len(sec.versions) {
		return nil, nil, status.Errorf(codes.NotFound, "Secret Version [%s] not found.", name)
	}
	return sec, sec.versions[n-1], nil
}

// CreateSecret creates a secret with no versions.
func (s *Server) CreateSecret(_ context.Context, r *secretmanagerpb.CreateSecretRequest) (*secretmanagerpb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := strings.Split(r.Parent, "/")
	if len(p) != 2 || p[0] != "projects" || p[1] == "" {
		return nil, status.Errorf(codes.InvalidArgument, "invalid parent %q", r.Parent)
	}
	if !validID(r.SecretId) {
		return nil, status.Errorf(codes.InvalidArgument, "Secret ID %q must match [a-zA-Z0-9_-]{1,255}", r.SecretId)
	}
	if r.Secret == nil || r.Secret.Replication == nil {
		return nil, status.Error(codes.InvalidArgument, "Secret.replication is required")
	}
	if um := r.Secret.Replication.GetUserManaged(); um != nil {
		if len(um.Replicas) == 0 {
			return nil, status.Error(codes.InvalidArgument, "Secret.replication.user_managed.replicas must not be empty")
		}
		for _, rep := range um.Replicas {
			if rep.Location == "" {
				return nil, status.Error(codes.InvalidArgument, "Secret.replication.user_managed.replicas.location is required")
			}
		}
	} else if r.Secret.Replication.GetAutomatic() == nil {
		return nil, status.Error(codes.InvalidArgument, "Secret.replication is required")
	} else if s.requireLocations {
		return nil, status.Error(codes.FailedPrecondition, "Constraint constraints/gcp.resourceLocations violated: automatic replication is not allowed (gcpsmtest)")
	}
	for k, v := range r.Secret.Labels {
		if !validLabel(k, v) {
			return nil, status.Errorf(codes.InvalidArgument, "invalid label %q=%q", k, v)
		}
	}
	name := r.Parent + "/secrets/" + r.SecretId
	if s.secrets[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s] already exists.", name)
	}
	pb := proto.Clone(r.Secret).(*secretmanagerpb.Secret)
	pb.Name, pb.CreateTime, pb.Etag = name, timestamppb.Now(), s.etag()
	s.secrets[name] = &secret{pb: pb}
	return proto.Clone(pb).(*secretmanagerpb.Secret), nil
}

// GetSecret returns a secret's metadata.
func (s *Server) GetSecret(_ context.Context, r *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(r.Name)
	if err != nil {
		return nil, err
	}
	return proto.Clone(sec.pb).(*secretmanagerpb.Secret), nil
}

// DeleteSecret deletes a secret and all its versions.
func (s *Server) DeleteSecret(_ context.Context, r *secretmanagerpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(r.Name)
	if err != nil {
		return nil, err
	}
	if r.Etag != "" && r.Etag != sec.pb.Etag {
		return nil, status.Error(codes.FailedPrecondition, "The etag provided in the request does not match the current etag of the secret.")
	}
	delete(s.secrets, r.Name)
	return &emptypb.Empty{}, nil
}

// AddSecretVersion adds an ENABLED version.
func (s *Server) AddSecretVersion(_ context.Context, r *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(r.Parent)
	if err != nil {
		return nil, err
	}
	if r.Payload == nil {
		return nil, status.Error(codes.InvalidArgument, "payload is required")
	}
	if len(r.Payload.Data) > MaxPayload {
		return nil, status.Errorf(codes.InvalidArgument, "Secret Payload cannot be larger than 64KiB.")
	}
	crc := CRC32C(r.Payload.Data)
	if r.Payload.DataCrc32C != nil && *r.Payload.DataCrc32C != crc {
		return nil, status.Error(codes.InvalidArgument, "Checksum mismatch: the data_crc32c provided does not match the data.")
	}
	v := &version{data: append([]byte(nil), r.Payload.Data...), crc: crc, pb: &secretmanagerpb.SecretVersion{
		Name:                           fmt.Sprintf("%s/versions/%d", r.Parent, len(sec.versions)+1),
		CreateTime:                     timestamppb.Now(),
		State:                          secretmanagerpb.SecretVersion_ENABLED,
		Etag:                           s.etag(),
		ClientSpecifiedPayloadChecksum: r.Payload.DataCrc32C != nil,
	}}
	sec.versions = append(sec.versions, v)
	return proto.Clone(v.pb).(*secretmanagerpb.SecretVersion), nil
}

// GetSecretVersion returns a version's metadata.
func (s *Server) GetSecretVersion(_ context.Context, r *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.lookupVersion(r.Name)
	if err != nil {
		return nil, err
	}
	return proto.Clone(v.pb).(*secretmanagerpb.SecretVersion), nil
}

// AccessSecretVersion returns an ENABLED version's payload.
func (s *Server) AccessSecretVersion(_ context.Context, r *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.lookupVersion(r.Name)
	if err != nil {
		return nil, err
	}
	if v.pb.State != secretmanagerpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", v.pb.Name, v.pb.State)
	}
	data := append([]byte(nil), v.data...)
	if s.corrupt > 0 {
		s.corrupt--
		if len(data) == 0 {
			data = []byte{0}
		} else {
			data[0] ^= 0x20
		}
	}
	crc := v.crc
	return &secretmanagerpb.AccessSecretVersionResponse{Name: v.pb.Name, Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &crc}}, nil
}

func (s *Server) setState(name, etag string, state secretmanagerpb.SecretVersion_State) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.lookupVersion(name)
	if err != nil {
		return nil, err
	}
	if etag != "" && etag != v.pb.Etag {
		return nil, status.Error(codes.FailedPrecondition, "The etag provided in the request does not match the current etag of the secret version.")
	}
	if v.pb.State == secretmanagerpb.SecretVersion_DESTROYED && state != secretmanagerpb.SecretVersion_DESTROYED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", v.pb.Name)
	}
	v.pb.State, v.pb.Etag = state, s.etag()
	if state == secretmanagerpb.SecretVersion_DESTROYED {
		v.data, v.pb.DestroyTime = nil, timestamppb.Now()
	}
	return proto.Clone(v.pb).(*secretmanagerpb.SecretVersion), nil
}

// DisableSecretVersion sets a version DISABLED.
func (s *Server) DisableSecretVersion(_ context.Context, r *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.setState(r.Name, r.Etag, secretmanagerpb.SecretVersion_DISABLED)
}

// EnableSecretVersion sets a version ENABLED.
func (s *Server) EnableSecretVersion(_ context.Context, r *secretmanagerpb.EnableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.setState(r.Name, r.Etag, secretmanagerpb.SecretVersion_ENABLED)
}

// DestroySecretVersion destroys a version's data for good.
func (s *Server) DestroySecretVersion(_ context.Context, r *secretmanagerpb.DestroySecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.setState(r.Name, r.Etag, secretmanagerpb.SecretVersion_DESTROYED)
}

// page cuts items [from the token's offset] to a page.
func (s *Server) page(n int, size int32, token string) (start, end int, next string, err error) {
	if token != "" {
		if start, err = strconv.Atoi(strings.TrimPrefix(token, "p")); err != nil || !strings.HasPrefix(token, "p") || start > n {
			return 0, 0, "", status.Errorf(codes.InvalidArgument, "invalid page token %q", token)
		}
	}
	max := s.PageMax
	if max <= 0 {
		max = 25000
	}
	if size > 0 && int(size) < max {
		max = int(size)
	}
	end = start + max
	if end >= n {
		return start, n, "", nil
	}
	return start, end, "p" + strconv.Itoa(end), nil
}

// matchFilter evaluates the subset of the list filter grammar the fake
// knows: terms labels.K=V or labels.K:V joined by AND.
func matchFilter(filter string, labels map[string]string) (bool, error) {
	if strings.TrimSpace(filter) == "" {
		return true, nil
	}
	for _, term := range strings.Split(filter, " AND ") {
		term = strings.TrimSpace(term)
		rest, ok := strings.CutPrefix(term, "labels.")
		if !ok {
			return false, status.Errorf(codes.InvalidArgument, "gcpsmtest: filter term %q not supported", term)
		}
		i := strings.IndexAny(rest, "=:")
		if i < 0 {
			return false, status.Errorf(codes.InvalidArgument, "invalid filter term %q", term)
		}
		k, v := rest[:i], strings.Trim(rest[i+1:], `"`)
		got, has := labels[k]
		if !has || got != v {
			return false, nil
		}
	}
	return true, nil
}

// ListSecrets lists a project's secrets by name, filtered.
func (s *Server) ListSecrets(_ context.Context, r *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := strings.Split(r.Parent, "/")
	if len(p) != 2 || p[0] != "projects" || p[1] == "" {
		return nil, status.Errorf(codes.InvalidArgument, "invalid parent %q", r.Parent)
	}
	var all []*secretmanagerpb.Secret
	for name, sec := range s.secrets {
		if !strings.HasPrefix(name, r.Parent+"/secrets/") {
			continue
		}
		ok, err := matchFilter(r.Filter, sec.pb.Labels)
		if err != nil {
			return nil, err
		}
		if ok {
			all = append(all, sec.pb)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	start, end, next, err := s.page(len(all), r.PageSize, r.PageToken)
	if err != nil {
		return nil, err
	}
	out := &secretmanagerpb.ListSecretsResponse{NextPageToken: next, TotalSize: int32(len(all))}
	for _, sec := range all[start:end] {
		out.Secrets = append(out.Secrets, proto.Clone(sec).(*secretmanagerpb.Secret))
	}
	return out, nil
}

// ListSecretVersions lists a secret's versions, newest first.
func (s *Server) ListSecretVersions(_ context.Context, r *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(r.Parent)
	if err != nil {
		return nil, err
	}
	if r.Filter != "" {
		return nil, status.Error(codes.InvalidArgument, "gcpsmtest: version filters not supported")
	}
	n := len(sec.versions)
	start, end, next, err := s.page(n, r.PageSize, r.PageToken)
	if err != nil {
		return nil, err
	}
	out := &secretmanagerpb.ListSecretVersionsResponse{NextPageToken: next, TotalSize: int32(n)}
	for i := start; i < end; i++ {
		out.Versions = append(out.Versions, proto.Clone(sec.versions[n-1-i].pb).(*secretmanagerpb.SecretVersion))
	}
	return out, nil
}

// Put writes a secret and a version directly, as another tool would (for
// tests: labels as given, no checks of hush's layout).
func (s *Server) Put(name string, labels map[string]string, data []byte) error {
	s.mu.Lock()
	sec := s.secrets[name]
	s.mu.Unlock()
	if sec == nil {
		project, id, ok := splitSecret(name)
		if !ok {
			return fmt.Errorf("gcpsmtest: bad name %q", name)
		}
		if _, err := s.CreateSecret(context.Background(), &secretmanagerpb.CreateSecretRequest{Parent: "projects/" + project, SecretId: id,
			Secret: &secretmanagerpb.Secret{Labels: labels, Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}}}); err != nil {
			return err
		}
	}
	_, err := s.AddSecretVersion(context.Background(), &secretmanagerpb.AddSecretVersionRequest{Parent: name, Payload: &secretmanagerpb.SecretPayload{Data: data}})
	return err
}

// SetState changes a version's state directly (for tests).
func (s *Server) SetState(name string, state secretmanagerpb.SecretVersion_State) error {
	_, err := s.setState(name, "", state)
	return err
}

// Remove deletes a secret directly (for tests).
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, name)
}

// Versions returns the states and data of a secret's versions, oldest first
// (for tests).
func (s *Server) Versions(name string) (states []secretmanagerpb.SecretVersion_State, data [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return nil, nil
	}
	for _, v := range sec.versions {
		states = append(states, v.pb.State)
		data = append(data, append([]byte(nil), v.data...))
	}
	return states, data
}

// Labels returns a secret's labels and annotations (for tests).
func (s *Server) Labels(name string) (labels, annotations map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return nil, nil
	}
	return sec.pb.Labels, sec.pb.Annotations
}

// Names lists every secret's resource name, sorted (for tests).
func (s *Server) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.secrets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Reset forgets every secret (a server restarted empty).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = map[string]*secret{}
}
