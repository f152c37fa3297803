// Package forward sends audit lines to a company's collectors: syslog
// (RFC 5424 over UDP, TCP or a unix socket), HTTP endpoints receiving
// JSON lines, and systemd-journald (its native protocol, journald.go). Delivery is at least once through a spool in the user's
// state directory: every batch the log appends is appended to the spool
// before anything is sent (fsynced once a send leaves it behind, see
// Forwarder.Sync), each sink's progress is an offset
// into the spool, and what a sink has not taken stays for the next command
// or `hush audit forward --flush`. A send never holds a command longer
// than its context allows.
//
// A line can reach a sink twice (a kill between the send and the offset's
// update, a spool whose state file was lost): its "hash", the chain hash
// of the local log, is the collector's deduplication key.
package forward

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/hush-secrets/hush/store"
)

// DefaultTimeout bounds what forwarding adds to a command.
const DefaultTimeout = 300 * time.Millisecond

// DefaultRetry is how long a sink that failed rests.
const DefaultRetry = 30 * time.Second

// ErrUnreachable means a sink did not take the lines sent to it; they
// stay in the spool.
var ErrUnreachable = errors.New("audit sink unreachable")

// maxChunk bounds one send (one HTTP request, one syslog connection's
// worth of lines).
const maxChunk = 1 << 20

// Forwarder forwards through the spool in Dir to Sinks.
type Forwarder struct {
	Dir   string
	Sinks []Sink
	// Timeout is the configured bound on one command's sending.
	Timeout time.Duration
	// Version names hush in HTTP requests (User-Agent).
	Version string
	// Retry is how long a sink that failed rests before an ordinary
	// command tries it again (forward_retry; a flush always tries).
	Retry time.Duration
	// Sync fsyncs every batch as it is spooled (HUSH_AUDIT_SYNC=1, as
	// for the log). Without it the spool is fsynced when a send leaves
	// lines in it: a line a sink took needs no durable copy here, and one
	// that was written (write(2) returned) survives a kill of hush; only a
	// power loss before the OS flushed it, the exposure the local log has
	// too, loses it before the send.
	Sync bool
}

// Sink is one configured destination.
type Sink struct {
	kind string // "syslog", "http" or "journald"
	url  *url.URL
	// syslog, journald
	facility int
	// http
	tokenFile string
}

// New checks cfg's sinks and makes a Forwarder spooling in dir; home
// expands a token_file's ~/. It returns nil, nil when no sink is
// configured.
func New(cfg store.AuditConfig, dir, home string) (*Forwarder, error) {
	if len(cfg.Forward) == 0 {
		return nil, nil
	}
	f := &Forwarder{Dir: dir, Timeout: DefaultTimeout, Retry: DefaultRetry}
	if cfg.ForwardRetry != "" {
		d, err := time.ParseDuration(cfg.ForwardRetry)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%w: audit: forward_retry %q: use a duration like 30s", store.ErrInvalid, cfg.ForwardRetry)
		}
		f.Retry = d
	}
	if cfg.ForwardTimeout != "" {
		d, err := time.ParseDuration(cfg.ForwardTimeout)
		if err != nil || d <= 0 || d > time.Minute {
			return nil, fmt.Errorf("%w: audit: forward_timeout %q: use a duration like 300ms (at most 1m)", store.ErrInvalid, cfg.ForwardTimeout)
		}
		f.Timeout = d
	}
	seen := map[string]bool{}
	for i, c := range cfg.Forward {
		s, err := parseSink(c, home)
		if err != nil {
			return nil, fmt.Errorf("%w: audit: forward[%d]: %v", store.ErrInvalid, i, err)
		}
		if seen[s.ID()] {
			continue
		}
		seen[s.ID()] = true
		f.Sinks = append(f.Sinks, s)
	}
	return f, nil
}

