package crypt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// Keyring is the OS secret store as hush uses it. The system implementation
// goes through go-keyring; tests and headless machines may pass another.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// ErrKeyringUnavailable means the keyring did not answer (no D-Bus session,
// no Secret Service, locked, or too slow). Callers fall through to the next
// identity source.
var ErrKeyringUnavailable = errors.New("keyring unavailable")

// ErrKeyringNotFound means the keyring answered and holds no such item.
var ErrKeyringNotFound = errors.New("not in keyring")

// KeyringService is the service name hush uses in the OS keyring.
const KeyringService = "hush"

// SystemKeyring is the OS keyring behind a timeout: D-Bus calls can hang
// for a long time when a Secret Service is half-started or waiting for an
// unlock prompt nobody will answer, and hush must never hang.
type SystemKeyring struct {
	Timeout time.Duration
}

// DefaultKeyringTimeout is how long hush waits for the OS keyring.
const DefaultKeyringTimeout = 3 * time.Second

func (k SystemKeyring) timeout() time.Duration {
	if k.Timeout > 0 {
		return k.Timeout
	}
	return DefaultKeyringTimeout
}

// call runs f in a goroutine and gives up after the timeout. An abandoned
// call keeps its goroutine until D-Bus answers or the process exits, which
// for a short-lived CLI is the lesser evil.
func (k SystemKeyring) call(f func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := f()
		ch <- result{s, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout())
	defer cancel()
	select {
	case r := <-ch:
		if errors.Is(r.err, keyring.ErrNotFound) {
			return "", ErrKeyringNotFound
		}
		if r.err != nil {
			return "", fmt.Errorf("%w: %v", ErrKeyringUnavailable, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		return "", fmt.Errorf("%w: no answer within %s", ErrKeyringUnavailable, k.timeout())
	}
}

// Get reads an item.
func (k SystemKeyring) Get(service, user string) (string, error) {
	return k.call(func() (string, error) { return keyring.Get(service, user) })
}

// Set writes an item.
func (k SystemKeyring) Set(service, user, secret string) error {
	_, err := k.call(func() (string, error) { return "", keyring.Set(service, user, secret) })
	return err
}

// Delete removes an item.
func (k SystemKeyring) Delete(service, user string) error {
	_, err := k.call(func() (string, error) { return "", keyring.Delete(service, user) })
	return err
}
