package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"
)

// TokenLeaseID is the lease id under which a Leaser's own login token is
// kept alongside the leases it issued (Lease.Token is set on it): Renew
// renews the token, Revoke revokes it when the backend made it itself.
const TokenLeaseID = "token/self"

// ErrLeaseEnded says a lease has ended, or is about to, and cannot be
// extended: its credentials stop working.
var ErrLeaseEnded = errors.New("lease ended")

// KeepOptions says whom the Keeper tells about trouble.
type KeepOptions struct {
	// Warn hears a failed renewal that will be retried, or a lease that
	// will end at a known time (max TTL, not renewable).
	Warn func(error)
	// End is told, once per lease, when the lease has ended without being
	// revoked by Stop: it reached its max TTL, could not be renewed before
	// it expired, or was never renewable. The error wraps ErrLeaseEnded.
	End func(*Lease, error)
}

// Keeper renews leases in the background while a program uses them and
// revokes them all when stopped.
type Keeper struct {
	leaser Leaser
	leases []*Lease
	o      KeepOptions
	cancel context.CancelFunc
	wg     gosync.WaitGroup
	once   gosync.Once
	err    error

	mu      gosync.Mutex
	renewed int
	expires map[*Lease]time.Time

	// The clock, a parameter so tests never sleep: now and after are
	// time.Now and time.After outside tests.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// minRenewWait keeps a lease of a few seconds from being renewed in a
// busy loop.
const minRenewWait = 200 * time.Millisecond

// Keep starts renewing each renewable lease at two thirds of its
// duration. A failed renewal is reported through Warn and retried at a
// tenth of the duration until the lease runs out. A lease whose end is
// fixed (its max TTL reached, or not renewable at all) is announced
// through Warn and, when that time comes, reported through End, as is a
// lease that expired because renewal kept failing.
func Keep(l Leaser, leases []*Lease, o KeepOptions) *Keeper {
	return keepWithClock(l, leases, o, time.Now, time.After)
}

func keepWithClock(l Leaser, leases []*Lease, o KeepOptions, now func() time.Time, after func(time.Duration) <-chan time.Time) *Keeper {
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	if o.End == nil {
		o.End = func(*Lease, error) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &Keeper{leaser: l, leases: leases, o: o, cancel: cancel, now: now, after: after, expires: map[*Lease]time.Time{}}
	// The expiry table is complete before any keeper goroutine writes to it.
	for _, ls := range leases {
		if ls.Duration > 0 {
			k.expires[ls] = now().Add(ls.Duration)
		}
	}
	for _, ls := range leases {
		if ls.Duration > 0 {
			k.wg.Add(1)
			go k.keep(ctx, ls)
		}
	}
	return k
}

// describe names a lease for a message: its id without the random part.
func describe(ls *Lease) string {
	if ls.Token {
		return "the Vault token hush uses"
	}
	id := ls.ID
	for i := len(id) - 1; i > 0; i-- {
		if id[i] == '/' {
			id = id[:i]
			break
		}
	}
	return "lease " + id
}

func (k *Keeper) keep(ctx context.Context, ls *Lease) {
	defer k.wg.Done()
	start := k.now()
	expires := start.Add(ls.Duration)
	// sleep waits d, reporting false when the keeper stopped meanwhile.
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-k.after(max(d, 0)):
			return true
		}
	}
	// endAt waits until the lease's fixed end and reports it.
	endAt := func(why error) {
		if sleep(expires.Sub(k.now())) {
			k.o.End(ls, why)
		}
	}
	if !ls.Renewable {
		// Said ahead for the token, which the user may not know about; a
		// lease that cannot be renewed (a PKI certificate) is common and
		// expected, and heard of at its end.
		if ls.Token {
			k.o.Warn(fmt.Errorf("%s is not renewable: its credentials end in %s", describe(ls), roundDur(ls.Duration)))
		}
		endAt(fmt.Errorf("%s ended (not renewable): %w", describe(ls), ErrLeaseEnded))
		return
	}
	inc := ls.Increment
	if inc <= 0 {
		inc = ls.Duration
	}
	wait := max(ls.Duration*2/3, minRenewWait)
	for {
		if !sleep(wait) {
			return
		}
		d, err := k.leaser.Renew(ctx, ls.ID, inc)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			left := expires.Sub(k.now())
			if left <= 0 {
				k.o.End(ls, fmt.Errorf("%s expired: renewal failed: %v: %w", describe(ls), err, ErrLeaseEnded))
				return
			}
			k.o.Warn(fmt.Errorf("renew %s: %w (retrying; it expires in %s)", describe(ls), err, roundDur(left)))
			wait = min(max(inc/10, minRenewWait), left)
			continue
		}
		k.mu.Lock()
		k.renewed++
		k.mu.Unlock()
		next := k.now().Add(d)
		// A renewal that moves the end by less than a second, when more was
		// asked for, hit the lease's max TTL: the end is fixed now.
		if d <= 0 || d < inc && !next.After(expires.Add(time.Second)) {
			if next.After(expires) {
				expires = next
			}
			k.setExpires(ls, expires)
			k.o.Warn(fmt.Errorf("%s reaches its max TTL in %s and cannot be renewed past it", describe(ls), roundDur(expires.Sub(k.now()))))
			endAt(fmt.Errorf("%s reached its max TTL: %w", describe(ls), ErrLeaseEnded))
			return
		}
		expires = next
		k.setExpires(ls, expires)
		wait = max(d*2/3, minRenewWait)
	}
}

func (k *Keeper) setExpires(ls *Lease, t time.Time) {
	k.mu.Lock()
	k.expires[ls] = t
	k.mu.Unlock()
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// Renewals counts successful renewals so far.
func (k *Keeper) Renewals() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.renewed
}

// RevokeError is a lease Stop could not revoke, with the time it expires
// by itself (zero when it has no duration).
type RevokeError struct {
	Lease   *Lease
	Expires time.Time
	Err     error
}

func (e *RevokeError) Error() string {
	return fmt.Sprintf("could not revoke %s: %v", describe(e.Lease), e.Err)
}

func (e *RevokeError) Unwrap() error { return e.Err }

// Stop ends renewal and revokes every lease, in order, with ctx bounding
// the revocations (a Leaser's own token, listed last, goes last). Every
// failure is a *RevokeError in the joined result. It is safe to call more
// than once; later calls return the first call's result.
func (k *Keeper) Stop(ctx context.Context) error {
	k.once.Do(func() {
		k.cancel()
		k.wg.Wait()
		var errs []error
		for _, ls := range k.leases {
			if err := k.leaser.Revoke(ctx, ls.ID); err != nil {
				k.mu.Lock()
				exp := k.expires[ls]
				k.mu.Unlock()
				errs = append(errs, &RevokeError{Lease: ls, Expires: exp, Err: err})
			}
		}
		k.err = errors.Join(errs...)
	})
	return k.err
}
