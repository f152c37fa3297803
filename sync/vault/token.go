package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hush-secrets/hush/sync"
)

// TokenLease describes the token hush uses as a lease (ID
// sync.TokenLeaseID), so a sync.Keeper renews it at two thirds of its TTL
// and reports its end like a lease's: every lease it issued dies with it.
// A token without a TTL (root, or one made with no expiry) needs no
// keeping: the answer is nil then.
func (v *Vault) TokenLease(ctx context.Context) (*sync.Lease, error) {
	if err := v.login(ctx); err != nil {
		return nil, err
	}
	s, err := v.client.lookupSelf(ctx)
	if err != nil {
		return nil, v.wrap("look up", "auth/token/lookup-self", err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("vault: look up auth/token/lookup-self: empty answer")
	}
	ttl := number(s.Data["ttl"])
	if ttl <= 0 {
		return nil, nil
	}
	renewable, _ := s.Data["renewable"].(bool)
	l := &sync.Lease{ID: sync.TokenLeaseID, Token: true, Duration: time.Duration(ttl) * time.Second, Renewable: renewable}
	// Renewing by the time left would shorten the token's life at each
	// renewal: ask for its whole TTL (a periodic token's period) again.
	if p := number(s.Data["period"]); p > 0 {
		l.Increment = time.Duration(p) * time.Second
	} else if c := number(s.Data["creation_ttl"]); c > ttl {
		l.Increment = time.Duration(c) * time.Second
	}
	return l, nil
}

// renewSelf extends hush's token by increment (Vault caps it at the
// token's max TTL) and returns its new TTL.
func (v *Vault) renewSelf(ctx context.Context, increment time.Duration) (time.Duration, error) {
	s, err := v.client.renewSelf(ctx, int(increment/time.Second))
	if pastMaxTTL(err) {
		return 0, nil
	}
	if err != nil {
		return 0, v.wrap("renew", "auth/token/renew-self", err)
	}
	if s == nil || s.Auth == nil {
		return 0, fmt.Errorf("vault: renew auth/token/renew-self: empty answer")
	}
	note(ctx, "auth/token/renew-self", s)
	return time.Duration(s.Auth.LeaseDuration) * time.Second, nil
}

// revokeSelf revokes hush's token when hush made it by logging in, and
// leaves a user's own token alone.
func (v *Vault) revokeSelf(ctx context.Context) error {
	if !v.ownToken {
		return nil
	}
	if err := v.client.revokeSelf(ctx); err != nil {
		return v.wrap("revoke", "auth/token/revoke-self", err)
	}
	v.ownToken = false
	return nil
}

// Close revokes the token hush made by logging in, if any, bounded by
// ctx. It is safe to call more than once and on a backend never used.
func (v *Vault) Close(ctx context.Context) error {
	if !v.loggedIn {
		return nil
	}
	return v.revokeSelf(ctx)
}

// number reads a JSON number of Vault's answer (0 if it is not one).
func number(x any) int64 {
	n, _ := x.(json.Number)
	v, _ := n.Int64()
	return v
}
