package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/synctest"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

func TestMain(m *testing.M) {
	// Nothing of the machine's own AWS setup may leak into the tests.
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// smEnv is a moto_server checking SigV4 signatures and IAM policies, with
// a user allowed everything and one allowed nothing.
type smEnv struct {
	m                *vaulttest.Moto
	key, secret      string // allowed
	nobody, nobodyPw string // no policy
	admin            *secretsmanager.Client
}

func startSM(t *testing.T) *smEnv {
	t.Helper()
	m := vaulttest.StartMoto(t, 5)
	e := &smEnv{m: m}
	e.key, e.secret = m.User(t, "hush", true)
	e.nobody, e.nobodyPw = m.User(t, "nobody", false)
	c, _, err := smClient(context.Background(), "us-east-1", m.URL, nil, 0, credentials.NewStaticCredentialsProvider(e.key, e.secret, ""))
	if err != nil {
		t.Fatal(err)
	}
	e.admin = c
	return e
}

// backend is a backend on e as the hush user, its transport wrapped.
func (e *smEnv) backend(t *testing.T, name string, wrap func(http.RoundTripper) http.RoundTripper) *SecretsManager {
	t.Helper()
	return e.backendAs(t, name, wrap, e.key, e.secret)
}

func (e *smEnv) backendAs(t *testing.T, name string, wrap func(http.RoundTripper) http.RoundTripper, key, secret string) *SecretsManager {
	t.Helper()
	d := SecretsManagerDriver{WrapTransport: wrap, creds: credentials.NewStaticCredentialsProvider(key, secret, "")}
	b, err := d.New(context.Background(), SecretsManagerConfig{Name: name, Region: "us-east-1", Endpoint: e.m.URL, Project: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var seq atomic.Int64

func fresh(prefix string) string {
	return fmt.Sprintf("%s%d-%d/{env}", prefix, time.Now().UnixNano()%1e9, seq.Add(1))
}

func ctxT(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func pushAll(t *testing.T, b hushsync.Backend, env string, want map[string]store.Value) (*hushsync.Snapshot, error) {
	t.Helper()
	return synctest.PushAll(t, b, env, want)
}

func mustPush(t *testing.T, b hushsync.Backend, env string, want map[string]store.Value) *hushsync.Snapshot {
	t.Helper()
	s, err := pushAll(t, b, env, want)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return s
}

func mustPull(t *testing.T, b hushsync.Backend, env string) *hushsync.Snapshot {
	t.Helper()
	s, err := b.Pull(ctxT(t), env)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return s
}

func wantValues(t *testing.T, b hushsync.Backend, env string, want map[string]store.Value) *hushsync.Snapshot {
	t.Helper()
	s := mustPull(t, b, env)
	if s.Missing || s.Deleted || synctest.Show(s.Values) != synctest.Show(want) {
		t.Fatalf("remote holds %s (%+v), want %s", synctest.Show(s.Values), s, synctest.Show(want))
	}
	return s
}

var vals = synctest.Vals

// stages is the secret's versions and their labels.
func (e *smEnv) stages(t *testing.T, name string) map[string][]string {
	t.Helper()
	d, err := e.admin.DescribeSecret(ctxT(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return d.VersionIdsToStages
}

func (e *smEnv) versionCount(t *testing.T, name string) int {
	t.Helper()
	out, err := e.admin.ListSecretVersionIds(ctxT(t), &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(name), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Versions)
}

func stageOf(m map[string][]string, stage string) string {
	for id, ss := range m {
		for _, s := range ss {
			if s == stage {
				return id
			}
		}
	}
	return ""
}

// noPending fails if a version still carries HUSHPENDING.
func noPending(t *testing.T, m map[string][]string) {
	t.Helper()
	if id := stageOf(m, smPending); id != "" {
		t.Errorf("version %s still labelled %s: %v", id, smPending, m)
	}
}

// TestSecretsManager runs the conformance suite and the backend's own
// rules against one moto_server.
func TestSecretsManager(t *testing.T) {
	t.Parallel()
	e := startSM(t)

	t.Run("Conformance", func(t *testing.T) {
		name := fresh("st")
		synctest.Run(t, func(t *testing.T) (hushsync.Backend, synctest.Remote) {
			f := &synctest.Faults{IsWrite: synctest.AWSWrite}
			b := e.backend(t, name, f.Wrap)
			return b, synctest.Remote{
				LoseAnswer:   f.LoseNextWrite,
				ServerErrors: f.ServerErrors,
				Unreachable: func(t *testing.T) hushsync.Backend {
					d := SecretsManagerDriver{creds: credentials.NewStaticCredentialsProvider(e.key, e.secret, "")}
					u, err := d.New(context.Background(), SecretsManagerConfig{Name: name, Region: "us-east-1", Endpoint: closedPort(t)})
					if err != nil {
						t.Fatal(err)
					}
					return u
				},
				Delete: func(t *testing.T, env, _ string) {
					// One object per environment: deleting a key out of
					// band is scheduling the secret for deletion.
					if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(b.SecretName(env)), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
						t.Fatal(err)
					}
				},
				Vanish: func(t *testing.T, env string) {
					if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(b.SecretName(env)), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
				},
			}
		})
	})

	t.Run("TwoWriters", func(t *testing.T) {
		name := fresh("race")
		a, b := e.backend(t, name, nil), e.backend(t, name, nil)
		mustPush(t, a, "prod", vals("A", "0"))
		for round := 1; round <= 5; round++ {
			base := mustPull(t, a, "prod")
			errs := make([]error, 2)
			wants := []map[string]store.Value{vals("A", fmt.Sprint(round), "W", "a"), vals("A", fmt.Sprint(round), "W", "b")}
			synctest.Parallel(2, func(i int) {
				_, errs[i] = []hushsync.Backend{a, b}[i].Push(ctxT(t), "prod", synctest.PlanFor(base, wants[i]))
			})
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won == -1:
					won = i
				case err == nil:
					t.Fatalf("round %d: both writers succeeded from the same base", round)
				case !errors.Is(err, hushsync.ErrConflict):
					t.Fatalf("round %d: writer %d: %v, want ErrConflict", round, i, err)
				}
			}
			if won == -1 {
				t.Fatalf("round %d: neither writer succeeded: %v", round, errs)
			}
			wantValues(t, a, "prod", wants[won])
			st := e.stages(t, a.SecretName("prod"))
			noPending(t, st)
			if cur := stageOf(st, "AWSCURRENT"); !strings.HasPrefix(cur, "hush-") {
				t.Errorf("AWSCURRENT is on %q, not a version hush made", cur)
			}
		}
	})

	t.Run("WriterBetweenReadAndMove", func(t *testing.T) {
		// Writer A has read the secret and staged its version; B pushes
		// then, before A moves AWSCURRENT: Secrets Manager must refuse A's
		// move, and A must say conflict, having made nothing current.
		name := fresh("cas")
		gate := &gated{op: "UpdateSecretVersionStage", reached: make(chan struct{}), release: make(chan struct{})}
		a, b := e.backend(t, name, gate.wrap), e.backend(t, name, nil)
		base := mustPush(t, b, "prod", vals("A", "0", "K", "k"))
		gate.armed.Store(true)
		done := make(chan error, 1)
		go func() {
			_, err := a.Push(ctxT(t), "prod", synctest.PlanFor(base, vals("A", "mine", "K", "k")))
			done <- err
		}()
		<-gate.reached
		if _, err := b.Push(ctxT(t), "prod", synctest.PlanFor(base, vals("A", "theirs", "K", "k"))); err != nil {
			t.Fatalf("B's push: %v", err)
		}
		close(gate.release)
		if err := <-done; !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), "nothing was written") {
			t.Fatalf("A's push after B's: %v, want ErrConflict", err)
		}
		wantValues(t, b, "prod", vals("A", "theirs", "K", "k"))
		st := e.stages(t, a.SecretName("prod"))
		noPending(t, st)
		if n := len(st); n != 3 && n != 2 {
			t.Logf("versions and stages: %v", st)
		}
	})

	t.Run("DeletionAndRestore", func(t *testing.T) {
		name := fresh("del")
		b := e.backend(t, name, nil)
		secret := b.SecretName("prod")
		mustPush(t, b, "prod", vals("A", "1", "B", "2"))
		stale := mustPull(t, b, "prod")
		if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(secret), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
			t.Fatal(err)
		}
		s := mustPull(t, b, "prod")
		if !s.Deleted || s.Missing || len(s.Values) != 0 || s.Values == nil || s.Version != stale.Version {
			t.Fatalf("a secret scheduled for deletion reads as %+v, want Deleted at version %d", s, stale.Version)
		}
		// A push from a base that did not see the deletion is refused, and
		// the secret stays deleted.
		_, err := b.Push(ctxT(t), "prod", synctest.PlanFor(stale, vals("A", "1", "B", "3")))
		if !errors.Is(err, hushsync.ErrDeleted) || !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), "nothing was written") {
			t.Fatalf("push onto a deleted secret from a live base: %v, want ErrDeleted", err)
		}
		if s := mustPull(t, b, "prod"); !s.Deleted {
			t.Fatalf("a refused push restored the secret: %+v", s)
		}
		// Restored out of band: the values are back, AWSCURRENT as it was.
		if _, err := e.admin.RestoreSecret(ctxT(t), &secretsmanager.RestoreSecretInput{SecretId: aws.String(secret)}); err != nil {
			t.Fatal(err)
		}
		if got := wantValues(t, b, "prod", vals("A", "1", "B", "2")); got.Version != stale.Version {
			t.Errorf("restored at version %d, want %d", got.Version, stale.Version)
		}
		// Deleted again, and written over from a base that saw it deleted
		// (push --prefer local): restored with the new values.
		if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(secret), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
			t.Fatal(err)
		}
		del := mustPull(t, b, "prod")
		out, err := b.Push(ctxT(t), "prod", &hushsync.Plan{Base: del, Set: vals("A", "new")})
		if err != nil {
			t.Fatalf("push over a deletion: %v", err)
		}
		if out.Version <= del.Version {
			t.Errorf("version %d after the push, not after %d", out.Version, del.Version)
		}
		wantValues(t, b, "prod", vals("A", "new"))
		noPending(t, e.stages(t, secret))
		// Deleted without recovery: nothing left, Missing.
		if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(secret), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		if s := mustPull(t, b, "prod"); !s.Missing || s.Deleted || s.Version != 0 {
			t.Fatalf("a force-deleted secret reads as %+v, want Missing", s)
		}
	})

	t.Run("VersionStages", func(t *testing.T) {
		name := fresh("stage")
		b := e.backend(t, name, nil)
		secret := b.SecretName("prod")
		v1 := mustPush(t, b, "prod", vals("A", "one"))
		first := stageOf(e.stages(t, secret), "AWSCURRENT")
		v2 := mustPush(t, b, "prod", vals("A", "two"))
		st := e.stages(t, secret)
		second := stageOf(st, "AWSCURRENT")
		if !strings.HasPrefix(first, "hush-") || !strings.HasPrefix(second, "hush-") || first == second {
			t.Fatalf("version ids %q, %q: want two hush tokens", first, second)
		}
		if stageOf(st, "AWSPREVIOUS") != first {
			t.Errorf("AWSPREVIOUS on %q, want the first version %q: %v", stageOf(st, "AWSPREVIOUS"), first, st)
		}
		noPending(t, st)
		if v2.Version <= v1.Version {
			t.Errorf("versions %d then %d: they must grow", v1.Version, v2.Version)
		}
		// A rotation in progress (AWSPENDING) is not what pull reads.
		if _, err := e.admin.PutSecretValue(ctxT(t), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secret),
			SecretString: aws.String(`{"A":"pending"}`), VersionStages: []string{"AWSPENDING"}}); err != nil {
			t.Fatal(err)
		}
		if got := wantValues(t, b, "prod", vals("A", "two")); got.Version != v2.Version {
			t.Errorf("pull at version %d, want AWSCURRENT's %d", got.Version, v2.Version)
		}
		// Another tool moves AWSCURRENT back (a rollback): pull follows it,
		// and a push from the base before the rollback is a conflict.
		if _, err := e.admin.UpdateSecretVersionStage(ctxT(t), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(secret),
			VersionStage: aws.String("AWSCURRENT"), RemoveFromVersionId: aws.String(second), MoveToVersionId: aws.String(first)}); err != nil {
			t.Fatal(err)
		}
		if got := wantValues(t, b, "prod", vals("A", "one")); got.Version != v1.Version {
			t.Errorf("after the rollback pull is at %d, want %d", got.Version, v1.Version)
		}
		if _, err := b.Push(ctxT(t), "prod", synctest.PlanFor(v2, vals("A", "three"))); !errors.Is(err, hushsync.ErrConflict) {
			t.Fatalf("push from the base before a rollback: %v, want ErrConflict", err)
		}
		wantValues(t, b, "prod", vals("A", "one"))
	})

	t.Run("ForeignWriter", func(t *testing.T) {
		name := fresh("foreign")
		b := e.backend(t, name, nil)
		secret := b.SecretName("prod")
		base := mustPush(t, b, "prod", vals("A", "1"))
		// The console's key/value editor, or RDS: numbers, booleans.
		e.foreignPut(t, secret, &secretsmanager.PutSecretValueInput{SecretString: aws.String(`{"A":"1","port":5432,"ssl":true,"host":"db"}`)})
		s := wantValues(t, b, "prod", vals("A", "1", "port", "5432", "ssl", "true", "host", "db"))
		// Numbered by its creation time on the server, it is not before
		// hush's version (whose number is the server's clock too), so the
		// sync does not take it for a re-created secret.
		if s.Version < base.Version || s.Version == 0 {
			t.Errorf("a foreign version has version %d, before hush's %d", s.Version, base.Version)
		}
		if _, err := b.Push(ctxT(t), "prod", synctest.PlanFor(base, vals("A", "2"))); !errors.Is(err, hushsync.ErrConflict) {
			t.Fatalf("push from the base before a foreign write: %v, want ErrConflict", err)
		}
		if _, err := b.Push(ctxT(t), "prod", synctest.PlanFor(s, vals("A", "2", "port", "5433"))); err != nil {
			t.Fatalf("push after pulling the foreign write: %v", err)
		}
		wantValues(t, b, "prod", vals("A", "2", "port", "5433"))

		// What hush cannot read whole, it refuses whole, naming the key and
		// not the value.
		for _, c := range []struct{ body, want string }{
			{`{"A":"1","db-host":"canary-x"}`, `"db-host"`},
			{`{"A":"1","N":null}`, "N is null"},
			{`{"A":"1","O":{"x":"canary-x"}}`, "O is null, an array or an object"},
			{`{"A":"canary-x","A":"2"}`, `key "A" appears twice`},
			{`["canary-x"]`, "not a JSON object"},
			{`canary-x`, "not a JSON object"},
			{`{"A":"1"} {"B":"2"}`, "not a JSON object"},
			{`{"hush.binary":{"A":"!!!"}}`, "is not base64"},
			{`{"A":"1","hush.binary":{"A":"AAAA"}}`, "both text and in hush.binary"},
		} {
			e.foreignPut(t, secret, &secretsmanager.PutSecretValueInput{SecretString: aws.String(c.body)})
			_, err := b.Pull(ctxT(t), "prod")
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "canary") {
				t.Errorf("pull of %s: %v, want ErrInvalid naming %s and no value", c.body, err, c.want)
			}
		}
		e.foreignPut(t, secret, &secretsmanager.PutSecretValueInput{SecretBinary: []byte{0, 1, 2}})
		if _, err := b.Pull(ctxT(t), "prod"); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "SecretBinary") {
			t.Errorf("pull of a SecretBinary secret: %v", err)
		}
	})

	t.Run("CreatedWithoutValue", func(t *testing.T) {
		// Terraform's aws_secretsmanager_secret, or the console, makes the
		// secret with no version: nothing to read, and hush's first push
		// gives it its first version (AWSCURRENT by Secrets Manager's rule).
		name := fresh("tf")
		b := e.backend(t, name, nil)
		secret := b.SecretName("prod")
		if _, err := e.admin.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String(secret), Description: aws.String("made by terraform")}); err != nil {
			t.Fatal(err)
		}
		empty := mustPull(t, b, "prod")
		if !empty.Missing || empty.Deleted || empty.Version != 0 {
			t.Fatalf("a secret without a version reads as %+v, want Missing", empty)
		}
		out, err := b.Push(ctxT(t), "prod", synctest.PlanFor(empty, vals("A", "1")))
		if err != nil {
			t.Fatalf("first push into a secret without a version: %v", err)
		}
		if got := wantValues(t, b, "prod", vals("A", "1")); got.Version != out.Version {
			t.Errorf("pushed version %d, pulled %d", out.Version, got.Version)
		}
		st := e.stages(t, secret)
		noPending(t, st)
		if !strings.HasPrefix(stageOf(st, "AWSCURRENT"), "hush-") || len(st) != 1 {
			t.Errorf("stages %v, want one hush version, current", st)
		}
		// Another such secret, given its first version by someone else
		// after hush read it: a conflict, their value kept.
		secret2 := b.SecretName("stage")
		if _, err := e.admin.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String(secret2)}); err != nil {
			t.Fatal(err)
		}
		empty = mustPull(t, b, "stage")
		if _, err := e.admin.PutSecretValue(ctxT(t), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secret2), SecretString: aws.String(`{"A":"theirs"}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Push(ctxT(t), "stage", synctest.PlanFor(empty, vals("A", "mine"))); !errors.Is(err, hushsync.ErrConflict) {
			t.Fatalf("push after someone else's first version: %v, want ErrConflict", err)
		}
		wantValues(t, b, "stage", vals("A", "theirs"))
	})

	t.Run("ForeignVersionDeleted", func(t *testing.T) {
		// A secret another tool wrote, then deleted: its version number is
		// its deletion time, the same at every read, and a push over it
		// works.
		name := fresh("fdel")
		b := e.backend(t, name, nil)
		secret := b.SecretName("prod")
		if _, err := e.admin.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String(secret), SecretString: aws.String(`{"A":"1"}`)}); err != nil {
			t.Fatal(err)
		}
		live := wantValues(t, b, "prod", vals("A", "1"))
		if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(secret), RecoveryWindowInDays: aws.Int64(30)}); err != nil {
			t.Fatal(err)
		}
		d, err := e.admin.DescribeSecret(ctxT(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(secret)})
		if err != nil || d.DeletedDate == nil {
			t.Fatalf("describe: %v", err)
		}
		del := mustPull(t, b, "prod")
		if want := int(d.DeletedDate.UnixMilli()); !del.Deleted || del.Version != want || del.Version < live.Version || live.Version == 0 {
			t.Fatalf("deleted: %+v, want Deleted at version %d (after %d)", del, want, live.Version)
		}
		time.Sleep(1100 * time.Millisecond) // a second on: the same version still
		if again := mustPull(t, b, "prod"); again.Version != del.Version {
			t.Fatalf("deleted, read again: version %d, was %d", again.Version, del.Version)
		}
		if _, err := b.Push(ctxT(t), "prod", &hushsync.Plan{Base: del, Set: vals("A", "2")}); err != nil {
			t.Fatalf("push over the deletion: %v", err)
		}
		wantValues(t, b, "prod", vals("A", "2"))
	})

	t.Run("BinaryLayout", func(t *testing.T) {
		name := fresh("bin")
		b := e.backend(t, name, nil)
		want := vals("TEXT", "héllo <&>", "DER", "\x30\x82\x01\xff\x00", "LOOKS", "base64:AAEC")
		mustPush(t, b, "prod", want)
		wantValues(t, b, "prod", want)
		out, err := e.admin.GetSecretValue(ctxT(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(b.SecretName("prod"))})
		if err != nil {
			t.Fatal(err)
		}
		// Another tool reads the text keys as plain JSON strings, and the
		// binary one as base64 under hush.binary.
		var raw map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &raw); err != nil {
			t.Fatalf("SecretString is not JSON: %v", err)
		}
		bin, _ := raw["hush.binary"].(map[string]any)
		if raw["TEXT"] != "héllo <&>" || raw["LOOKS"] != "base64:AAEC" || raw["DER"] != nil || bin["DER"] != "MIIB/wA=" || len(raw) != 3 {
			t.Errorf("SecretString %s: want TEXT and LOOKS as strings and DER in hush.binary", aws.ToString(out.SecretString))
		}
		if !strings.Contains(aws.ToString(out.SecretString), "<&>") {
			t.Errorf("SecretString %s escapes HTML characters", aws.ToString(out.SecretString))
		}
	})

	t.Run("LostAnswers", func(t *testing.T) {
		// The answer of each kind of write is lost after the server made
		// it; the push must succeed, once.
		for _, op := range []string{"CreateSecret", "PutSecretValue", "UpdateSecretVersionStage", "RestoreSecret"} {
			t.Run(op, func(t *testing.T) {
				d := &dropper{op: op}
				name := fresh("lost")
				b := e.backend(t, name, d.wrap)
				secret := b.SecretName("prod")
				if op != "CreateSecret" {
					mustPush(t, b, "prod", vals("A", "1"))
				}
				if op == "RestoreSecret" {
					if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String(secret), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
						t.Fatal(err)
					}
				}
				before := 0
				if op != "CreateSecret" {
					before = e.versionCount(t, secret)
				}
				base := mustPull(t, b, "prod")
				d.armed.Store(true)
				out, err := b.Push(ctxT(t), "prod", &hushsync.Plan{Base: base, Set: vals("A", "2", "B", "b")})
				if err != nil {
					t.Fatalf("push with the %s answer lost: %v", op, err)
				}
				if d.dropped.Load() != 1 {
					t.Fatalf("%d %s answers dropped, want 1", d.dropped.Load(), op)
				}
				got := wantValues(t, b, "prod", vals("A", "2", "B", "b"))
				if got.Version != out.Version {
					t.Errorf("push returned version %d, the remote is at %d", out.Version, got.Version)
				}
				if n := e.versionCount(t, secret); n != before+1 {
					t.Errorf("%d versions after the push, want %d: a retried write made another", n, before+1)
				}
				noPending(t, e.stages(t, secret))
			})
		}
	})

	t.Run("ThrottlingBounded", func(t *testing.T) {
		name := fresh("throttle")
		th := &throttler{}
		b := e.backend(t, name, th.wrap)
		mustPush(t, b, "prod", vals("A", "1"))
		// A few throttled answers: retried through.
		th.left.Store(2)
		wantValues(t, b, "prod", vals("A", "1"))
		if th.sent.Load() != 2 {
			t.Errorf("%d throttled answers sent, want 2", th.sent.Load())
		}
		// Throttled for good: given up on after smMaxAttempts tries.
		th.sent.Store(0)
		th.left.Store(1 << 30)
		start := time.Now()
		_, err := b.Pull(ctxT(t), "prod")
		if !errors.Is(err, hushsync.ErrUnavailable) || errors.Is(err, hushsync.ErrDenied) || !strings.Contains(err.Error(), "ThrottlingException") {
			t.Fatalf("pull while throttled: %v, want ErrUnavailable", err)
		}
		if n := th.sent.Load(); n != smMaxAttempts {
			t.Errorf("%d tries, want %d", n, smMaxAttempts)
		}
		t.Logf("gave up after %d tries in %v", th.sent.Load(), time.Since(start))
		th.left.Store(0)
	})

	t.Run("AccessDenied", func(t *testing.T) {
		name := fresh("denied")
		mustPush(t, e.backend(t, name, nil), "prod", vals("A", "1"))
		for _, c := range []struct{ who, key, secret string }{
			{"a user without a policy", e.nobody, e.nobodyPw},
			{"a wrong secret key", e.key, "wrong" + e.secret[5:]},
			{"an unknown key", "AKIAUNKNOWN000000000", e.secret},
		} {
			b := e.backendAs(t, name, nil, c.key, c.secret)
			_, err := b.Pull(ctxT(t), "prod")
			if !errors.Is(err, hushsync.ErrDenied) || !errors.Is(err, hushsync.ErrUnavailable) {
				t.Errorf("pull as %s: %v, want ErrDenied", c.who, err)
			}
			if err != nil && strings.Contains(err.Error(), c.secret) {
				t.Errorf("the error carries the secret key: %v", err)
			}
			base := hushsync.NewSnapshot()
			base.Missing = true
			if _, err := b.Push(ctxT(t), "other", &hushsync.Plan{Base: base, Set: vals("A", "1")}); !errors.Is(err, hushsync.ErrDenied) {
				t.Errorf("push as %s: %v, want ErrDenied", c.who, err)
			}
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		name := fresh("big")
		b := e.backend(t, name, nil)
		big := vals("SMALL", "x", "HUGE", strings.Repeat("y", SecretsManagerMaxValue))
		_, err := pushAll(t, b, "prod", big)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "HUGE") || !strings.Contains(err.Error(), "nothing pushed") {
			t.Fatalf("push over the limit: %v", err)
		}
		if s := mustPull(t, b, "prod"); !s.Missing {
			t.Fatalf("a refused push created the secret: %+v", s)
		}
		mustPush(t, b, "prod", vals("A", "1"))
		n := e.versionCount(t, b.SecretName("prod"))
		// Just over: the JSON's own quotes and escapes count.
		edge := vals("A", "1", "Q", strings.Repeat(`"`, SecretsManagerMaxValue/2))
		if _, err := pushAll(t, b, "prod", edge); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("push of %d quotes (twice that escaped): %v", SecretsManagerMaxValue/2, err)
		}
		if e.versionCount(t, b.SecretName("prod")) != n {
			t.Error("a refused push wrote a version")
		}
		wantValues(t, b, "prod", vals("A", "1"))
		// Just under the limit goes through.
		fit := vals("A", strings.Repeat("z", SecretsManagerMaxValue-len(`{"A":""}`)))
		mustPush(t, b, "prod", fit)
		wantValues(t, b, "prod", fit)
	})
}

