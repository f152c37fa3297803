package aws

// The AWS Secrets Manager backend ("awssm").
//
// Layout: ONE SECRET PER ENVIRONMENT, holding a JSON object of the
// environment's keys, in SecretString:
//
//	myapp/prod  →  {"DATABASE_URL":"postgres://…","API_KEY":"…"}
//
// Why one secret per environment and not one per key:
//   - A push is atomic. Secrets Manager has no transaction across secrets;
//     one secret is one version, checked and set as a whole (see Push), so
//     a push lands whole or not at all, a conflict writes nothing, and
//     there is never a PartialError to recover from.
//   - Version stages mean something. AWSCURRENT is the environment as it
//     was pushed; AWSPREVIOUS is the whole previous environment, so a
//     rollback (moving AWSCURRENT back) restores a coherent set, not one key
//     from one day and another from the next.
//   - It is what other tools read. It is the key/value JSON the console
//     edits and RDS/Redshift rotation writes; ECS task definitions
//     (valueFrom "arn…:secret:myapp/prod:API_KEY::"), the Lambda extension,
//     the External Secrets Operator (property / dataFrom extract) and the
//     Secrets Store CSI driver (jmesPath) all pick one key out of it.
//   - Cost: a secret is billed per month ($0.40) and per API call; one per
//     environment costs the same for 3 keys as for 300, and a pull is one
//     GetSecretValue, not one per key (or a BatchGetSecretValue per 20).
//
// What it costs: a secret value is at most 65,536 bytes, so an environment
// whose JSON is larger is refused before anything is written (split it, or
// keep large files out of the environment); and two people changing
// different keys at once conflict (exit 6) where a per-key layout would have
// let both through: pulling and pushing again resolves it, the three-way
// plan merges the keys.
//
// Values: a value that is UTF-8 is a JSON string under its key, as any
// tool expects. A value that is not (a DER key, a Latin-1 file) cannot be
// a JSON string without being changed, so it goes, base64 (standard
// alphabet), into the object under the reserved key "hush.binary"
// (a name no hush key can have: keys are letters, digits and '_'):
//
//	{"A":"text","hush.binary":{"DER_KEY":"MIIB…"}}
//
// A string that merely looks like base64 is never decoded: only the
// values under "hush.binary" are. On pull, a number or a boolean another
// tool wrote is read as its JSON text (5432, true) and written back as a
// string; null, an array, a nested object, a key hush cannot hold, a
// repeated key, a secret in SecretBinary or a SecretString that is not a
// JSON object are refused with the key named (never the value), so
// nothing is read half.
//
// Versions: pull reads AWSCURRENT. A push writes a new version without
// stages that matter (the label HUSHPENDING) and then moves AWSCURRENT to
// it with UpdateSecretVersionStage, naming the version it must be moved
// FROM: the version the plan's base saw. Secrets Manager refuses that move
// if AWSCURRENT is elsewhere, so a concurrent writer makes the push fail
// with sync.ErrConflict and AWSCURRENT unchanged (the staged version,
// never current, is left without labels for Secrets Manager to expire).
// AWSPREVIOUS moves to the version replaced, as it does for every writer.
//
// The version's id is the push's ClientRequestToken, made by hush as
// "hush-<version number>-<random>" and used for every retry of the same
// write, so a retried PutSecretValue is idempotent, and a push whose
// answer was lost recognises its own version as AWSCURRENT when it reads
// the secret back. (The token carries no hash of the values: anyone
// allowed to list versions, and not to read them, would learn nothing.)
// Snapshot.Version is the number in the token, or for a version another
// tool made, its creation time in milliseconds: it grows with every write.
// A secret scheduled for deletion cannot be read: its version is the
// number in its AWSCURRENT token, or else its deletion time in
// milliseconds (DescribeSecret's DeletedDate, fixed when it was deleted,
// after its current version was made, and new if it is restored, written
// and deleted again). Not the version list's creation date: moto's
// ListSecretVersionIds answers the time of the call, so a push over a
// deletion a second later saw another version and refused.
//
// Deletion: a secret scheduled for deletion (DeleteSecret with a recovery
// window) reads as Snapshot.Deleted, not as empty; a push onto it from a
// base that saw it deleted (push --prefer local) restores it and writes a
// new version; any other push is refused (sync.ErrDeleted) and changes
// nothing. A secret deleted without recovery, or never written, reads as
// Missing.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

