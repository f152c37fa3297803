package vault

import (
	"context"
	gosync "sync"
)

// workers bounds the requests in flight for the tree layout: enough to
// hide round trips, few enough not to trip a server's rate limit.
const workers = 8

// parallel runs fn for 0..n-1 on up to workers goroutines and returns the
// first error, cancelling the rest.
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    gosync.WaitGroup
		mu    gosync.Mutex
		first error
	)
	sem := make(chan struct{}, workers)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
