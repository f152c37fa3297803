package forward

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hush-secrets/hush/store/audit"
)

// JournalSocket is where systemd-journald receives its native protocol.
const JournalSocket = "/run/systemd/journal/socket"

// The journald sink speaks journald's native protocol (systemd's
// "Native Journal Protocol"): one datagram per audit line on the journal's
// unix datagram socket, each a list of fields, NAME=value and a newline,
// or, for a value holding a newline, NAME, a newline, the value's length
// as a little-endian 64-bit number, the value, and a newline. A datagram
// too large for the socket (a run naming thousands of keys) goes as a
// sealed memfd passed over the socket, as sd_journal_send does.
//
// Every field of the audit line is a journal field of its own, named
// HUSH_ and the JSON name upper-cased (HUSH_ACTION, HUSH_PATH, HUSH_KEYS —
// the keys one per line —, HUSH_HASH…), so journalctl HUSH_ACTION=
// secret.read or a forwarder's field match finds them without parsing
// MESSAGE, which is the audit line itself, byte for byte. PRIORITY and
// SYSLOG_FACILITY are syslog's (a failed access is a warning, a rollback
// critical), SYSLOG_IDENTIFIER is hush. journald adds its trusted fields
// (_PID, _UID, _HOSTNAME…) of the process that sent the line, which for a
// line flushed later is not the one that wrote it: HUSH_PID is.

// journalFields lists the audit line's fields in the order sent.
func journalFields(e audit.Entry, line []byte, fac int) [][2]string {
	f := [][2]string{
		{"MESSAGE", string(line)},
		{"PRIORITY", strconv.Itoa(severity(e))},
		{"SYSLOG_FACILITY", strconv.Itoa(fac)},
		{"SYSLOG_IDENTIFIER", "hush"},
		{"HUSH_TIMESTAMP", e.Time.UTC().Format(time.RFC3339Nano)},
		{"HUSH_ACTION", e.Action},
		{"HUSH_PATH", e.Path},
		{"HUSH_IDENTITY", e.Identity},
		{"HUSH_USER", e.User},
		{"HUSH_PID", strconv.Itoa(e.PID)},
		{"HUSH_COMMAND", e.Command},
		{"HUSH_SUCCESS", strconv.FormatBool(e.Success)},
		{"HUSH_ERROR", e.Error},
		{"HUSH_DETAIL", e.Detail},
		{"HUSH_KEYS", strings.Join(e.Keys, "\n")},
		{"HUSH_HOST", e.Host},
		{"HUSH_VERSION", e.Version},
		{"HUSH_SOURCE", e.Source},
		{"HUSH_LEASE", e.Lease},
		{"HUSH_PREV", e.Prev},
		{"HUSH_HASH", e.Hash},
	}
	if len(e.Keys) > 0 {
		f = append(f, [2]string{"HUSH_KEY_COUNT", strconv.Itoa(len(e.Keys))})
	}
	return f
}

// validJournalField is journald's rule for a field a client may set: 1 to
// 64 characters of A-Z, 0-9 and _, not starting with a digit or with _
// (those are journald's own, trusted fields, which it drops from clients).
func validJournalField(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '_' || ('0' <= name[0] && name[0] <= '9') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// FormatJournal turns one audit line into a native-protocol entry. Empty
// fields are left out, as the line's JSON leaves them out.
func FormatJournal(line []byte, fac int) ([]byte, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var e audit.Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, fmt.Errorf("spool line is not an audit line: %v", err)
	}
	var b bytes.Buffer
	for _, kv := range journalFields(e, line, fac) {
		name, v := kv[0], kv[1]
		if v == "" {
			continue
		}
		if !validJournalField(name) {
			return nil, fmt.Errorf("journal field name %q", name) // a bug, not input
		}
		b.WriteString(name)
		if strings.IndexByte(v, '\n') < 0 {
			b.WriteByte('=')
			b.WriteString(v)
		} else {
			b.WriteByte('\n')
			var n [8]byte
			binary.LittleEndian.PutUint64(n[:], uint64(len(v)))
			b.Write(n[:])
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// sendJournal sends the chunk's lines to journald, one entry each. Any
// failure fails the chunk, which stays in the spool whole: at least once,
// as for the other sinks.
func sendJournal(ctx context.Context, s Sink, chunk []byte) error {
	var entries [][]byte
	for line := range bytes.Lines(chunk) {
		m, err := FormatJournal(line, s.facility)
		if err != nil {
			return err
		}
		entries = append(entries, m)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixgram", s.url.Path)
	if err != nil {
		return err
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	for _, m := range entries {
		if err := writeJournal(conn, m); err != nil {
			return err
		}
	}
	return nil
}