const (
	// SecretsManagerMaxValue is Secrets Manager's limit on a secret value.
	SecretsManagerMaxValue = 65536
	// smBinaryKey holds the base64 of the values that are not UTF-8.
	smBinaryKey = "hush.binary"
	// smPending labels a version between its write and its promotion to
	// AWSCURRENT.
	smPending = "HUSHPENDING"
	smCurrent = "AWSCURRENT"
)

// SecretsManagerConfig is one awssm remote, as hush.yaml's pinned
// settings give it (it says where secrets are sent). No credential: those
// come from the companion's environment, through the AWS default chain.
type SecretsManagerConfig struct {
	// Name is the secret's name for an environment: "{env}" in it is
	// replaced by the environment's name, e.g. "myapp/{env}". A name, not
	// an ARN (a new secret's ARN ends in a suffix AWS chooses). Required,
	// and it must contain "{env}".
	Name string `json:"name"`
	// Region overrides the default chain's (AWS_REGION, the profile).
	Region string `json:"region,omitempty"`
	// Endpoint overrides AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL.
	Endpoint string `json:"endpoint,omitempty"`
	// KMSKeyID is the KMS key a new secret is encrypted with (default:
	// the account's aws/secretsmanager key). Only used when hush creates
	// the secret.
	KMSKeyID string `json:"kms_key_id,omitempty"`
	// Project names the hush project in a new secret's description and
	// tags (hush:project, hush:environment).
	Project string `json:"project,omitempty"`
}

// SecretsManagerDriver serves the "awssm" kind in the companion: Open for
// push/pull/diff/status, Resolve for awssm:// references.
type SecretsManagerDriver struct {
	// WrapTransport, when set, wraps the SDK's HTTP transport (tests put
	// faults there).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// MaxAttempts bounds the tries of each call (0: 5).
	MaxAttempts int

	creds aws.CredentialsProvider // tests: instead of the default chain
}

// Open decodes config (a SecretsManagerConfig) and returns its backend.
// Unknown fields are refused, so a misspelt setting is not silently
// ignored.
func (d SecretsManagerDriver) Open(ctx context.Context, config json.RawMessage) (hushsync.Backend, error) {
	var c SecretsManagerConfig
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: awssm: the settings: %v", store.ErrInvalid, err)
	}
	return d.New(ctx, c)
}

// New returns the backend for c.
func (d SecretsManagerDriver) New(ctx context.Context, c SecretsManagerConfig) (*SecretsManager, error) {
	if !strings.Contains(c.Name, "{env}") {
		return nil, fmt.Errorf("%w: awssm: name %q must contain {env}, so that each environment has its own secret", store.ErrInvalid, c.Name)
	}
	if err := smValidName(strings.ReplaceAll(c.Name, "{env}", "env")); err != nil {
		return nil, err
	}
	client, region, err := smClient(ctx, c.Region, c.Endpoint, d.WrapTransport, d.MaxAttempts, d.creds)
	if err != nil {
		return nil, err
	}
	// The endpoint in effect, from the settings or the environment
	// (AWS_ENDPOINT_URL…): a sync with a test server is not one with AWS.
	endpoint := aws.ToString(client.Options().BaseEndpoint)
	return &SecretsManager{cfg: c, client: client, region: region, endpoint: endpoint}, nil
}

// SecretsManager is a sync.Backend on AWS Secrets Manager: one secret per
// environment (see the package's notes on the layout).
type SecretsManager struct {
	cfg      SecretsManagerConfig
	client   *secretsmanager.Client
	region   string
	endpoint string
}

var _ hushsync.Backend = (*SecretsManager)(nil)

// SecretName is the name of env's secret.
func (b *SecretsManager) SecretName(env string) string {
	return strings.ReplaceAll(b.cfg.Name, "{env}", env)
}

