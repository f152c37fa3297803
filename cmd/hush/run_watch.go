package main

import (
	"context"
	"strings"

	"github.com/hush-secrets/hush/session"
)

// runWatch is hush run --watch: the child runs, and when the files its
// values came from change (the environment's team and personal stores,
// those of its hush:// references, its --env-files), the values are read
// again — a new audit line — and the child is stopped (SIGTERM, --grace,
// SIGKILL) and started with them. A change that cannot be read (a store
// corrupt, half written, replaced by one whose lineage is wrong, removed)
// leaves the child running on the values it has, with a warning; one that
// leaves the child's values as they were does not restart it. When the
// child exits by itself, its exit code is hush's, as without --watch.
func runWatch(ctx context.Context, s *ui, o runOptions) (int, error) {
	plan, err := preparePlan(ctx, s, o)
	if err != nil {
		return 0, err
	}
	name := o.argv[0]
	if len(o.argv) > 2 && o.argv[0] == "/bin/sh" && o.argv[1] == "-c" {
		name = "the command"
	}
	if len(plan.Watched()) == 0 {
		s.warnf("--watch: none of this run's values comes from a file hush can watch (a store or a regular --env-file); %s runs once", name)
	}
	for {
		w := session.NewWatcher(plan)
		childCtx, stop := context.WithCancel(plan.Ctx)
		var next *session.RunPlan
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				ch, err := w.Wait(childCtx)
				if err != nil {
					return
				}
				what := strings.Join(ch.Paths, ", ")
				if len(ch.Gone) > 0 {
					s.warnf("%s was removed; %s keeps running on the values it started with", strings.Join(ch.Gone, ", "), name)
					w.Accept()
					continue
				}
				// The new plan lives under ctx, not childCtx: its leases
				// outlive this round.
				np, err := preparePlan(ctx, s, o)
				if err != nil {
					s.warnf("%s changed but cannot be used (%v); %s keeps running on the values it started with", what, err, name)
					w.Accept()
					continue
				}
				if childCtx.Err() != nil {
					np.Close() // the child ended meanwhile, by itself
					return
				}
				if np.Same(plan) {
					np.Close()
					s.infof("%s changed, %s's values did not: not restarting it", what, name)
					w.Accept()
					continue
				}
				next = np
				s.infof("%s changed: restarting %s with the new values", what, name)
				stop()
				return
			}
		}()
		code, err := startChild(childCtx, s, o, plan, true)
		stop()
		<-done
		plan.Close()
		if next == nil || ctx.Err() != nil {
			if next != nil {
				next.Close()
			}
			return code, err
		}
		plan = next
	}
}
