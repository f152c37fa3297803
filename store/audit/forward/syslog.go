package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hush-secrets/hush/store/audit"
)

// SDID is the structured-data element hush's fields go in. 32473 is the
// private enterprise number RFC 5612 reserves for examples; a collector
// matches on the name.
const SDID = "hush@32473"

// MaxMessage bounds one syslog message: what RFC 5424 says every receiver
// should accept (rsyslog's default maximum is 8096, some relays stop at
// 2048). A run's line naming more keys than fit is sent as several
// messages, each with a part of the keys and part="I/N".
const MaxMessage = 2048

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

func facility(name string) (int, error) {
	if name == "" {
		return facilities["authpriv"], nil
	}
	f, ok := facilities[name]
	if !ok {
		return 0, fmt.Errorf("facility %q: use authpriv, auth, user, daemon or local0…local7", name)
	}
	return f, nil
}

// Severities: a failed access is a warning, a log found rolled back is
// critical, everything else informational.
func severity(e audit.Entry) int {
	switch {
	case e.Action == audit.AuditRollback:
		return 2
	case !e.Success:
		return 4
	}
	return 6
}

// FormatSyslog turns one audit line into RFC 5424 messages (without
// framing): the entry's fields as structured data, the line's JSON as the
// message.
func FormatSyslog(line []byte, fac int) ([][]byte, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var e audit.Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, fmt.Errorf("spool line is not an audit line: %v", err)
	}
	msg := format(e, fac, line, "")
	if len(msg) <= MaxMessage || len(e.Keys) < 2 {
		return [][]byte{msg}, nil
	}
	// Split the keys so each message fits.
	bare := e
	bare.Keys = nil
	budget := MaxMessage - len(format(bare, fac, line[:0], "999/999")) - len(line) + keysLen(e.Keys) - 64
	budget = max(budget, 256)
	var parts [][]string
	var cur []string
	n := 0
	for _, k := range e.Keys {
		if n+len(k)+3 > budget && len(cur) > 0 {
			parts, cur, n = append(parts, cur), nil, 0
		}
		cur = append(cur, k)
		n += len(k) + 3
	}
	parts = append(parts, cur)
	out := make([][]byte, len(parts))
	for i, keys := range parts {
		p := e
		p.Keys = keys
		body, err := json.Marshal(struct {
			audit.Entry
			Part  int `json:"part"`
			Parts int `json:"parts"`
		}{p, i + 1, len(parts)})
		if err != nil {
			return nil, err
		}
		out[i] = format(p, fac, body, fmt.Sprintf("%d/%d", i+1, len(parts)))
	}
	return out, nil
}

// keysLen is about what the keys take in the line's JSON.
func keysLen(keys []string) int {
	n := 0
	for _, k := range keys {
		n += len(k) + 3
	}
	return n
}

func format(e audit.Entry, fac int, msg []byte, part string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s hush %s %s [%s", fac*8+severity(e), e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		header(e.Host, 255), header(strconv.Itoa(e.PID), 128), header(e.Action, 32), SDID)
	param := func(name, v string) {
		if v == "" {
			return
		}
		b.WriteString(" " + name + `="`)
		b.WriteString(sdEscape(v))
		b.WriteByte('"')
	}
	param("action", e.Action)
	param("path", e.Path)
	param("success", strconv.FormatBool(e.Success))
	param("identity", e.Identity)
	param("user", e.User)
	param("command", e.Command)
	param("error", e.Error)
	param("detail", e.Detail)
	if len(e.Keys) > 0 {
		param("keys", strconv.Itoa(len(e.Keys)))
	}
	param("part", part)
	param("version", e.Version)
	param("source", e.Source)
	param("lease", e.Lease)
	param("prev", e.Prev)
	param("hash", e.Hash)
	b.WriteString("] ")
	b.Write(msg)
	return b.Bytes()
}

// header is a header field: printable US-ASCII without spaces, at most n
// bytes, "-" when empty.
func header(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// sdEscape escapes a PARAM-VALUE (RFC 5424 6.3.3) and turns control
// characters into spaces, so a value cannot end the message or the line.
func sdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sendSyslog sends the chunk's lines over one connection: a datagram per
// message over UDP and unix datagram sockets, octet-counted framing (RFC
// 6587) over TCP, a newline after each over a unix stream socket.
func sendSyslog(ctx context.Context, s Sink, chunk []byte) error {
	var msgs [][]byte
	for line := range bytes.Lines(chunk) {
		m, err := FormatSyslog(line, s.facility)
		if err != nil {
			return err
		}
		msgs = append(msgs, m...)
	}
	var d net.Dialer
	network, addr := s.url.Scheme, s.url.Host
	if network == "unix" {
		network, addr = "unixgram", s.url.Path
	}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil && s.url.Scheme == "unix" {
		network = "unix"
		conn, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		switch network {
		case "tcp":
			fmt.Fprintf(&buf, "%d ", len(m))
			buf.Write(m)
		case "unix":
			buf.Write(m)
			buf.WriteByte('\n')
		default:
			if _, err := conn.Write(m); err != nil {
				return err
			}
		}
	}
	if buf.Len() > 0 {
		if _, err := conn.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