func parseSink(c store.AuditSink, home string) (Sink, error) {
	named := 0
	for _, v := range []string{c.Syslog, c.HTTP, c.Journald} {
		if v != "" {
			named++
		}
	}
	switch {
	case named > 1 && c.Journald == "":
		return Sink{}, errors.New("name one of syslog: and http:, not both")
	case named > 1:
		return Sink{}, errors.New("name one of syslog:, http: and journald:, not several")
	case c.Journald != "":
		if c.TokenFile != "" {
			return Sink{}, errors.New("token_file is for an http: sink")
		}
		path := c.Journald
		if path == "default" {
			path = JournalSocket
		}
		if !filepath.IsAbs(path) {
			return Sink{}, fmt.Errorf("journald %q: use default (%s) or the socket's absolute path", c.Journald, JournalSocket)
		}
		fac, err := facility(c.Facility)
		if err != nil {
			return Sink{}, err
		}
		return Sink{kind: "journald", url: &url.URL{Scheme: "unix", Path: filepath.Clean(path)}, facility: fac}, nil
	case c.Syslog != "":
		if c.TokenFile != "" {
			return Sink{}, errors.New("token_file is for an http: sink")
		}
		u, err := url.Parse(c.Syslog)
		if err != nil {
			return Sink{}, fmt.Errorf("syslog %q: %v", c.Syslog, err)
		}
		switch u.Scheme {
		case "udp", "tcp":
			if _, _, err := net.SplitHostPort(u.Host); err != nil || u.Path != "" {
				return Sink{}, fmt.Errorf("syslog %q: use %s://HOST:PORT", c.Syslog, u.Scheme)
			}
		case "unix":
			if u.Host != "" || !filepath.IsAbs(u.Path) {
				return Sink{}, fmt.Errorf("syslog %q: use unix:///ABSOLUTE/PATH (e.g. unix:///dev/log)", c.Syslog)
			}
		default:
			return Sink{}, fmt.Errorf("syslog %q: use udp://HOST:PORT, tcp://HOST:PORT or unix:///dev/log", c.Syslog)
		}
		fac, err := facility(c.Facility)
		if err != nil {
			return Sink{}, err
		}
		return Sink{kind: "syslog", url: u, facility: fac}, nil
	case c.HTTP != "":
		if c.Facility != "" {
			return Sink{}, errors.New("facility is for a syslog: sink")
		}
		u, err := url.Parse(c.HTTP)
		if err != nil || u.Host == "" {
			return Sink{}, fmt.Errorf("http %q: not a URL", c.HTTP)
		}
		switch u.Scheme {
		case "https":
		case "http":
			// A bearer token and who read what must not cross a network
			// in the clear; a collector on this machine may be plain.
			if !isLoopback(u.Hostname()) {
				return Sink{}, fmt.Errorf("http %q: plain http only to a loopback address; use https://", c.HTTP)
			}
		default:
			return Sink{}, fmt.Errorf("http %q: use an https:// URL", c.HTTP)
		}
		if u.User != nil {
			return Sink{}, fmt.Errorf("http: no credentials in the URL; put the token in a file named by token_file")
		}
		tf := c.TokenFile
		if tf == "~" || strings.HasPrefix(tf, "~/") {
			tf = filepath.Join(home, strings.TrimPrefix(tf, "~"))
		}
		if tf != "" && !filepath.IsAbs(tf) {
			return Sink{}, fmt.Errorf("token_file %q: use an absolute path or ~/path", c.TokenFile)
		}
		return Sink{kind: "http", url: u, tokenFile: tf}, nil
	}
	return Sink{}, errors.New("name a syslog:, an http: or a journald: sink")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String names the sink for people: no query, no credentials.
func (s Sink) String() string {
	u := *s.url
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return s.kind + " " + u.String()
}

// ID names the sink's progress in the spool's state.
func (s Sink) ID() string {
	h := sha256.Sum256([]byte(s.kind + "\x00" + s.url.String()))
	return hex.EncodeToString(h[:8])
}

func (f *Forwarder) spoolPath() string { return filepath.Join(f.Dir, "spool.jsonl") }
func (f *Forwarder) statePath() string { return filepath.Join(f.Dir, "state.json") }

// Spool appends lines (whole, newline-terminated audit lines) to the
// spool in one write: from here on they survive a kill of hush until
// every sink took them (and a power loss once fsynced: Sync, or a send
// that left them).
func (f *Forwarder) Spool(lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	unlock, err := f.lock("spool.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	sp, err := os.OpenFile(f.spoolPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	defer sp.Close()
	if st, err := sp.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("audit forward: spool %s is not a regular file", f.spoolPath())
	}
	if _, err := sp.Write(lines); err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	if f.Sync {
		if err := sp.Sync(); err != nil {
			return fmt.Errorf("audit forward: spool: %w", err)
		}
	}
	return nil
}

// SyncSpool makes what the spool holds durable: for lines spooled when
// there was no time left to send them.
func (f *Forwarder) SyncSpool() error { return f.syncSpool() }

func (f *Forwarder) syncSpool() error {
	sp, err := os.OpenFile(f.spoolPath(), os.O_WRONLY|store.ONoFollow, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	defer sp.Close()
	if err := sp.Sync(); err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	return nil
}

// lock takes an exclusive lock on a file in Dir; with wait false it
// returns errBusy when another process holds it.
func (f *Forwarder) lock(name string, wait bool) (func(), error) {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit forward: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(f.Dir, name), os.O_RDWR|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit forward: lock: %w", err)
	}
	if err := lockFile(lf, wait); err != nil {
		lf.Close()
		if errors.Is(err, errBusy) {
			return nil, err
		}
		return nil, fmt.Errorf("audit forward: lock: %w", err)
	}
	return func() { lf.Close() }, nil
}

var errBusy = errors.New("another hush is sending")

// state is each sink's progress through the spool.
type state struct {
	Sinks map[string]*SinkState `json:"sinks"`
}

// SinkState is one sink's progress and last outcome.
type SinkState struct {
	Sink          string    `json:"sink"`
	Offset        int64     `json:"offset"`
	LastSent      time.Time `json:"last_sent,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
}

func (f *Forwarder) readState() *state {
	st := &state{Sinks: map[string]*SinkState{}}
	b, err := store.ReadFileNoFollow(f.statePath(), 1<<20)
	if err == nil {
		_ = json.Unmarshal(b, st)
	}
	if st.Sinks == nil {
		st.Sinks = map[string]*SinkState{}
	}
	return st
}

// writeState replaces the state without fsync: a crash keeps the old or
// the new one; a power loss that keeps the old one only resends lines.
func (f *Forwarder) writeState(st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return store.ReplaceFile(f.statePath(), b)
}

// Result is what one Send did for one sink.
type Result struct {
	Sink    Sink
	Sent    int // lines sent now
	Pending int // lines still in the spool for it
	Err     error
}

// Status is the spool's depth for each sink and its last outcome.
type Status struct {
	Sink    Sink
	Pending int
	State   SinkState
}

// Send sends each sink the lines it has not taken, all sinks at once,
// until ctx ends. With wait false it returns at once (no results) when
// another hush is sending. A sink that failed keeps its lines; its error
// is in its Result and wraps ErrUnreachable.
func (f *Forwarder) Send(ctx context.Context, wait bool) ([]Result, error) {
	unlock, err := f.lock("send.lock", wait)
	if errors.Is(err, errBusy) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	st := f.readState()
	// A sink that failed within Retry rests: ordinary commands only
	// spool for it, so a sink that is down costs each command an append
	// rather than a read of the backlog and a timeout. A flush (wait)
	// tries every sink.
	now := time.Now()
	resting := func(s Sink) *SinkState {
		ss := st.Sinks[s.ID()]
		if wait || ss == nil || ss.LastError == "" || now.Sub(ss.LastErrorTime) >= f.Retry {
			return nil
		}
		return ss
	}
	active := 0
	for _, s := range f.Sinks {
		if resting(s) == nil {
			active++
		}
	}
	results := make([]Result, len(f.Sinks))
	if active == 0 {
		for i, s := range f.Sinks {
			results[i] = Result{Sink: s, Pending: -1, Err: fmt.Errorf("%w (resting after: %s)", ErrUnreachable, resting(s).LastError)}
		}
		return results, f.syncSpool()
	}
	spool, err := f.readSpool()
	if err != nil {
		return nil, err
	}
	var wg gosync.WaitGroup
	for i, s := range f.Sinks {
		ss := st.Sinks[s.ID()]
		if ss == nil {
			ss = &SinkState{}
			st.Sinks[s.ID()] = ss
		}
		ss.Sink = s.String()
		if ss.Offset > int64(len(spool)) || ss.Offset > 0 && spool[ss.Offset-1] != '\n' {
			ss.Offset = 0 // not this spool's: send it all again
		}
		if r := resting(s); r != nil {
			results[i] = Result{Sink: s, Pending: bytes.Count(spool[ss.Offset:], []byte{'\n'}), Err: fmt.Errorf("%w (resting after: %s)", ErrUnreachable, r.LastError)}
			continue
		}
		if active == 1 {
			// One sink to send to: in this goroutine. Handing it to
			// another and waiting costs a thread wake-up, a scheduling
			// delay on a loaded machine, on every command.
			results[i] = f.sendSink(ctx, s, ss, spool)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.sendSink(ctx, s, ss, spool)
		}()
	}
	wg.Wait()
	done := true
	for _, s := range f.Sinks {
		if st.Sinks[s.ID()].Offset != int64(len(spool)) {
			done = false
		}
	}
	// Progress of sinks no longer configured is dropped with the spool.
	switch {
	case done && len(spool) > 0:
		err = f.truncate(st, int64(len(spool)))
	case !done:
		// Lines stay for a later command: make them outlast a power loss.
		err = errors.Join(f.syncSpool(), f.writeState(st))
	default:
		err = f.writeState(st)
	}
	return results, err
}

// readSpool reads the spool up to its last complete line.
func (f *Forwarder) readSpool() ([]byte, error) {
	b, err := store.ReadFileNoFollow(f.spoolPath(), 1<<40)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit forward: spool: %w", err)
	}
	return b[:bytes.LastIndexByte(b, '\n')+1], nil
}

func (f *Forwarder) sendSink(ctx context.Context, s Sink, ss *SinkState, spool []byte) Result {
	r := Result{Sink: s}
	for ss.Offset < int64(len(spool)) {
		chunk := spool[ss.Offset:]
		if len(chunk) > maxChunk {
			if i := bytes.LastIndexByte(chunk[:maxChunk], '\n'); i >= 0 {
				chunk = chunk[:i+1]
			} else if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
				chunk = chunk[:i+1]
			}
		}
		var err error
		switch s.kind {
		case "http":
			err = f.postHTTP(ctx, s, chunk)
		case "journald":
			err = sendJournal(ctx, s, chunk)
		default:
			err = sendSyslog(ctx, s, chunk)
		}
		if err != nil {
			r.Err = fmt.Errorf("%w: %s: %v", ErrUnreachable, s, err)
			ss.LastError, ss.LastErrorTime = r.Err.Error(), time.Now().UTC()
			break
		}
		ss.Offset += int64(len(chunk))
		ss.LastSent, ss.LastError, ss.LastErrorTime = time.Now().UTC(), "", time.Time{}
		r.Sent += bytes.Count(chunk, []byte{'\n'})
	}
	r.Pending = bytes.Count(spool[ss.Offset:], []byte{'\n'})
	return r
}

// truncate empties the spool once every sink took all of its size bytes:
// the offsets go back to 0 first (the state is removed), so a crash in
// between resends rather than skips.
func (f *Forwarder) truncate(st *state, size int64) error {
	unlock, err := f.lock("spool.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	fi, err := os.Lstat(f.spoolPath())
	if err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	if fi.Size() != size {
		// Another command spooled meanwhile: keep the progress.
		return f.writeState(st)
	}
	// Every sink took everything: no state is every offset 0 and nothing
	// to report, and removing a file is cheaper than rewriting one.
	if err := os.Remove(f.statePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("audit forward: %w", err)
	}
	for _, s := range f.Sinks {
		f.touchSent(s, st.Sinks[s.ID()].LastSent)
	}
	sp, err := os.OpenFile(f.spoolPath(), os.O_WRONLY|store.ONoFollow, 0)
	if err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	defer sp.Close()
	// No fsync: a power loss that undoes the cut leaves lines the reset
	// offsets send again, which at least once allows.
	if err := sp.Truncate(0); err != nil {
		return fmt.Errorf("audit forward: spool: %w", err)
	}
	return nil
}

// sentPath is a file whose mtime is when the sink last took lines, kept
// across the state's removal.
func (f *Forwarder) sentPath(s Sink) string { return filepath.Join(f.Dir, "sent."+s.ID()) }

func (f *Forwarder) touchSent(s Sink, t time.Time) {
	if t.IsZero() {
		return
	}
	if err := os.Chtimes(f.sentPath(s), t, t); errors.Is(err, os.ErrNotExist) {
		if fh, err := os.OpenFile(f.sentPath(s), os.O_WRONLY|os.O_CREATE|store.ONoFollow, 0o600); err == nil {
			fh.Close()
			_ = os.Chtimes(f.sentPath(s), t, t)
		}
	}
}

// Status reports each sink's pending lines and last outcome, without
// sending.
func (f *Forwarder) Status() ([]Status, error) {
	spool, err := f.readSpool()
	if err != nil {
		return nil, err
	}
	st := f.readState()
	out := make([]Status, len(f.Sinks))
	for i, s := range f.Sinks {
		out[i].Sink = s
		ss := st.Sinks[s.ID()]
		if ss == nil {
			ss = &SinkState{Sink: s.String()}
		}
		off := ss.Offset
		if off > int64(len(spool)) || off > 0 && spool[off-1] != '\n' {
			off = 0
		}
		out[i].Pending = bytes.Count(spool[off:], []byte{'\n'})
		out[i].State = *ss
		if fi, err := os.Lstat(f.sentPath(s)); err == nil && fi.ModTime().After(ss.LastSent) {
			out[i].State.LastSent = fi.ModTime().UTC()
		}
	}
	return out, nil
}

// drain reads and discards the rest of r, bounded, so a connection can be
// reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }
