package vault

import (
	"context"
	gosync "sync"
	"sync/atomic"
)

// workers bounds the requests in flight for the tree layout: enough to
// hide round trips, few enough not to trip a server's rate limit. The
// HTTP transport keeps as many idle connections (newClient), so each
// worker reuses its own.
const workers = 8

// parallel runs fn for 0..n-1 on up to workers goroutines and returns the
// first error: an index not yet started when an error comes is never
// started, and those in flight finish. The workers live for the whole call (a
// goroutine per index would grow a fresh stack through the HTTP client
// ten thousand times).
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	// A failure stops new requests but does not cancel those in flight:
	// Vault may already have committed a cancelled write, and the caller
	// must learn of every write Vault confirmed (sync.PartialError), or
	// the sync state would record less than the remote holds.
	var (
		wg      gosync.WaitGroup
		next    atomic.Int64
		once    gosync.Once
		first   error
		stopped atomic.Bool
	)
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && !stopped.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; stopped.Store(true) })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
