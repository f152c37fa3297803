package sync

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

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

func TestKeeperRenewsAndRevokes(t *testing.T) {
	t.Parallel()
	f := &fakeLeaser{renews: map[string]int{}, failNext: 1}
	var mu gosync.Mutex
	var warnings []string
	k := Keep(f, []*Lease{
		{ID: "db/creds/app/1", Duration: 300 * time.Millisecond, Renewable: true},
		{ID: "pki/issue/app/2", Duration: time.Hour, Renewable: false},
	}, func(err error) { mu.Lock(); warnings = append(warnings, err.Error()); mu.Unlock() })
	deadline := time.Now().Add(10 * time.Second)
	for k.Renewals() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
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
