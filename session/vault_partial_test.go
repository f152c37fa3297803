package session

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/vault"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// cutWrites passes the first allow writes to the server and fails every
// later one as a lost connection would, once the allowed ones have been
// answered (so which writes succeed does not depend on scheduling).
type cutWrites struct {
	next     http.RoundTripper
	allow    int32
	writes   atomic.Int32
	answered atomic.Int32
	done     chan struct{}
}

func (c *cutWrites) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return c.next.RoundTrip(r)
	}
	if c.writes.Add(1) > c.allow {
		<-c.done
		return nil, errors.New("connection reset by peer (test)")
	}
	resp, err := c.next.RoundTrip(r)
	if c.answered.Add(1) == c.allow {
		close(c.done)
	}
	return resp, err
}

func treeVault(t *testing.T, srv *vaulttest.Server, mount string, wrap func(http.RoundTripper) http.RoundTripper) *vault.Vault {
	t.Helper()
	env := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.Token, "VAULT_MAX_RETRIES": "0"}
	v, err := vault.New(vault.Options{Config: vault.Config{Mount: mount, Layout: vault.LayoutTree}, Project: "runp",
		Getenv: func(k string) string { return env[k] }, WrapTransport: wrap, MinRetryWait: time.Millisecond, MaxRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A tree push cut off part-way records in the sync state exactly the keys
// Vault confirmed, and the audit log says which were written and which
// not: a remote change made afterwards to a written key is then the
// remote's change (not a conflict), and the next push sends the rest.
func TestVaultPartialPushRecordsOnlyWhatWasWritten(t *testing.T) {
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	tr := newTestRun(t)
	for _, k := range strings.Fields("A B C D E F G H I J K L M N O P Q R S T") {
		tr.set("dev", store.Team, k, "v-"+k)
	}
	ctx := context.Background()
	cut := &cutWrites{allow: 5, done: make(chan struct{})}
	broken := treeVault(t, srv, mount, func(rt http.RoundTripper) http.RoundTripper { cut.next = rt; return cut })
	s := tr.session("")
	n := len(runAuditLog(t, s))
	_, err := s.VaultSync(ctx, VaultSyncOptions{VaultOptions: VaultOptions{Backend: broken}, Push: true})
	var pe *sync.PartialError
	if !errors.As(err, &pe) || !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), "5 of 20 changes written and recorded") {
		t.Fatalf("cut-off push: %v", err)
	}
	var written, failed []string
	var syncLine *audit.Entry
	for _, l := range syncLines(t, s, n) {
		switch {
		case l.Action == audit.SyncPush:
			syncLine = &l
		case l.Action == audit.SecretWrite && l.Success:
			written = append(written, strings.TrimPrefix(l.Path, "runp/dev/"))
		case l.Action == audit.SecretWrite && !l.Success && strings.Contains(l.Error, "connection reset"):
			failed = append(failed, strings.TrimPrefix(l.Path, "runp/dev/"))
		default:
			t.Errorf("unexpected line %+v", l)
		}
	}
	if len(written) != 5 || len(failed) != 15 || syncLine == nil || syncLine.Success {
		t.Fatalf("audit: written %v, failed %v, sync line %+v", written, failed, syncLine)
	}
	sort.Strings(written)
	if !slices.Equal(written, pe.Set) {
		t.Errorf("audit says %v written, the push %v", written, pe.Set)
	}

	// Vault holds exactly the written keys.
	clean := treeVault(t, srv, mount, nil)
	remote, err := clean.Pull(ctx, "dev")
	if err != nil || len(remote.Values) != 5 {
		t.Fatalf("remote after the cut: %d keys, %v", len(remote.Values), err)
	}
	for _, k := range written {
		if remote.Values[k].Reveal() != "v-"+k {
			t.Errorf("remote %s = %q", k, remote.Values[k].Reveal())
		}
	}

	// Someone changes a written key in Vault: that is a remote change to
	// pull, since the state recorded it as synced, and the unwritten keys
	// are local changes to push.
	changed := written[0]
	if _, err := srv.Client(t).Logical().Write(mount+"/data/runp/dev/"+changed, map[string]any{"data": map[string]any{"value": "remote-new"}}); err != nil {
		t.Fatal(err)
	}
	r, err := tr.session("").VaultCompare(ctx, VaultOptions{Backend: clean})
	if err != nil {
		t.Fatal(err)
	}
	var local, rem []string
	for _, c := range r.Diff.Local {
		local = append(local, c.Key)
	}
	for _, c := range r.Diff.Remote {
		rem = append(rem, c.Key)
	}
	sort.Strings(failed)
	if len(r.Diff.Conflicts) != 0 || !slices.Equal(rem, []string{changed}) || !slices.Equal(local, failed) {
		t.Fatalf("after the cut: local %v, remote %v, conflicts %v", local, rem, r.Diff.Conflicts)
	}

	// The next push sends the rest, and a pull brings the remote change.
	rep, err := tr.session("").VaultSync(ctx, VaultSyncOptions{VaultOptions: VaultOptions{Backend: clean}, Push: true})
	if err != nil || !slices.Equal(rep.Set, failed) {
		t.Fatalf("second push: %v %v", rep, err)
	}
	if _, err := tr.session("").VaultSync(ctx, VaultSyncOptions{VaultOptions: VaultOptions{Backend: clean}}); err != nil {
		t.Fatal(err)
	}
	if sec, err := tr.session("").Get("dev", changed, false); err != nil || sec.Value.Reveal() != "remote-new" {
		t.Errorf("%s after pull: %v %v", changed, sec, err)
	}
	if r, err := tr.session("").VaultCompare(ctx, VaultOptions{Backend: clean}); err != nil || r.Status() != sync.InStep {
		t.Errorf("finally: %v %v", r.Status(), err)
	}
}

