package synctest

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// Faults is an http.RoundTripper wrapper an HTTP backend's test puts in
// front of its transport to give Run its LoseAnswer and ServerErrors
// hooks:
//
//	f := &synctest.Faults{}
//	client := newClient(WrapTransport(f.Wrap))
//	synctest.Remote{LoseAnswer: f.LoseNextWrite, ServerErrors: f.ServerErrors}
type Faults struct {
	// IsWrite says whether a request writes (default: any method but GET
	// and HEAD). A JSON-RPC style API (AWS's X-Amz-Target) names the
	// operation in a header instead.
	IsWrite func(*http.Request) bool
	// Status is the answer while ServerErrors is on (default 503).
	Status int

	next    http.RoundTripper
	lose    atomic.Bool
	failing atomic.Bool
	// Lost and Failed count the faults injected.
	Lost, Failed atomic.Int64
}

// Wrap puts f in front of next and returns f.
func (f *Faults) Wrap(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	f.next = next
	return f
}

// LoseNextWrite makes the next write go through to the server and its
// answer be lost.
func (f *Faults) LoseNextWrite() { f.lose.Store(true) }

// ServerErrors turns the server-error answers on or off.
func (f *Faults) ServerErrors(on bool) { f.failing.Store(on) }

// AWSWrite is IsWrite for AWS JSON APIs: an X-Amz-Target naming an
// operation that is not a read.
func AWSWrite(r *http.Request) bool {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	for _, read := range []string{"Get", "List", "Describe", "BatchGet"} {
		if strings.HasPrefix(op, read) {
			return false
		}
	}
	return op != ""
}

// RoundTrip implements http.RoundTripper.
func (f *Faults) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.failing.Load() {
		f.Failed.Add(1)
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		return &http.Response{
			StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/json"}, "Retry-After": {"0"}},
			Body:    io.NopCloser(strings.NewReader(`{"__type":"ThrottlingException","message":"Rate exceeded (synctest)","errors":["synctest: server error"]}`)),
			Request: r,
		}, nil
	}
	isWrite := f.IsWrite
	if isWrite == nil {
		isWrite = func(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }
	}
	if isWrite(r) && f.lose.CompareAndSwap(true, false) {
		resp, err := f.next.RoundTrip(r)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		f.Lost.Add(1)
		return nil, errors.New("connection reset by peer (synctest: answer lost)")
	}
	return f.next.RoundTrip(r)
}