// Location names env's secret, its region and any endpoint override.
func (b *SecretsManager) Location(env string) string {
	loc := "awssm://" + b.SecretName(env) + " (" + b.region
	if b.endpoint != "" {
		loc += " at " + b.endpoint
	}
	return loc + ")"
}

// smValidName checks a secret name against Secrets Manager's rule.
func smValidName(name string) error {
	ok := name != "" && len(name) <= 512
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/_+=.@-", c) >= 0
	}
	if !ok {
		return fmt.Errorf("%w: awssm: secret name %q: use 1 to 512 letters, digits and /_+=.@-", store.ErrInvalid, name)
	}
	return nil
}

// smState is what a secret holds at AWSCURRENT.
type smState struct {
	exists  bool // the secret exists (deleted or not)
	deleted bool // scheduled for deletion
	current string
	version int
	values  map[string]store.Value
	// now is the server's clock when it answered (its Date header), in
	// milliseconds; 0 if it did not say.
	now int
}

func (s *smState) snapshot() *hushsync.Snapshot {
	snap := hushsync.NewSnapshot()
	snap.Version = s.version
	switch {
	case s.deleted:
		snap.Deleted = true
	case s.current == "":
		// Never written, deleted without recovery, or created without a
		// value: nothing at all for env.
		snap.Missing = true
	default:
		for k, v := range s.values {
			snap.Values[k] = v
		}
	}
	return snap
}

// matches says whether the secret is still what base saw.
func (s *smState) matches(base *hushsync.Snapshot) bool {
	if base.Deleted != s.deleted || s.version != base.Version {
		return false
	}
	if base.Missing != (s.current == "" && !s.deleted) {
		return false
	}
	return s.deleted || smSame(s.values, base.Values)
}

func smSame(a, b map[string]store.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w.Reveal() != v.Reveal() {
			return false
		}
	}
	return true
}

// Pull reads env's secret at AWSCURRENT.
func (b *SecretsManager) Pull(ctx context.Context, env string) (*hushsync.Snapshot, error) {
	if err := smValidName(b.SecretName(env)); err != nil {
		return nil, err
	}
	s, err := b.read(ctx, b.SecretName(env))
	if err != nil {
		return nil, err
	}
	return s.snapshot(), nil
}

// read is the secret's state at AWSCURRENT.
func (b *SecretsManager) read(ctx context.Context, name string) (*smState, error) {
	out, err := b.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String(smCurrent)})
	if err == nil {
		if out.SecretString == nil {
			return nil, fmt.Errorf("%w: awssm: %s holds SecretBinary, not the JSON object of an environment (another tool wrote it; hush does not overwrite it)", store.ErrInvalid, name)
		}
		values, err := smDecode(name, *out.SecretString)
		if err != nil {
			return nil, err
		}
		id := aws.ToString(out.VersionId)
		return &smState{exists: true, current: id, version: smVersion(id, out.CreatedDate), values: values, now: smServerTime(out.ResultMetadata)}, nil
	}
	switch smCode(err) {
	case "ResourceNotFoundException", "InvalidRequestException":
		// No such secret, no AWSCURRENT version, or scheduled for deletion.
	default:
		return nil, smError("GetSecretValue", name, err)
	}
	d, derr := b.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if smCode(derr) == "ResourceNotFoundException" {
		return &smState{now: smErrorTime(derr)}, nil
	}
	if derr != nil {
		return nil, smError("DescribeSecret", name, derr)
	}
	s := &smState{exists: true, deleted: d.DeletedDate != nil, now: smServerTime(d.ResultMetadata)}
	for id, stages := range d.VersionIdsToStages {
		for _, st := range stages {
			if st == smCurrent {
				s.current = id
			}
		}
	}
	if !s.deleted {
		if s.current != "" {
			// AWSCURRENT appeared between the two calls: read again.
			return nil, fmt.Errorf("awssm: %s: %w: it changed while being read; try again", name, hushsync.ErrConflict)
		}
		return s, nil
	}
	if s.version = smVersion(s.current, nil); s.version == 0 {
		s.version = int(d.DeletedDate.UnixMilli())
	}
	return s, nil
}

// smVersion is Snapshot.Version for version id: the number in a token
// hush made, else the version's creation time in milliseconds.
func smVersion(id string, created *time.Time) int {
	if n, ok := smTokenVersion(id); ok {
		return n
	}
	if created != nil {
		return int(created.UnixMilli())
	}
	return 0
}

// smToken is a fresh ClientRequestToken for a version numbered after
// base: "hush-" 19 digits "-" 16 hex digits (41 characters, within the
// API's 32 to 64). The number is the server's time now (in milliseconds,
// from its Date header; this machine's if unknown), or base+1 if that is
// not after base, so that it grows, and so that a version another tool
// writes next, numbered by its creation time on the same server, comes
// after it.
func smToken(base, now int) string {
	n := now
	if n == 0 {
		n = int(time.Now().UnixMilli())
	}
	if n <= base {
		n = base + 1
	}
	var r [8]byte
	if _, err := io.ReadFull(rand.Reader, r[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("hush-%019d-%s", n, hex.EncodeToString(r[:]))
}

// smServerTime is the Date of an answer, in milliseconds (0: none).
func smServerTime(md middleware.Metadata) int {
	if t, ok := awsmiddleware.GetServerTime(md); ok {
		return int(t.UnixMilli())
	}
	return 0
}

// smErrorTime is the Date of an error answer, in milliseconds (0: none).
func smErrorTime(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if t, perr := http.ParseTime(re.Response.Header.Get("Date")); perr == nil {
			return int(t.UnixMilli())
		}
	}
	return 0
}

func smTokenVersion(id string) (int, bool) {
	if len(id) != 41 || !strings.HasPrefix(id, "hush-") || id[24] != '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(id[5:24], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int(n), true
}

// Push applies plan to env's secret: a check-and-set of the whole
// environment against the version plan.Base saw (see the package notes).
func (b *SecretsManager) Push(ctx context.Context, env string, plan *hushsync.Plan) (*hushsync.Snapshot, error) {
	name := b.SecretName(env)
	if err := smValidName(name); err != nil {
		return nil, err
	}
	if plan.Empty() {
		return plan.Base, nil
	}
	result := plan.Result()
	payload, err := smEncode(name, result)
	if err != nil {
		return nil, err
	}
	cur, err := b.read(ctx, name)
	if err != nil {
		return nil, err
	}
	if !cur.matches(plan.Base) {
		if !cur.deleted && cur.current != "" && smSame(cur.values, result) {
			// The remote already holds the result: this push's own write
			// whose answer was lost before (a retried push), or the same
			// change made by someone else. Either way, done.
			return cur.snapshot(), nil
		}
		if cur.deleted && !plan.Base.Deleted {
			return nil, fmt.Errorf("awssm: %s: %w (scheduled for deletion since the plan was made); nothing was written (restore it with aws secretsmanager restore-secret, or push --prefer local to write the local store as a new version)", name, hushsync.ErrDeleted)
		}
		return nil, fmt.Errorf("awssm: %s: %w: the secret changed since it was read (AWSCURRENT is another version); nothing was written: pull, then push again", name, hushsync.ErrConflict)
	}
	token := smToken(plan.Base.Version, cur.now)
	switch {
	case !cur.exists:
		err = b.create(ctx, env, name, token, payload)
	case cur.deleted:
		if _, rerr := b.client.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(name)}); rerr != nil {
			return nil, smError("RestoreSecret", name, rerr)
		}
		err = b.promote(ctx, name, token, payload, cur.current)
	default:
		err = b.promote(ctx, name, token, payload, cur.current)
	}
	if err != nil {
		return nil, err
	}
	out := hushsync.NewSnapshot()
	out.Version, _ = smTokenVersion(token)
	for k, v := range result {
		out.Values[k] = v
	}
	return out, nil
}

// create makes the secret with its first version, token.
func (b *SecretsManager) create(ctx context.Context, env, name, token, payload string) error {
	in := &secretsmanager.CreateSecretInput{
		Name: aws.String(name), ClientRequestToken: aws.String(token), SecretString: aws.String(payload),
		Description: aws.String(smDescription(b.cfg.Project, env)),
		Tags:        []types.Tag{{Key: aws.String("hush:environment"), Value: aws.String(env)}},
	}
	if b.cfg.Project != "" {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String("hush:project"), Value: aws.String(b.cfg.Project)})
	}
	if b.cfg.KMSKeyID != "" {
		in.KmsKeyId = aws.String(b.cfg.KMSKeyID)
	}
	_, err := b.client.CreateSecret(ctx, in)
	if err == nil {
		return nil
	}
	switch smCode(err) {
	case "ResourceExistsException", "InvalidRequestException":
		// Created (or scheduled for deletion) by someone else meanwhile,
		// unless it is this very write, answered late.
		if b.isCurrent(ctx, name, token) {
			return nil
		}
		return fmt.Errorf("awssm: %s: %w: the secret was created by another writer since it was read; nothing was written: pull, then push again", name, hushsync.ErrConflict)
	}
	if b.isCurrent(ctx, name, token) {
		return nil
	}
	return smError("CreateSecret", name, err)
}

func smDescription(project, env string) string {
	if project == "" {
		return fmt.Sprintf("hush environment %s (a JSON object of its keys; written by hush)", env)
	}
	return fmt.Sprintf("hush project %s, environment %s (a JSON object of its keys; written by hush)", project, env)
}

// promote writes version token and moves AWSCURRENT to it from from, the
// version the plan's base saw ("" for a secret without versions).
func (b *SecretsManager) promote(ctx context.Context, name, token, payload, from string) error {
	put, err := b.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), ClientRequestToken: aws.String(token), SecretString: aws.String(payload),
		VersionStages: []string{smPending},
	})
	if err != nil {
		if smCode(err) == "InvalidRequestException" {
			// Scheduled for deletion since it was read.
			return fmt.Errorf("awssm: %s: %w: the secret was deleted since it was read; nothing was written", name, hushsync.ErrConflict)
		}
		return smError("PutSecretValue", name, err)
	}
	defer b.unlabel(ctx, name, token)
	for _, st := range put.VersionStages {
		if st == smCurrent {
			// The secret's first version is made current by Secrets
			// Manager itself.
			if from != "" {
				return fmt.Errorf("awssm: %s: internal: a secret with a current version made the new one current", name)
			}
			return nil
		}
	}
	if from == "" {
		// The secret had no version when read, and now has another one.
		if b.isCurrent(ctx, name, token) {
			return nil
		}
		return fmt.Errorf("awssm: %s: %w: another writer gave the secret its first version since it was read; nothing was written: pull, then push again", name, hushsync.ErrConflict)
	}
	_, err = b.client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(name), VersionStage: aws.String(smCurrent),
		RemoveFromVersionId: aws.String(from), MoveToVersionId: aws.String(token),
	})
	if err == nil || b.isCurrent(ctx, name, token) {
		// A lost answer: the move was made, the retry refused.
		return nil
	}
	switch smCode(err) {
	case "InvalidParameterException", "InvalidRequestException", "ResourceNotFoundException":
		return fmt.Errorf("awssm: %s: %w: AWSCURRENT moved to another version since it was read; nothing was written: pull, then push again", name, hushsync.ErrConflict)
	}
	return smError("UpdateSecretVersionStage", name, err)
}

// isCurrent says whether AWSCURRENT is on version token.
func (b *SecretsManager) isCurrent(ctx context.Context, name, token string) bool {
	d, err := b.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		return false
	}
	for _, st := range d.VersionIdsToStages[token] {
		if st == smCurrent {
			return true
		}
	}
	return false
}

// unlabel takes HUSHPENDING off version token, best effort: a version
// left with it is harmless (the next push moves the label away).
func (b *SecretsManager) unlabel(ctx context.Context, name, token string) {
	_, _ = b.client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(name), VersionStage: aws.String(smPending), RemoveFromVersionId: aws.String(token),
	})
}

