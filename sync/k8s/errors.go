package k8s

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// attempts bounds the tries of one call that meets throttling, a server
// error or no answer at all.
var attempts = 4

// backoff is the wait before try n (1-based) after a failed one.
var backoff = func(n int) time.Duration {
	d := 250 * time.Millisecond << (n - 1)
	return d/2 + rand.N(d/2+1)
}

// transient reports whether err is worth another try: throttling, a
// server error, a timeout, or no HTTP answer (refused, reset, cut off).
func transient(err error) bool {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		switch code := st.Status().Code; {
		case code == http.StatusTooManyRequests, code >= 500:
			return true
		}
		return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// retry runs call until it succeeds, fails for good, or has been tried
// attempts times. It returns the last error and whether a try may have
// reached the server without its answer reaching us (a write then may
// have happened).
func retry(ctx context.Context, call func() error) (err error, lost bool) {
	for n := 1; ; n++ {
		err = call()
		if err == nil || !transient(err) || n >= attempts {
			return err, lost
		}
		var st apierrors.APIStatus
		if !errors.As(err, &st) || st.Status().Code == http.StatusGatewayTimeout || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) {
			lost = true
		}
		select {
		case <-ctx.Done():
			return err, lost
		case <-time.After(backoff(n)):
		}
	}
}

// wrap turns an API error into hush's kinds with one line that names the
// operation and the Secret, never a value: 401 and 403 are ErrDenied (exit
// 8), what retries did not cure ErrUnavailable (exit 8), 409 ErrConflict
// (exit 6), 404 store.ErrNotFound (exit 3).
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("k8s: %s: %w", what, err)
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return fmt.Errorf("k8s: %s: %w: %v", what, hushsync.ErrUnavailable, err)
	}
	s := st.Status()
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("k8s: %s: %w: the API server did not accept the credentials (401)", what, hushsync.ErrDenied)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("k8s: %s: %w: %s", what, hushsync.ErrDenied, s.Message)
	case apierrors.IsConflict(err):
		return fmt.Errorf("k8s: %s: %w: %s", what, hushsync.ErrConflict, s.Message)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("k8s: %s: %w", what, store.ErrNotFound)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsRequestEntityTooLargeError(err):
		// The causes name fields; their messages may quote a value.
		var fields []string
		if s.Details != nil {
			for _, c := range s.Details.Causes {
				fields = append(fields, c.Field+" ("+string(c.Type)+")")
			}
		}
		sort.Strings(fields)
		return fmt.Errorf("k8s: %s: the API server refused the Secret as invalid (%d %s)%s", what, s.Code, s.Reason, fieldList(fields))
	case transient(err):
		return fmt.Errorf("k8s: %s: %w: %d %s after %d tries", what, hushsync.ErrUnavailable, s.Code, s.Reason, attempts)
	}
	return fmt.Errorf("k8s: %s: %d %s", what, s.Code, s.Reason)
}

func fieldList(fields []string) string {
	if len(fields) == 0 {
		return ""
	}
	return ": " + strings.Join(fields, ", ")
}