// writeCounter counts the writes (PUT, POST) that reach the server.
type writeCounter struct {
	next   http.RoundTripper
	writes atomic.Int32
}

func (c *writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		c.writes.Add(1)
	}
	return c.next.RoundTrip(r)
}

// A tree push writes only what the three-way plan changed: one key
// changed among forty is one write, one removed is one deletion, and a
// push with nothing to do writes nothing.
func TestVaultTreePushWritesOnlyChanges(t *testing.T) {
	srv := vaulttest.Shared(t)
	mount := srv.Mount(t, 2)
	tr := newTestRun(t)
	for i := range 40 {
		tr.set("dev", store.Team, "K"+strings.Repeat("X", i%3)+string(rune('A'+i%26))+string(rune('a'+i/26)), "v")
	}
	wc := &writeCounter{}
	v := treeVault(t, srv, mount, func(rt http.RoundTripper) http.RoundTripper { wc.next = rt; return wc })
	ctx := context.Background()
	push := func() []string {
		t.Helper()
		wc.writes.Store(0)
		rep, err := tr.session("").VaultSync(ctx, VaultSyncOptions{VaultOptions: VaultOptions{Backend: v}, Push: true})
		if err != nil {
			t.Fatal(err)
		}
		return append(rep.Set, rep.Deleted...)
	}
	if got := push(); len(got) != 40 || wc.writes.Load() != 40 {
		t.Fatalf("first push: %d keys, %d writes", len(got), wc.writes.Load())
	}
	if got := push(); len(got) != 0 || wc.writes.Load() != 0 {
		t.Errorf("push in step: %v, %d writes", got, wc.writes.Load())
	}
	tr.set("dev", store.Team, "KAa", "changed")
	if got := push(); !slices.Equal(got, []string{"KAa"}) || wc.writes.Load() != 1 {
		t.Errorf("one change: %v, %d writes", got, wc.writes.Load())
	}
	s := tr.session("")
	s.Command = "rm"
	if err := s.Remove("dev", store.Team, []string{"KAa"}); err != nil {
		t.Fatal(err)
	}
	if got := push(); !slices.Equal(got, []string{"KAa"}) || wc.writes.Load() != 1 {
		t.Errorf("one removal: %v, %d writes", got, wc.writes.Load())
	}
}
