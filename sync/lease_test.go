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
	}, KeepOptions{Warn: func(err error) { mu.Lock(); warnings = append(warnings, err.Error()); mu.Unlock() }}, clock.now, clock.after)
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

// cappedLeaser renews up to a fixed end (a max TTL) or fails every
// renewal, on the virtual clock.
type cappedLeaser struct {
	fakeLeaser
	clock *virtualClock
	end   time.Time
	fail  bool
}

func (c *cappedLeaser) Renew(ctx context.Context, id string, inc time.Duration) (time.Duration, error) {
	if c.fail {
		return 0, errors.New("HTTP 403: permission denied")
	}
	c.mu.Lock()
	c.renews[id]++
	c.mu.Unlock()
	return min(inc, c.end.Sub(c.clock.now())), nil
}

func TestKeeperEnds(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		fail      bool
		lease     Lease
		wantWarn  string
		wantEnd   string
		wantAfter time.Duration
	}{
		{"max TTL", false, Lease{ID: "database/creds/app/x", Duration: 10 * time.Second, Renewable: true},
			"lease database/creds/app reaches its max TTL in", "lease database/creds/app reached its max TTL: lease ended", 25 * time.Second},
		{"renewal fails", true, Lease{ID: "database/creds/app/y", Duration: 10 * time.Second, Renewable: true},
			"renew lease database/creds/app: HTTP 403: permission denied (retrying; it expires in", "lease database/creds/app expired: renewal failed: HTTP 403: permission denied: lease ended", 10 * time.Second},
		{"token not renewable", false, Lease{ID: TokenLeaseID, Token: true, Duration: 30 * time.Second},
			"the Vault token hush uses is not renewable: its credentials end in 30s", "the Vault token hush uses ended (not renewable): lease ended", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &virtualClock{t: t0}
			l := &cappedLeaser{fakeLeaser: fakeLeaser{renews: map[string]int{}}, clock: clock, end: t0.Add(25 * time.Second), fail: tc.fail}
			var mu gosync.Mutex
			var warns []string
			ended := make(chan string, 1)
			var at time.Time
			ls := tc.lease
			k := keepWithClock(l, []*Lease{&ls}, KeepOptions{
				Warn: func(err error) { mu.Lock(); warns = append(warns, err.Error()); mu.Unlock() },
				End: func(got *Lease, err error) {
					if got != &ls || !errors.Is(err, ErrLeaseEnded) {
						t.Errorf("End(%v, %v)", got, err)
					}
					at = clock.now()
					ended <- err.Error()
				},
			}, clock.now, clock.after)
			if got := <-ended; got != tc.wantEnd {
				t.Errorf("end: %q, want %q", got, tc.wantEnd)
			}
			if d := at.Sub(t0); d < tc.wantAfter || d > tc.wantAfter+time.Second {
				t.Errorf("ended after %s, want %s", d, tc.wantAfter)
			}
			k.Stop(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if len(warns) == 0 || !strings.HasPrefix(warns[len(warns)-1], tc.wantWarn) {
				t.Errorf("warnings %q, want one starting %q", warns, tc.wantWarn)
			}
		})
	}
}