// smEncode is the SecretString for values, refused before anything is
// written when a key is not one hush holds or the JSON is over the limit.
func smEncode(name string, values map[string]store.Value) (string, error) {
	text := map[string]string{}
	bin := map[string]string{}
	for k, v := range values {
		if err := store.ValidKeyName(k); err != nil {
			return "", fmt.Errorf("awssm: %s: %w", name, err)
		}
		if s := v.Reveal(); utf8.ValidString(s) {
			text[k] = s
		} else {
			bin[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	obj := map[string]any{}
	for k, v := range text {
		obj[k] = v
	}
	if len(bin) > 0 {
		obj[smBinaryKey] = bin
	}
	if err := enc.Encode(obj); err != nil {
		return "", fmt.Errorf("awssm: %s: encoding: %v", name, err)
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	if len(out) > SecretsManagerMaxValue {
		big, size := "", 0
		for k, v := range values {
			if n := len(v.Reveal()); n > size || n == size && k < big {
				big, size = k, n
			}
		}
		return "", fmt.Errorf("%w: awssm: %s: the environment is %d bytes as JSON, over Secrets Manager's limit of %d for a secret; nothing pushed (the largest value is %s, %d bytes)", store.ErrInvalid, name, len(out), SecretsManagerMaxValue, big, size)
	}
	return out, nil
}

// smObject parses a SecretString as a JSON object, refusing a repeated
// key (tools disagree on which one wins), and returns its members and the
// values under hush.binary, decoded.
func smObject(name, s string) (map[string]json.RawMessage, map[string][]byte, error) {
	notObject := fmt.Errorf("%w: awssm: %s: the secret is not a JSON object of keys (hush's awssm layout is one JSON object per environment)", store.ErrInvalid, name)
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, notObject
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, notObject
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, notObject
		}
		if _, dup := members[k]; dup {
			return nil, nil, fmt.Errorf("%w: awssm: %s: key %q appears twice in the JSON object", store.ErrInvalid, name, smShort(k))
		}
		members[k] = raw
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, notObject
	}
	bin := map[string][]byte{}
	if raw, ok := members[smBinaryKey]; ok {
		delete(members, smBinaryKey)
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, nil, fmt.Errorf("%w: awssm: %s: %s is not an object of base64 strings", store.ErrInvalid, name, smBinaryKey)
		}
		for k, v := range m {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: awssm: %s: %s: %s is not base64", store.ErrInvalid, name, smBinaryKey, smShort(k))
			}
			if _, dup := members[k]; dup {
				return nil, nil, fmt.Errorf("%w: awssm: %s: key %s is both text and in %s", store.ErrInvalid, name, smShort(k), smBinaryKey)
			}
			bin[k] = b
		}
	}
	return members, bin, nil
}

// smScalar is a member's value as text: a string as it is, a number or a
// boolean as its JSON; ok is false for null, arrays and objects.
func smScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if string(raw) == "null" {
			return "", false
		}
		return string(raw), true
	}
	return "", false
}

// smDecode reads an environment's SecretString, all or nothing.
func smDecode(name, s string) (map[string]store.Value, error) {
	members, bin, err := smObject(name, s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Value, len(members)+len(bin))
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := store.ValidKeyName(k); err != nil {
			return nil, fmt.Errorf("awssm: %s: %w (another tool wrote it; hush reads none of the secret rather than part)", name, err)
		}
		v, ok := smScalar(members[k])
		if !ok {
			return nil, fmt.Errorf("%w: awssm: %s: %s is null, an array or an object; hush reads strings, numbers and booleans", store.ErrInvalid, name, k)
		}
		if err := store.ValidValue(v); err != nil {
			return nil, fmt.Errorf("awssm: %s: %s: %w", name, k, err)
		}
		out[k] = store.Value(v)
	}
	for k, v := range bin {
		if err := store.ValidKeyName(k); err != nil {
			return nil, fmt.Errorf("awssm: %s: %s: %w", name, smBinaryKey, err)
		}
		out[k] = store.Value(v)
	}
	return out, nil
}

