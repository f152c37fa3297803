package main

import (
	"context"
	"path"
	"time"

	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
)

// auditedLeaser records every renewal and revocation of a lease as an
// audit line (the lease id, the Vault address, the outcome) by wrapping
// the backend sync.Keep and the cleanup call, so the keeper in sync needs
// no knowledge of the log. A renewal runs in the background while the
// child runs: a failure to record it is a warning, not the child's end.
type auditedLeaser struct {
	sync.Leaser
	s      *ui
	source string
}

func (l auditedLeaser) Renew(ctx context.Context, id string, inc time.Duration) (time.Duration, error) {
	d, err := l.Leaser.Renew(ctx, id, inc)
	l.record(audit.LeaseRenew, id, err)
	return d, err
}

func (l auditedLeaser) Revoke(ctx context.Context, id string) error {
	err := l.Leaser.Revoke(ctx, id)
	l.record(audit.LeaseRevoke, id, err)
	return err
}

func (l auditedLeaser) record(action, id string, opErr error) {
	if err := l.s.AuditRemote(action, l.source, id, []string{"vault:" + path.Dir(id)}, opErr); err != nil {
		l.s.warnf("%v", err)
	}
}
