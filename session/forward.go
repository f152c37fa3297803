package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit/forward"
	hsync "github.com/hush-secrets/hush/sync"
)

// Forwarding audit lines to the sinks of the user's configuration
// (store/audit/forward): every batch the log appends is spooled while the
// log's lock is held (Log.Appended), then sent after the append within
// one budget for the whole command (forward_timeout, 300ms by default).
// What a sink does not take in time waits in the spool for the next
// command or hush audit forward --flush. A failure to forward never fails
// the command: the local log is the record (contract 4), the forward a
// copy.

// forwarding is a session's forwarder, read from the configuration once.
type forwarding struct {
	once     gosync.Once
	f        *forward.Forwarder
	err      error
	deadline time.Time
	warned   bool
}

// Forwarder is the forwarder of the user's configuration: nil, nil when no
// sink is configured.
func (s *Session) Forwarder() (*forward.Forwarder, error) {
	fw := s.fwd()
	fw.once.Do(func() {
		uc, err := store.ReadUserConfig(filepath.Join(s.ConfigDir(), store.UserConfigName))
		if err != nil {
			fw.err = err
			return
		}
		fw.f, fw.err = forward.New(uc.Audit, filepath.Join(s.StateDir(), "forward"), s.Home())
		if fw.f != nil {
			fw.f.Version, fw.f.Sync = s.Version, s.Getenv("HUSH_AUDIT_SYNC") == "1"
		}
	})
	return fw.f, fw.err
}

func (s *Session) fwd() *forwarding {
	if s.forwarding == nil {
		s.forwarding = &forwarding{}
	}
	return s.forwarding
}

// warnForward says once per command that forwarding did not work.
func (s *Session) warnForward(err error) {
	if fw := s.fwd(); !fw.warned {
		fw.warned = true
		s.Report.Warnf("audit forwarding: %v", err)
	}
}

// spoolAudit is the log's Appended hook: the batch goes to the spool.
func (s *Session) spoolAudit(lines []byte) {
	f, err := s.Forwarder()
	if err != nil {
		s.warnForward(fmt.Errorf("off: %w", err))
		return
	}
	if f == nil {
		return
	}
	if err := f.Spool(lines); err != nil {
		s.warnForward(err)
	}
}

// backlogWarn is how many lines a failing sink may hold back before every
// command says so: a laptop away from its collector is normal.
const backlogWarn = 1000

// forwardAudit sends what is spooled, within what is left of the
// command's budget.
func (s *Session) forwardAudit() {
	f, _ := s.Forwarder()
	if f == nil {
		return
	}
	fw := s.fwd()
	now := time.Now()
	if fw.deadline.IsZero() {
		fw.deadline = now.Add(f.Timeout)
	}
	if !now.Before(fw.deadline) {
		// No time left: the lines wait, durably, for the next command.
		if err := f.SyncSpool(); err != nil {
			s.warnForward(err)
		}
		return
	}
	ctx, cancel := context.WithDeadline(s.Ctx(), fw.deadline)
	defer cancel()
	results, err := f.Send(ctx, false)
	if err != nil {
		s.warnForward(err)
		return
	}
	for _, r := range results {
		if r.Err != nil && r.Pending >= backlogWarn {
			s.warnForward(fmt.Errorf("%d lines wait in the spool for %s (hush audit forward --flush; hush doctor)", r.Pending, r.Sink))
		}
	}
}

// FlushAudit sends every sink what the spool holds for it, waiting up to
// timeout. An error wrapping sync.ErrUnavailable (exit 8) says a sink did
// not take its lines; they stay in the spool.
func (s *Session) FlushAudit(timeout time.Duration) ([]forward.Result, error) {
	f, err := s.Forwarder()
	if err != nil || f == nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(s.Ctx(), timeout)
	defer cancel()
	results, err := f.Send(ctx, true)
	if err != nil {
		return results, err
	}
	var failed []error
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Err)
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%w: %w", hsync.ErrUnavailable, errors.Join(failed...))
	}
	return results, nil
}
