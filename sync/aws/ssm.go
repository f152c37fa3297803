// Package aws holds hush's AWS backends, SSM Parameter Store (ssm.go)
// and Secrets Manager (secretsmanager.go). They link the AWS SDK, so they
// run in the hush-cloud companion, never in hush itself.
package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// The SSM layout: one SecureString parameter per key, named
// PREFIX/ENV/KEY, so IAM policies can grant an environment's path
// (arn:…:parameter/PREFIX/ENV/*) and nothing else. Each parameter's own
// version is what a push checks.
//
// Values. SSM stores strings (its API is JSON: UTF-8 only) and refuses an
// empty one. A value that is non-empty valid UTF-8 and does not start with
// binaryPrefix is stored as it is, so other tools read it unchanged.
// Anything else (bytes that are not UTF-8, an empty value, a value that
// happens to start with the prefix) is stored as binaryPrefix + base64, and
// read back by that prefix: lossless both ways.
//
// Check-and-set. PutParameter has no compare-and-swap except
// Overwrite=false, which only creates. So a push:
//  1. re-reads every parameter of the environment right before writing and
//     refuses (ErrConflict, nothing written) when any key the plan touches
//     is not at the plan's base version (created, changed or deleted since);
//  2. creates a new key with Overwrite=false: a concurrent creation fails it;
//  3. updates with Overwrite=true, then checks the version SSM answers: it
//     must be base+1. A higher one means another write landed between the
//     re-read and this one, and was overwritten: that is reported as a
//     conflict naming the key (the other value is still in the parameter's
//     history, GetParameterHistory), unless every version in between holds
//     this push's own value (a lost answer, retried);
//  4. deletes only after step 1's check; SSM's DeleteParameter takes no
//     version, so a write landing between the re-read and the delete is
//     lost with it. That window (the time of one request) is what remains.
//
// Writes are one request each, in key order; a push cut off leaves a
// prefix applied and says so (sync.PartialError); the next pull and push
// converge.
const binaryPrefix = "hush:base64:"

// SSM limits, checked before anything is written.
const (
	standardMax = 4096
	advancedMax = 8192
	maxNameLen  = 1011
	maxDepth    = 15
)

// SSMConfig is the ssm: section of hush.yaml, as the hush side sends it.
type SSMConfig struct {
	// Prefix is the path environments live under: /PREFIX/ENV/KEY.
	Prefix string `json:"prefix"`
	// Region overrides AWS_REGION and the profile's region.
	Region string `json:"region,omitempty"`
	// Tier is Standard (4 KB values, the default) or Advanced (8 KB, paid).
	Tier string `json:"tier,omitempty"`
	// KMSKeyID is the key SecureStrings are encrypted with (default
	// alias/aws/ssm).
	KMSKeyID string `json:"kms_key_id,omitempty"`
}

// SSMDriver is the "ssm" kind of hush-cloud.
type SSMDriver struct {
	Options SSMOptions
}

// SSMOptions are added to the default configuration (tests: an endpoint,
// an HTTP client with faults, short retries).
type SSMOptions struct {
	Load   []func(*awsconfig.LoadOptions) error
	Client []func(*ssm.Options)
}

// Open implements cloud.Driver.
func (d SSMDriver) Open(ctx context.Context, config json.RawMessage) (hushsync.Backend, error) {
	var cfg SSMConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("%w: ssm: configuration: %v", store.ErrInvalid, err)
	}
	return NewSSM(ctx, cfg, d.Options)
}

// Resolve implements cloud.Driver: ssm:///path/to/param, or
// ssm:///path/to/param?version=N.
func (d SSMDriver) Resolve(ctx context.Context, ref string) ([]byte, error) {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "ssm" || u.Host != "" || u.Path == "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: ssm reference %q: write ssm:///path/to/parameter (three slashes), optionally ?version=N", store.ErrInvalid, ref)
	}
	name := u.Path
	if err := validName(name); err != nil {
		return nil, err
	}
	q := u.Query()
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || len(q) != 1 {
			return nil, fmt.Errorf("%w: ssm reference %q: version must be a number from 1", store.ErrInvalid, ref)
		}
		name += ":" + v
	} else if len(q) != 0 {
		return nil, fmt.Errorf("%w: ssm reference %q: the only query it takes is ?version=N", store.ErrInvalid, ref)
	}
	s, err := NewSSM(ctx, SSMConfig{Prefix: "/"}, d.Options)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{Name: &name, WithDecryption: awssdk.Bool(true)})
	if err != nil {
		return nil, s.wrap("read", u.Path, err)
	}
	v, err := decode(awssdk.ToString(out.Parameter.Value))
	if err != nil {
		return nil, fmt.Errorf("ssm: %s: %w", u.Path, err)
	}
	return []byte(v), nil
}

// SSM is the Parameter Store backend.
type SSM struct {
	cfg    SSMConfig
	client *ssm.Client
	region string
}

var _ hushsync.Backend = (*SSM)(nil)

var nameChars = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func validName(name string) error {
	switch {
	case !strings.HasPrefix(name, "/") || !nameChars.MatchString(name):
		return fmt.Errorf("%w: ssm: parameter path %q: it must start with / and use only letters, digits and _ . - /", store.ErrInvalid, name)
	case strings.Contains(name, "//") || strings.HasSuffix(name, "/") && name != "/":
		return fmt.Errorf("%w: ssm: parameter path %q: empty path segment", store.ErrInvalid, name)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: ssm: parameter path %q is longer than %d characters", store.ErrInvalid, name[:40]+"…", maxNameLen)
	case strings.Count(name, "/") > maxDepth:
		return fmt.Errorf("%w: ssm: parameter path %q is deeper than %d levels", store.ErrInvalid, name, maxDepth)
	}
	low := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") {
		return fmt.Errorf("%w: ssm: parameter path %q: names starting with aws or ssm are reserved by AWS", store.ErrInvalid, name)
	}
	return nil
}

// NewSSM makes the backend from cfg and the default AWS configuration
// chain (environment, shared files and profile, SSO, web identity,
// container and instance roles; AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_SSM are honoured by the SDK).
func NewSSM(ctx context.Context, cfg SSMConfig, opts SSMOptions) (*SSM, error) {
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.Prefix != "" {
		if err := validName(cfg.Prefix); err != nil {
			return nil, err
		}
	}
	switch cfg.Tier {
	case "", "Standard", "Advanced", "Intelligent-Tiering":
	default:
		return nil, fmt.Errorf("%w: ssm: tier %q: use Standard, Advanced or Intelligent-Tiering", store.ErrInvalid, cfg.Tier)
	}
	load := []func(*awsconfig.LoadOptions) error{
		// Throttling and 5xx: retried a bounded number of times, with
		// backoff, then ErrUnavailable.
		awsconfig.WithRetryer(func() awssdk.Retryer { return retryer(5, 5*time.Second) }),
	}
	if cfg.Region != "" {
		load = append(load, awsconfig.WithRegion(cfg.Region))
	}
	load = append(load, opts.Load...)
	ac, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("%w: ssm: AWS configuration: %v", hushsync.ErrUnavailable, err)
	}
	if ac.Region == "" {
		return nil, fmt.Errorf("%w: ssm: no AWS region: set AWS_REGION, a region in the profile, or ssm.region in .hush/hush.yaml", store.ErrInvalid)
	}
	return &SSM{cfg: cfg, client: ssm.NewFromConfig(ac, opts.Client...), region: ac.Region}, nil
}

func retryer(attempts int, backoff time.Duration) awssdk.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = backoff
		o.RateLimiter = noRateLimit{}
	})
}

// noRateLimit turns off the SDK's client-side retry quota: retries are
// already bounded by MaxAttempts, and a quota emptied by one throttled
// burst would fail the rest of a push at once.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// Location implements sync.Backend.
func (s *SSM) Location(env string) string { return "ssm://" + s.path(env) }

// Address names the remote for the audit log: the region.
func (s *SSM) Address() string { return "ssm:" + s.region }

func (s *SSM) path(env string) string { return s.cfg.Prefix + "/" + env }

func (s *SSM) max() int {
	if s.cfg.Tier == "Advanced" || s.cfg.Tier == "Intelligent-Tiering" {
		return advancedMax
	}
	return standardMax
}

// encode is how value is stored (see the layout above).
func encode(v string) string {
	if v != "" && utf8.ValidString(v) && !strings.HasPrefix(v, binaryPrefix) {
		return v
	}
	return binaryPrefix + base64.StdEncoding.EncodeToString([]byte(v))
}

func decode(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, binaryPrefix)
	if !ok {
		return s, nil
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("%w: a value marked %s is not base64", store.ErrIntegrity, binaryPrefix)
	}
	return string(b), nil
}

type param struct {
	value   string
	version int
}

// list reads every parameter directly under env's path, decrypted.
func (s *SSM) list(ctx context.Context, env string) (map[string]param, error) {
	p := s.path(env)
	out := map[string]param{}
	pages := ssm.NewGetParametersByPathPaginator(s.client, &ssm.GetParametersByPathInput{
		Path: awssdk.String(p), Recursive: awssdk.Bool(false), WithDecryption: awssdk.Bool(true), MaxResults: awssdk.Int32(10),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("read", p, err)
		}
		for _, par := range page.Parameters {
			key := strings.TrimPrefix(awssdk.ToString(par.Name), p+"/")
			if err := store.ValidKeyName(key); err != nil {
				return nil, fmt.Errorf("ssm: %s: %w", p, err)
			}
			v, err := decode(awssdk.ToString(par.Value))
			if err != nil {
				return nil, fmt.Errorf("ssm: %s/%s: %w", p, key, err)
			}
			if err := store.ValidValue(v); err != nil {
				return nil, fmt.Errorf("ssm: %s/%s: %w", p, key, err)
			}
			out[key] = param{value: v, version: int(par.Version)}
		}
	}
	return out, nil
}

// Pull implements sync.Backend. Version stays 0: a parameter deleted
// takes its version with it, so no sum of versions can only grow.
func (s *SSM) Pull(ctx context.Context, env string) (*hushsync.Snapshot, error) {
	if err := store.ValidEnvName(env); err != nil {
		return nil, err
	}
	ps, err := s.list(ctx, env)
	if err != nil {
		return nil, err
	}
	snap := hushsync.NewSnapshot()
	for k, p := range ps {
		snap.Values[k] = store.Value(p.value)
		snap.Versions[k] = p.version
	}
	snap.Missing = len(ps) == 0
	return snap, nil
}

// check refuses, before anything is written, what SSM would refuse or
// could not give back exactly.
func (s *SSM) check(env string, plan *hushsync.Plan) error {
	for k, v := range plan.Set {
		if err := store.ValidKeyName(k); err != nil {
			return err
		}
		name := s.path(env) + "/" + k
		if err := validName(name); err != nil {
			return err
		}
		if n := len(encode(v.Reveal())); n > s.max() {
			tier := "the Standard tier's 4 KB (set ssm.tier: Advanced in .hush/hush.yaml for 8 KB)"
			if s.max() == advancedMax {
				tier = "the Advanced tier's 8 KB"
			}
			return fmt.Errorf("%w: ssm: %s: the value is %d bytes as stored, more than %s; nothing pushed", store.ErrInvalid, name, n, tier)
		}
	}
	return nil
}

// Push implements sync.Backend (see the check-and-set rules above).
func (s *SSM) Push(ctx context.Context, env string, plan *hushsync.Plan) (*hushsync.Snapshot, error) {
	if err := store.ValidEnvName(env); err != nil {
		return nil, err
	}
	if plan.Empty() {
		return plan.Base, nil
	}
	if err := s.check(env, plan); err != nil {
		return nil, err
	}
	cur, err := s.list(ctx, env)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range plan.Set {
		keys = append(keys, k)
	}
	keys = append(keys, plan.Delete...)
	sort.Strings(keys)
	var drift []string
	for _, k := range keys {
		if cur[k].version != plan.Base.Versions[k] {
			drift = append(drift, k)
		}
	}
	if len(drift) > 0 {
		return nil, fmt.Errorf("ssm: %s: %w: %s changed since it was read; nothing pushed", s.path(env), hushsync.ErrConflict, strings.Join(drift, ", "))
	}
	out := hushsync.NewSnapshot()
	for k, v := range plan.Base.Values {
		out.Values[k] = v
	}
	for k, v := range plan.Base.Versions {
		out.Versions[k] = v
	}
	var set, deleted []string
	for _, k := range keys {
		var err error
		if v, ok := plan.Set[k]; ok {
			var ver int
			if ver, err = s.put(ctx, env, k, v.Reveal(), plan.Base.Versions[k]); err == nil {
				out.Values[k], out.Versions[k] = v, ver
				set = append(set, k)
			}
		} else if err = s.delete(ctx, env, k); err == nil {
			delete(out.Values, k)
			delete(out.Versions, k)
			deleted = append(deleted, k)
		}
		if err != nil {
			if len(set)+len(deleted) == 0 {
				return nil, err
			}
			return nil, &hushsync.PartialError{Err: err, Written: out, Set: set, Deleted: deleted, Planned: len(keys)}
		}
	}
	return out, nil
}

// put writes one parameter at base version base (0: it must not exist)
// and returns its new version.
func (s *SSM) put(ctx context.Context, env, key, value string, base int) (int, error) {
	name := s.path(env) + "/" + key
	in := &ssm.PutParameterInput{Name: &name, Value: awssdk.String(encode(value)), Type: ssmtypes.ParameterTypeSecureString,
		Overwrite: awssdk.Bool(base != 0)}
	if s.cfg.Tier != "" {
		in.Tier = ssmtypes.ParameterTier(s.cfg.Tier)
	}
	if s.cfg.KMSKeyID != "" {
		in.KeyId = &s.cfg.KMSKeyID
	}
	res, err := s.client.PutParameter(ctx, in)
	if err != nil {
		werr := s.wrap("write", name, err)
		if errors.Is(werr, context.Canceled) {
			return 0, werr
		}
		// A lost answer whose retry was refused (it exists now), or an
		// answer lost for good: what the parameter holds says whether
		// the write was this one.
		if ver, ok := s.mine(ctx, name, value, base); ok {
			return ver, nil
		}
		return 0, werr
	}
	ver := int(res.Version)
	if base != 0 && ver != base+1 && !s.ownVersions(ctx, name, value, base+1, ver) {
		return 0, fmt.Errorf("ssm: %s: %w: another write landed between the check and this one (version %d, now %d): its value is in the parameter's history; pull, then push again", name, hushsync.ErrConflict, base+1, ver)
	}
	return ver, nil
}

// mine reports whether name now holds value at a version above base.
func (s *SSM) mine(ctx context.Context, name, value string, base int) (int, bool) {
	res, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{Name: &name, WithDecryption: awssdk.Bool(true)})
	if err != nil || res.Parameter == nil {
		return 0, false
	}
	v, err := decode(awssdk.ToString(res.Parameter.Value))
	ver := int(res.Parameter.Version)
	if err != nil || v != value || ver <= base {
		return 0, false
	}
	if ver > base+1 && !s.ownVersions(ctx, name, value, base+1, ver) {
		return 0, false
	}
	return ver, true
}

// ownVersions reports whether versions from..to of name all hold value
// (this push's write, retried after a lost answer).
func (s *SSM) ownVersions(ctx context.Context, name, value string, from, to int) bool {
	pages := ssm.NewGetParameterHistoryPaginator(s.client, &ssm.GetParameterHistoryInput{Name: &name, WithDecryption: awssdk.Bool(true)})
	seen := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return false
		}
		for _, h := range page.Parameters {
			if int(h.Version) < from || int(h.Version) > to {
				continue
			}
			v, err := decode(awssdk.ToString(h.Value))
			if err != nil || v != value {
				return false
			}
			seen++
		}
	}
	return seen == to-from+1
}

func (s *SSM) delete(ctx context.Context, env, key string) error {
	name := s.path(env) + "/" + key
	_, err := s.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: &name})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return nil // gone already: a retried delete whose answer was lost
		}
		return s.wrap("delete", name, err)
	}
	return nil
}

// wrap gives an SDK error its kind, with no value in it.
func (s *SSM) wrap(op, name string, err error) error {
	var (
		nf     *ssmtypes.ParameterNotFound
		exists *ssmtypes.ParameterAlreadyExists
		api    smithy.APIError
		resp   *smithyhttp.ResponseError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("ssm: %s %s: %w", op, name, err)
	case errors.As(err, &nf):
		return fmt.Errorf("ssm: %s: %w", name, store.ErrNotFound)
	case errors.As(err, &exists):
		return fmt.Errorf("ssm: %s %s: %w: it was created since it was read", op, name, hushsync.ErrConflict)
	case errors.As(err, &api) && denied(api.ErrorCode()):
		return fmt.Errorf("ssm: %s %s: %w: %s", op, name, hushsync.ErrDenied, api.ErrorCode())
	case errors.As(err, &api) && invalid(api.ErrorCode()):
		return fmt.Errorf("ssm: %s %s: %w: %s: %s", op, name, store.ErrInvalid, api.ErrorCode(), api.ErrorMessage())
	case errors.As(err, &resp) && resp.HTTPStatusCode() >= 400 && resp.HTTPStatusCode() < 500 && resp.HTTPStatusCode() != 429:
		code := strconv.Itoa(resp.HTTPStatusCode())
		if errors.As(err, &api) {
			code = api.ErrorCode()
		}
		return fmt.Errorf("ssm: %s %s: refused (%s)", op, name, code)
	}
	// Unreachable, throttled or 5xx after every retry.
	why := "unreachable or failing after retries"
	if errors.As(err, &api) {
		why = api.ErrorCode()
	}
	return fmt.Errorf("ssm: %s %s: %w (%s, region %s)", op, name, hushsync.ErrUnavailable, why, s.region)
}

func denied(code string) bool {
	switch code {
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
		"InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken", "AccessDenied":
		return true
	}
	return strings.HasPrefix(code, "KMS") && strings.Contains(code, "AccessDenied")
}

func invalid(code string) bool {
	switch code {
	case "ValidationException", "ParameterMaxVersionLimitExceeded", "ParameterLimitExceeded", "HierarchyLevelLimitExceededException",
		"HierarchyTypeMismatchException", "UnsupportedParameterType", "InvalidKeyId", "ParameterPatternMismatchException":
		return true
	}
	return false
}
