package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/synctest"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestSSM runs the tests that share one moto_server (its first SSM
// request costs seconds: it loads AWS's public parameters).
func TestSSM(t *testing.T) {
	t.Parallel()
	m := moto(t)
	t.Run("Conformance", func(t *testing.T) { ssmConformance(t, m) })
	t.Run("Pagination", func(t *testing.T) { ssmPagination(t, m) })
	t.Run("Storage", func(t *testing.T) { ssmStorage(t, m) })
	t.Run("Limits", func(t *testing.T) { ssmLimits(t, m) })
	t.Run("RaceInTheWindow", func(t *testing.T) { ssmRace(t, m) })
}

// interloper writes a parameter out of band just before the first
// PutParameter it forwards: another writer landing between the push's
// re-read and its write.
type interloper struct {
	next  http.RoundTripper
	write func()
	done  bool
}

func (i *interloper) RoundTrip(r *http.Request) (*http.Response, error) {
	if !i.done && strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutParameter") {
		i.done = true
		i.write()
	}
	return i.next.RoundTrip(r)
}

// An update that lands on top of another writer's (the window SSM's API
// leaves) is reported as a conflict naming the history, not as success.
func ssmRace(t *testing.T, m *vaulttest.Moto) {
	plain := newTestSSM(t, m, "/race", nil)
	if _, err := synctest.PushAll(t, plain, "dev", synctest.Vals("A", "1")); err != nil {
		t.Fatal(err)
	}
	il := &interloper{next: http.DefaultTransport, write: func() {
		if _, err := plain.client.PutParameter(context.Background(), &ssm.PutParameterInput{Name: awssdk.String("/race/dev/A"),
			Value: awssdk.String("theirs"), Type: "SecureString", Overwrite: awssdk.Bool(true)}); err != nil {
			t.Error(err)
		}
	}}
	racy := newTestSSM(t, m, "/race", il)
	_, err := synctest.PushAll(t, racy, "dev", synctest.Vals("A", "mine"))
	if !errors.Is(err, hushsync.ErrConflict) || !strings.Contains(err.Error(), "history") {
		t.Fatalf("a write over another's: %v", err)
	}
	// Creation has a real check: Overwrite=false.
	il.done = false
	il.write = func() {
		if _, err := plain.client.PutParameter(context.Background(), &ssm.PutParameterInput{Name: awssdk.String("/race/dev/NEW"),
			Value: awssdk.String("theirs"), Type: "SecureString"}); err != nil {
			t.Error(err)
		}
	}
	_, err = synctest.PushAll(t, racy, "dev", synctest.Vals("A", "mine", "NEW", "mine"))
	if !errors.Is(err, hushsync.ErrConflict) {
		t.Fatalf("a creation racing another: %v", err)
	}
	got, _ := plain.Pull(context.Background(), "dev")
	if got.Values["NEW"] != "theirs" {
		t.Errorf("NEW = %q, want theirs kept", got.Values["NEW"].Reveal())
	}
}

// moto starts a moto_server that never asks for a signature it issued.
func moto(t *testing.T) *vaulttest.Moto { return vaulttest.StartMoto(t, 1<<30) }

func loadOpts(endpoint string, rt http.RoundTripper) SSMOptions {
	load := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion("eu-west-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithRetryer(func() awssdk.Retryer {
			return retryer(3, 20*time.Millisecond)
		}),
	}
	opts := SSMOptions{Load: load}
	if rt != nil {
		opts.Client = append(opts.Client, func(o *ssm.Options) { o.HTTPClient = &http.Client{Transport: rt} })
	}
	return opts
}