func smShort(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Resolve reads one awssm reference, for run --env-file and references:
//
//	awssm://NAME#KEY                              KEY of the JSON object at AWSCURRENT
//	awssm://NAME                                  the whole value (SecretString, or SecretBinary's bytes)
//	awssm://NAME?version-stage=AWSPREVIOUS#KEY    KEY as it was before the last push
//	awssm://NAME?version-id=ID#KEY                KEY in one version
//	awssm://arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf#KEY
//
// NAME is a secret's name or ARN (an ARN's region is used); the region is
// otherwise the default chain's, the endpoint AWS_ENDPOINT_URL's. KEY is
// read as hush pulls it: a string as it is, a number or boolean as its
// JSON text, a value under hush.binary as its bytes. A reference to a
// secret, version, stage or key that does not exist, or to a secret
// scheduled for deletion, wraps store.ErrNotFound.
func (d SecretsManagerDriver) Resolve(ctx context.Context, ref string) ([]byte, error) {
	r, err := smParseRef(ref)
	if err != nil {
		return nil, err
	}
	client, _, err := smClient(ctx, r.region, "", d.WrapTransport, d.MaxAttempts, d.creds)
	if err != nil {
		return nil, err
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.name)}
	if r.stage != "" {
		in.VersionStage = aws.String(r.stage)
	}
	if r.id != "" {
		in.VersionId = aws.String(r.id)
	}
	if r.stage == "" && r.id == "" {
		in.VersionStage = aws.String(smCurrent)
	}
	out, err := client.GetSecretValue(ctx, in)
	if err != nil {
		switch smCode(err) {
		case "ResourceNotFoundException":
			return nil, fmt.Errorf("awssm: %s: %w (no such secret, or no version with that stage or id)", r.show, store.ErrNotFound)
		case "InvalidRequestException":
			return nil, fmt.Errorf("awssm: %s: %w: the secret is scheduled for deletion (restore it with aws secretsmanager restore-secret)", r.show, store.ErrNotFound)
		}
		return nil, smError("GetSecretValue", r.show, err)
	}
	if r.key == "" {
		if out.SecretString != nil {
			return []byte(*out.SecretString), nil
		}
		return out.SecretBinary, nil
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("%w: awssm: %s: the secret is SecretBinary, which has no keys: drop #%s to read it whole", store.ErrInvalid, r.show, r.key)
	}
	members, bin, err := smObject(r.show, *out.SecretString)
	if err != nil {
		return nil, err
	}
	if v, ok := bin[r.key]; ok {
		return v, nil
	}
	raw, ok := members[r.key]
	if !ok {
		return nil, fmt.Errorf("awssm: %s: %w: the secret has no key %s", r.show, store.ErrNotFound, smShort(r.key))
	}
	v, ok := smScalar(raw)
	if !ok {
		return nil, fmt.Errorf("%w: awssm: %s: %s is null, an array or an object", store.ErrInvalid, r.show, smShort(r.key))
	}
	return []byte(v), nil
}

type smRef struct {
	name, key, stage, id, region string
	show                         string // the reference, for messages
}

// smParseRef parses awssm://NAME[?version-stage=S|version-id=ID][#KEY].
func smParseRef(ref string) (*smRef, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: awssm reference %q: %s (want awssm://NAME#KEY, with ?version-stage=STAGE or ?version-id=ID before the #)", store.ErrInvalid, smShort(ref), why)
	}
	rest, ok := strings.CutPrefix(ref, "awssm://")
	if !ok {
		return nil, bad("it does not start with awssm://")
	}
	r := &smRef{show: ref}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, r.key = rest[:i], rest[i+1:]
		if r.key == "" {
			return nil, bad("the key after # is empty")
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err := url.ParseQuery(rest[i+1:])
		if err != nil {
			return nil, bad("its query is malformed")
		}
		rest = rest[:i]
		for k, v := range q {
			if len(v) != 1 || v[0] == "" {
				return nil, bad(k + " must be given once, with a value")
			}
			switch k {
			case "version-stage":
				r.stage = v[0]
			case "version-id":
				r.id = v[0]
			default:
				return nil, bad("unknown parameter " + k)
			}
		}
	}
	r.name = rest
	if arn, ok := strings.CutPrefix(rest, "arn:"); ok {
		// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
		f := strings.SplitN(arn, ":", 6)
		if len(f) != 6 || f[1] != "secretsmanager" || f[2] == "" || f[4] != "secret" || f[5] == "" {
			return nil, bad("it is not the ARN of a secret")
		}
		r.region = f[2]
		return r, nil
	}
	if err := smValidName(rest); err != nil {
		return nil, bad("the secret name is empty or has characters a name cannot")
	}
	return r, nil
}
