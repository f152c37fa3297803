package sync

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// gatedLeaser closes gate after max successful renewals and blocks further
// renewals until the keeper stops, so the test observes a fixed count.
type gatedLeaser struct {
	*fakeLeaser
	gate chan struct{}
	max  int
	done bool
}

func (g *gatedLeaser) Renew(ctx context.Context, id string, inc time.Duration) (time.Duration, error) {
	g.mu.Lock()
	n, closed := g.renews[id], g.done
	g.mu.Unlock()
	if closed || n >= g.max {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	d, err := g.fakeLeaser.Renew(ctx, id, inc)
	g.mu.Lock()
	if g.renews[id] >= g.max && !g.done {
		g.done = true
		close(g.gate)
	}
	g.mu.Unlock()
	return d, err
}

type fakeLeaser struct {
	mu       gosync.Mutex
	renews   map[string]int
	revoked  []string
	failNext int
}

func (f *fakeLeaser) Lease(context.Context, string, map[string]string) (*Lease, error) {
	return nil, errors.New("unused")
}

func (f *fakeLeaser) Renew(_ context.Context, id string, inc time.Duration) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return 0, errors.New("HTTP 503")
	}
	f.renews[id]++
	return inc, nil
}

func (f *fakeLeaser) Revoke(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, id)
	return nil
}

// virtualClock advances by exactly what the keeper waits for, so the
// schedule is deterministic however loaded the machine is.
type virtualClock struct {
	mu gosync.Mutex
	t  time.Time
}

func (c *virtualClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *virtualClock) after(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.t = c.t.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.t
	c.mu.Unlock()
	return ch
}

func TestKeeperRenewsAndRevokes(t *testing.T) {
	t.Parallel()
	f := &fakeLeaser{renews: map[string]int{}, failNext: 1}
	var mu gosync.Mutex
	var warnings []string
	clock := &virtualClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	// A renewal that fails once is retried before the lease expires.
	gate := make(chan struct{})
	k := keepWithClock(&gatedLeaser{fakeLeaser: f, gate: gate, max: 3}, []*Lease{
		{ID: "db/creds/app/1", Duration: 300 * time.Millisecond, Renewable: true},
		{ID: "pki/issue/app/2", Duration: time.Hour, Renewable: false},
	}, func(err error) { mu.Lock(); warnings = append(warnings, err.Error()); mu.Unlock() }, clock.now, clock.after)
	<-gate // three successful renewals happened
	if err := k.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.renews["db/creds/app/1"] < 3 || f.renews["pki/issue/app/2"] != 0 {
		t.Errorf("renewals: %v", f.renews)
	}
	if strings.Join(f.revoked, " ") != "db/creds/app/1 pki/issue/app/2" {
		t.Errorf("revoked: %v", f.revoked)
	}
	mu.Lock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "503") {
		t.Errorf("warnings: %q", warnings)
	}
	mu.Unlock()
	// Stop is idempotent: no second revocation.
	n := len(f.revoked)
	f.mu.Unlock()
	k.Stop(context.Background())
	f.mu.Lock()
	if len(f.revoked) != n {
		t.Errorf("second Stop revoked again")
	}
}