func newTestSSM(t *testing.T, m *vaulttest.Moto, prefix string, rt http.RoundTripper) *SSM {
	t.Helper()
	s, err := NewSSM(context.Background(), SSMConfig{Prefix: prefix}, loadOpts(m.URL, rt))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ssmConformance(t *testing.T, m *vaulttest.Moto) {
	n := 0
	synctest.Run(t, func(t *testing.T) (hushsync.Backend, synctest.Remote) {
		n++
		prefix := fmt.Sprintf("/synctest/p%d", n)
		f := &synctest.Faults{IsWrite: synctest.AWSWrite}
		s := newTestSSM(t, m, prefix, f.Wrap(nil))
		plain := newTestSSM(t, m, prefix, nil)
		return s, synctest.Remote{
			LoseAnswer: f.LoseNextWrite, ServerErrors: f.ServerErrors,
			Unreachable: func(t *testing.T) hushsync.Backend {
				return newTestSSM(t, &vaulttest.Moto{URL: "http://127.0.0.1:1"}, prefix, nil)
			},
			Vanish: func(t *testing.T, env string) {
				ps, err := plain.list(context.Background(), env)
				if err != nil {
					t.Fatal(err)
				}
				for k := range ps {
					if err := plain.delete(context.Background(), env, k); err != nil {
						t.Fatal(err)
					}
				}
			},
			RetryBudget: 20 * time.Second,
		}
	})
}

// More than a page: GetParametersByPath answers 10 at most.
func ssmPagination(t *testing.T, m *vaulttest.Moto) {
	s := newTestSSM(t, m, "/pages", nil)
	want := map[string]store.Value{}
	for i := 0; i < 37; i++ {
		want[fmt.Sprintf("K%02d", i)] = store.Value(fmt.Sprintf("v%d", i))
	}
	if _, err := synctest.PushAll(t, s, "dev", want); err != nil {
		t.Fatal(err)
	}
	// A parameter below the environment (a deeper path) is not one of its keys.
	deep := "/pages/dev/sub/X"
	if _, err := s.client.PutParameter(context.Background(), &ssm.PutParameterInput{Name: &deep, Value: awssdk.String("x"), Type: "SecureString"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pull(context.Background(), "dev")
	if err != nil || len(got.Values) != 37 || synctest.Show(got.Values) != synctest.Show(want) {
		t.Fatalf("pull of 37: %d keys, %v", len(got.Values), err)
	}
}

func ssmStorage(t *testing.T, m *vaulttest.Moto) {
	s := newTestSSM(t, m, "/store", nil)
	vals := synctest.Vals("TEXT", "plain text", "BIN", "\xff\x00", "EMPTY", "", "LOOK", "hush:base64:AAA")
	if _, err := synctest.PushAll(t, s, "prod", vals); err != nil {
		t.Fatal(err)
	}
	raw := func(k string) string {
		out, err := s.client.GetParameter(context.Background(), &ssm.GetParameterInput{Name: awssdk.String("/store/prod/" + k), WithDecryption: awssdk.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Parameter.Type != "SecureString" {
			t.Errorf("%s stored as %s", k, out.Parameter.Type)
		}
		return *out.Parameter.Value
	}
	// Text is stored as text, for other readers; the rest marked.
	if raw("TEXT") != "plain text" || raw("BIN") != "hush:base64:/wA=" || raw("EMPTY") != "hush:base64:" || !strings.HasPrefix(raw("LOOK"), "hush:base64:") {
		t.Errorf("stored as %q %q %q %q", raw("TEXT"), raw("BIN"), raw("EMPTY"), raw("LOOK"))
	}
	// References read the same values.
	d := SSMDriver{Options: loadOpts(m.URL, nil)}
	for k, want := range vals {
		got, err := d.Resolve(context.Background(), "ssm:///store/prod/"+k)
		if err != nil || string(got) != want.Reveal() {
			t.Errorf("resolve %s: %q %v", k, got, err)
		}
	}
	if _, err := synctest.PushAll(t, s, "prod", synctest.Vals("TEXT", "v2")); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Resolve(context.Background(), "ssm:///store/prod/TEXT?version=1"); err != nil || string(got) != "plain text" {
		t.Errorf("version 1: %q %v", got, err)
	}
	if _, err := d.Resolve(context.Background(), "ssm:///store/prod/NONE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing parameter: %v", err)
	}
	for _, bad := range []string{"ssm://store/prod/TEXT", "ssm:///store//x", "ssm:///store/x?v=1", "ssm:///aws/x", "ssm:///x?version=0"} {
		if _, err := d.Resolve(context.Background(), bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// SSM's limits are refused before anything is written.
func ssmLimits(t *testing.T, m *vaulttest.Moto) {
	s := newTestSSM(t, m, "/limits", nil)
	big := strings.Repeat("x", 4097)
	_, err := synctest.PushAll(t, s, "dev", synctest.Vals("A", "small", "B", big))
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "4 KB") || strings.Contains(err.Error(), big[:100]) {
		t.Fatalf("4097 bytes: %v", err)
	}
	if got, _ := s.Pull(context.Background(), "dev"); !got.Missing {
		t.Errorf("something was written: %v", synctest.Show(got.Values))
	}
	// Binary doubles in size as base64: the stored size is what counts.
	if _, err := synctest.PushAll(t, s, "dev", synctest.Vals("B", strings.Repeat("\xff", 3100))); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("3100 binary bytes: %v", err)
	}
	adv, err := NewSSM(context.Background(), SSMConfig{Prefix: "/limits", Tier: "Advanced"}, loadOpts(m.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synctest.PushAll(t, adv, "dev", synctest.Vals("B", big)); err != nil {
		t.Errorf("advanced tier, 4097 bytes: %v", err)
	}
	for _, p := range []string{"limits", "/a//b", "/a b", "/aws/x", "/SSM"} {
		if _, err := NewSSM(context.Background(), SSMConfig{Prefix: p}, loadOpts(m.URL, nil)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("prefix %q: %v", p, err)
		}
	}
}

// A remote that vanished mid-command (moto stopped) is ErrUnavailable,
// quickly.
func TestSSMVanishedServer(t *testing.T) {
	t.Parallel()
	m := moto(t)
	s := newTestSSM(t, m, "/gone", nil)
	base, err := s.Pull(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
	start := time.Now()
	_, err = s.Push(context.Background(), "dev", &hushsync.Plan{Base: base, Set: synctest.Vals("A", "1")})
	if !errors.Is(err, hushsync.ErrUnavailable) || time.Since(start) > 20*time.Second {
		t.Fatalf("push to a stopped moto: %v after %v", err, time.Since(start))
	}
}
