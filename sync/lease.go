package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"
)

// Keeper renews leases in the background while a program uses them and
// revokes them all when stopped.
type Keeper struct {
	leaser Leaser
	leases []*Lease
	warn   func(error)
	cancel context.CancelFunc
	wg     gosync.WaitGroup
	once   gosync.Once
	err    error

	mu      gosync.Mutex
	renewed int

	// The clock, a parameter so tests never sleep: now and after are
	// time.Now and time.After outside tests.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// minRenewWait keeps a lease of a few seconds from being renewed in a
// busy loop.
const minRenewWait = 200 * time.Millisecond

// Keep starts renewing each renewable lease at two thirds of its
// duration. A failed renewal is reported through warn and retried at a
// tenth of the duration until the lease runs out; then warn is told once
// more and that lease is no longer renewed.
func Keep(l Leaser, leases []*Lease, warn func(error)) *Keeper {
	return keepWithClock(l, leases, warn, time.Now, time.After)
}

func keepWithClock(l Leaser, leases []*Lease, warn func(error), now func() time.Time, after func(time.Duration) <-chan time.Time) *Keeper {
	ctx, cancel := context.WithCancel(context.Background())
	k := &Keeper{leaser: l, leases: leases, warn: warn, cancel: cancel, now: now, after: after}
	for _, ls := range leases {
		if ls.Renewable && ls.Duration > 0 {
			k.wg.Add(1)
			go k.renew(ctx, ls)
		}
	}
	return k
}

func (k *Keeper) renew(ctx context.Context, ls *Lease) {
	defer k.wg.Done()
	expires := k.now().Add(ls.Duration)
	wait := max(ls.Duration*2/3, minRenewWait)
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.after(wait):
		}
		d, err := k.leaser.Renew(ctx, ls.ID, ls.Duration)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			k.warn(fmt.Errorf("renew lease: %w", err))
			if k.now().After(expires) {
				k.warn(errors.New("a lease expired and is no longer renewed; its credentials stop working"))
				return
			}
			wait = max(ls.Duration/10, minRenewWait)
			continue
		}
		k.mu.Lock()
		k.renewed++
		k.mu.Unlock()
		if d <= 0 {
			return // the remote will not extend it further
		}
		expires = k.now().Add(d)
		wait = max(d*2/3, minRenewWait)
	}
}

// Renewals counts successful renewals so far.
func (k *Keeper) Renewals() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.renewed
}

// Stop ends renewal and revokes every lease, with ctx bounding the
// revocations. It is safe to call more than once; later calls return the
// first call's result.
func (k *Keeper) Stop(ctx context.Context) error {
	k.once.Do(func() {
		k.cancel()
		k.wg.Wait()
		var errs []error
		for _, ls := range k.leases {
			if err := k.leaser.Revoke(ctx, ls.ID); err != nil {
				errs = append(errs, err)
			}
		}
		k.err = errors.Join(errs...)
	})
	return k.err
}
