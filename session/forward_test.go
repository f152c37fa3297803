package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	hsync "github.com/hush-secrets/hush/sync"
)

// sink is an HTTP collector that keeps the bodies it took.
type sink struct {
	mu   gosync.Mutex
	body bytes.Buffer
	hang bool
	// hung counts the requests left unanswered; abandoned, those whose
	// sender gave up on them (closed the connection).
	hung, abandoned int
}

func (k *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	k.mu.Lock()
	hang := k.hang
	k.mu.Unlock()
	if hang {
		k.mu.Lock()
		k.hung++
		k.mu.Unlock()
		<-r.Context().Done()
		k.mu.Lock()
		k.abandoned++
		k.mu.Unlock()
		return
	}
	if r.Header.Get("Authorization") != "Bearer tok-123" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	k.mu.Lock()
	k.body.Write(b)
	k.mu.Unlock()
}

func (k *sink) got() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.body.String()
}

// waitHung waits (a minute at most) until n requests were left
// unanswered and their senders gave up on all of them, and says how many
// were, for a test that counts what a hung sink cost: no clock involved.
func (k *sink) waitHung(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		k.mu.Lock()
		hung, abandoned := k.hung, k.abandoned
		k.mu.Unlock()
		if hung >= n && abandoned == hung {
			if hung != n {
				t.Errorf("%d requests hung at the sink, want %d", hung, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests hung at the sink, %d given up; want %d, all given up", hung, abandoned, n)
		}
	}
}

func (k *sink) setHang(v bool) {
	k.mu.Lock()
	k.hang = v
	k.mu.Unlock()
}

// forwardTo configures s's user to forward to url.
func forwardTo(t *testing.T, s *Session, url string) {
	t.Helper()
	tok := filepath.Join(s.Home(), "collector.token")
	if err := os.WriteFile(tok, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(s.ConfigDir(), 0o700)
	cfg := fmt.Sprintf("audit:\n  forward:\n    - http: %s/ingest\n      token_file: ~/collector.token\n", url)
	if err := os.WriteFile(filepath.Join(s.ConfigDir(), "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// again is a new session (the next command) on the same user and project.
func again(s *Session) *Session { return New(s.Options) }

func TestRecordForwardsTheLogsLines(t *testing.T) {
	s, _ := coreSession(t)
	k := &sink{}
	srv := httptest.NewServer(k)
	defer srv.Close()
	forwardTo(t, s, srv.URL)
	if err := s.Audit("secret.read", []string{"demo/dev/A", "demo/dev/B"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AuditWith("secret.read", "demo/dev/C", errors.New("C not found in dev")); err == nil {
		t.Fatal("AuditWith lost the error")
	}
	log, err := os.ReadFile(s.AuditLog().Path)
	if err != nil {
		t.Fatal(err)
	}
	// The collector has the log's lines, byte for byte, each once.
	if k.got() != string(log) || bytes.Count(log, []byte("\n")) != 3 {
		t.Errorf("collector has\n%s\nlog has\n%s", k.got(), log)
	}
}

// A sink that never answers costs one budget for the whole command, not
// one a line; the lines wait in the spool and the next command, or a
// flush, sends them.
func TestHungSinkBoundedAndSpooled(t *testing.T) {
	s, _ := coreSession(t)
	k := &sink{hang: true}
	srv := httptest.NewServer(k)
	defer srv.Close()
	forwardTo(t, s, srv.URL)
	for i := range 5 {
		if err := s.Audit("secret.read", []string{fmt.Sprintf("demo/dev/K%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// One request for the five lines, given up on at the budget (hush
	// returned, and closed it): the budget is the command's, not a
	// line's. Counted, not timed, so a loaded machine cannot fail it.
	k.waitHung(t, 1)
	f, err := s.Forwarder()
	if err != nil || f == nil {
		t.Fatal(f, err)
	}
	st, _ := f.Status()
	if st[0].Pending != 5 || st[0].State.LastError == "" {
		t.Errorf("status %+v, want 5 pending and the error", st)
	}
	if _, err := again(s).FlushAudit(200 * time.Millisecond); !errors.Is(err, hsync.ErrUnavailable) {
		t.Errorf("flush to a hung sink: %v, want ErrUnavailable", err)
	}
	k.waitHung(t, 2) // the flush asked, and gave up

	// The next command does not ask the sink again: it rests
	// (forward_retry, 30s), the line is only spooled.
	if err := again(s).Audit("secret.read", []string{"demo/dev/RESTING"}, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Status(); st[0].Pending != 6 {
		t.Errorf("pending %d, want 6", st[0].Pending)
	}
	k.waitHung(t, 2)

	// The sink comes back: a flush sends the backlog, each line once.
	k.setHang(false)
	if err := again(s).Audit("secret.read", []string{"demo/dev/LATER"}, nil); err != nil {
		t.Fatal(err)
	}
	if k.got() != "" {
		t.Errorf("a resting sink was sent %q", k.got())
	}
	res, err := again(s).FlushAudit(time.Second)
	if err != nil || res[0].Sent != 7 {
		t.Fatalf("flush: %+v %v", res, err)
	}
	log, _ := os.ReadFile(s.AuditLog().Path)
	if k.got() != string(log) {
		t.Errorf("collector has\n%s\nwant the log\n%s", k.got(), log)
	}
	res, err = again(s).FlushAudit(time.Second)
	if err != nil || res[0].Sent != 0 {
		t.Errorf("flush after catching up: %+v %v (nothing is sent twice)", res, err)
	}
}

// A configuration hush cannot read does not stop the command: the line is
// in the local log and the user is told, once.
func TestBadForwardConfigWarns(t *testing.T) {
	s, _ := coreSession(t)
	var warned []string
	s.Report = warnings{&warned}
	os.MkdirAll(s.ConfigDir(), 0o700)
	os.WriteFile(filepath.Join(s.ConfigDir(), "config.yaml"), []byte("audit:\n  forward:\n    - http: http://collector.example/x\n"), 0o600)
	for range 2 {
		if err := s.Audit("secret.read", []string{"demo/dev/A"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(warned) != 1 || !bytes.Contains([]byte(warned[0]), []byte("plain http only to a loopback")) {
		t.Errorf("warnings %q", warned)
	}
}

type warnings struct{ w *[]string }

func (w warnings) Infof(string, ...any) {}
func (w warnings) Warnf(f string, a ...any) {
	*w.w = append(*w.w, fmt.Sprintf(f, a...))
}
func (w warnings) Notef(string, ...any) {}
