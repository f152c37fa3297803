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
// first error, cancelling the rest: an index not yet started when an error
// comes is never started. The workers live for the whole call (a
// goroutine per index would grow a fresh stack through the HTTP client
// ten thousand times).
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    gosync.WaitGroup
		next  atomic.Int64
		once  gosync.Once
		first error
	)
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
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