// foreignPut writes a new AWSCURRENT version of secret as another tool
// would. (Not with a plain PutSecretValue: moto 5.2.1 then moves
// AWSCURRENT away only from the version it last made current itself, so
// after a hush push, which moves the label with UpdateSecretVersionStage,
// two versions would hold it. AWS moves the label from wherever it is; a
// rotation function writes AWSPENDING and moves AWSCURRENT, as here.)
func (e *smEnv) foreignPut(t *testing.T, secret string, in *secretsmanager.PutSecretValueInput) {
	t.Helper()
	cur := stageOf(e.stages(t, secret), "AWSCURRENT")
	in.SecretId, in.VersionStages = aws.String(secret), []string{"AWSPENDING"}
	out, err := e.admin.PutSecretValue(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.UpdateSecretVersionStage(ctxT(t), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(secret),
		VersionStage: aws.String("AWSCURRENT"), RemoveFromVersionId: aws.String(cur), MoveToVersionId: out.VersionId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.UpdateSecretVersionStage(ctxT(t), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(secret),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: out.VersionId}); err != nil {
		t.Fatal(err)
	}
}

// closedPort is an endpoint nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// dropper loses the answer of the first op request once armed, after the
// server made it.
type dropper struct {
	op      string
	armed   atomic.Bool
	dropped atomic.Int64
	next    http.RoundTripper
}

func (d *dropper) wrap(next http.RoundTripper) http.RoundTripper { d.next = next; return d }

func (d *dropper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+d.op) && resp.StatusCode == 200 && d.armed.CompareAndSwap(true, false) {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d.dropped.Add(1)
		return nil, errors.New("connection reset by peer (test: answer lost)")
	}
	return resp, err
}

// gated holds the first op request, once armed, until release.
type gated struct {
	op               string
	armed            atomic.Bool
	reached, release chan struct{}
	next             http.RoundTripper
}

func (g *gated) wrap(next http.RoundTripper) http.RoundTripper { g.next = next; return g }

func (g *gated) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+g.op) && g.armed.CompareAndSwap(true, false) {
		close(g.reached)
		<-g.release
	}
	return g.next.RoundTrip(r)
}

// throttler answers ThrottlingException while left > 0.
type throttler struct {
	left, sent atomic.Int64
	next       http.RoundTripper
}

func (th *throttler) wrap(next http.RoundTripper) http.RoundTripper { th.next = next; return th }

func (th *throttler) RoundTrip(r *http.Request) (*http.Response, error) {
	if th.left.Add(-1) >= 0 {
		th.sent.Add(1)
		io.Copy(io.Discard, r.Body)
		return &http.Response{StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Errortype": {"ThrottlingException"}},
			Body:    io.NopCloser(strings.NewReader(`{"__type":"ThrottlingException","message":"Rate exceeded"}`)),
			Request: r}, nil
	}
	th.left.Store(0)
	return th.next.RoundTrip(r)
}

// TestSecretsManagerServerGone: a moto_server reset (a dev server
// restarted empty) reads as Missing; stopped, as ErrUnavailable.
func TestSecretsManagerServerGone(t *testing.T) {
	t.Parallel()
	m := vaulttest.StartMoto(t, 1<<30) // never checks signatures: a reset drops IAM too
	e := &smEnv{m: m, key: "AKIATEST", secret: "test"}
	b := e.backend(t, fresh("gone"), nil)
	mustPush(t, b, "prod", vals("A", "1"))
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := mustPull(t, b, "prod"); !s.Missing || s.Version != 0 {
		t.Fatalf("after a reset: %+v, want Missing", s)
	}
	mustPush(t, b, "prod", vals("A", "2"))
	stale := mustPull(t, b, "prod")
	m.Stop()
	start := time.Now()
	if _, err := b.Pull(ctxT(t), "prod"); !errors.Is(err, hushsync.ErrUnavailable) || errors.Is(err, hushsync.ErrDenied) {
		t.Errorf("pull from a stopped server: %v, want ErrUnavailable", err)
	}
	if _, err := b.Push(ctxT(t), "prod", synctest.PlanFor(stale, vals("A", "3"))); !errors.Is(err, hushsync.ErrUnavailable) {
		t.Errorf("push to a stopped server: %v, want ErrUnavailable", err)
	}
	t.Logf("both failed in %v", time.Since(start))
}

// TestSecretsManagerResolve reads references through the default chain
// and AWS_ENDPOINT_URL, as the companion does.
func TestSecretsManagerResolve(t *testing.T) {
	e := startSM(t)
	t.Setenv("AWS_ENDPOINT_URL", e.m.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", e.key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.secret)
	b := e.backend(t, "app/{env}", nil)
	mustPush(t, b, "prod", vals("A", "one", "BIN", "\xff\x00"))
	mustPush(t, b, "prod", vals("A", "two", "BIN", "\xff\x00", "N", ""))
	prev := stageOf(e.stages(t, "app/prod"), "AWSPREVIOUS")
	if _, err := e.admin.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String("blob"), SecretBinary: []byte{0, 0xfe}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String("rds"), SecretString: aws.String(`{"port":5432,"db-host":"h"}`)}); err != nil {
		t.Fatal(err)
	}
	arn, err := e.admin.DescribeSecret(ctxT(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/prod")})
	if err != nil {
		t.Fatal(err)
	}
	d := SecretsManagerDriver{}
	for _, c := range []struct{ ref, want string }{
		{"awssm://app/prod#A", "two"},
		{"awssm://app/prod#N", ""},
		{"awssm://app/prod#BIN", "\xff\x00"},
		{"awssm://app/prod?version-stage=AWSPREVIOUS#A", "one"},
		{"awssm://app/prod?version-stage=AWSCURRENT#A", "two"},
		{"awssm://app/prod?version-id=" + prev + "#A", "one"},
		{"awssm://" + aws.ToString(arn.ARN) + "#A", "two"},
		{"awssm://blob", "\x00\xfe"},
		{"awssm://rds#port", "5432"},
		{"awssm://rds#db-host", "h"},
		{"awssm://rds", `{"port":5432,"db-host":"h"}`},
	} {
		got, err := d.Resolve(ctxT(t), c.ref)
		if err != nil || string(got) != c.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", c.ref, got, err, c.want)
		}
	}
	for _, ref := range []string{"awssm://nosuch#A", "awssm://app/prod#NOSUCH", "awssm://app/prod?version-stage=NOSTAGE#A",
		"awssm://app/prod?version-id=00000000-0000-0000-0000-000000000000#A", "awssm://app/other"} {
		if _, err := d.Resolve(ctxT(t), ref); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Resolve(%s): %v, want ErrNotFound", ref, err)
		}
	}
	for _, ref := range []string{"awssm:/app/prod#A", "awssm://#A", "awssm://app/prod#", "awssm://app/prod?stage=X#A",
		"awssm://app prod#A", "awssm://arn:aws:s3:::bucket#A", "awssm://app/prod?version-stage=#A", "awssm://blob#A"} {
		if _, err := d.Resolve(ctxT(t), ref); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Resolve(%s): %v, want ErrInvalid", ref, err)
		}
	}
	// Scheduled for deletion: names nothing readable.
	if _, err := e.admin.DeleteSecret(ctxT(t), &secretsmanager.DeleteSecretInput{SecretId: aws.String("rds"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctxT(t), "awssm://rds#port"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "scheduled for deletion") {
		t.Errorf("Resolve of a deleted secret: %v", err)
	}
	// The backend through Open, from the default chain too.
	be, err := d.Open(ctxT(t), json.RawMessage(`{"name":"app/{env}"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, be, "prod", vals("A", "two", "BIN", "\xff\x00", "N", ""))
	if loc := be.Location("prod"); loc != "awssm://app/prod (us-east-1 at "+e.m.URL+")" {
		t.Errorf("Location = %q", loc)
	}
	// Denied: ErrDenied, not ErrNotFound.
	t.Setenv("AWS_ACCESS_KEY_ID", e.nobody)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.nobodyPw)
	if _, err := d.Resolve(ctxT(t), "awssm://app/prod#A"); !errors.Is(err, hushsync.ErrDenied) {
		t.Errorf("Resolve without rights: %v, want ErrDenied", err)
	}
}

func TestSecretsManagerOpen(t *testing.T) {
	t.Parallel()
	d := SecretsManagerDriver{creds: credentials.NewStaticCredentialsProvider("AKIATEST", "test", "")}
	for _, c := range []struct{ cfg, want string }{
		{`{"name":"app/prod"}`, "must contain {env}"},
		{`{"name":"app/{env}","regoin":"x"}`, "unknown field"},
		{`{"name":"app {env}","region":"us-east-1"}`, "use 1 to 512"},
		{`{"name":"app/{env}"}`, "no AWS region"},
		{`not json`, "settings"},
	} {
		_, err := d.Open(context.Background(), json.RawMessage(c.cfg))
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): %v, want ErrInvalid with %q", c.cfg, err, c.want)
		}
	}
	b, err := d.Open(context.Background(), json.RawMessage(`{"name":"app/{env}","region":"eu-west-1","endpoint":"http://127.0.0.1:9"}`))
	if err != nil {
		t.Fatal(err)
	}
	if b2, err := d.Open(context.Background(), json.RawMessage(`{"name":"app/{env}","region":"eu-west-1"}`)); err != nil || b2.Location("prod") != "awssm://app/prod (eu-west-1)" {
		t.Errorf("Location without an endpoint: %v", err)
	}
	if _, err := b.Pull(context.Background(), "bad env"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("pull of an environment no secret can be named after: %v", err)
	}
	if loc := b.Location("prod"); loc != "awssm://app/prod (eu-west-1 at http://127.0.0.1:9)" {
		t.Errorf("Location = %q", loc)
	}
}

func TestSecretsManagerTokens(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	prev := 0
	for i := 0; i < 100; i++ {
		tok := smToken(prev, 0)
		n, ok := smTokenVersion(tok)
		if !ok || n <= prev || len(tok) < 32 || len(tok) > 64 || seen[tok] {
			t.Fatalf("token %q after %d: version %d %v", tok, prev, n, ok)
		}
		seen[tok], prev = true, n
	}
	// A base from a clock ahead of this one still gives a greater version.
	far := int(time.Now().Add(time.Hour).UnixMilli())
	if n, _ := smTokenVersion(smToken(far, 0)); n != far+1 {
		t.Errorf("after %d: %d", far, n)
	}
	// The server's clock, when known, numbers the version.
	if n, _ := smTokenVersion(smToken(41, 5000)); n != 5000 {
		t.Errorf("with the server at 5000: %d", n)
	}
	if n, _ := smTokenVersion(smToken(5000, 5000)); n != 5001 {
		t.Errorf("after 5000 with the server at 5000: %d", n)
	}
	for _, id := range []string{"", "0f8fad5b-d9cb-469f-a165-70867728950e", "hush-000000000000000000x-0123456789abcdef", "hush-0000000000000000000-0123456789abcdef"} {
		if _, ok := smTokenVersion(id); ok {
			t.Errorf("%q read as a hush token", id)
		}
	}
}
