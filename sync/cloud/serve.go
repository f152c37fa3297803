package cloud

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/rotate"
	hushsync "github.com/hush-secrets/hush/sync"
)

// Services is what a companion serves, each by name: remote stores,
// key services, rotation providers.
type Services struct {
	Drivers   map[string]Driver
	Keys      map[string]KeyDriver
	Providers map[string]rotate.Factory
}

// Serve is hush-cloud's side: it answers each request read from stdin
// with the service it names, until stdin ends, and returns the exit code.
// A backend is opened once per kind and configuration and kept for the
// later requests (a pull, then a push of the same command).
func Serve(svc Services, stdin io.Reader, stdout, stderr io.Writer) int {
	dec := json.NewDecoder(bufio.NewReader(stdin))
	enc := json.NewEncoder(stdout)
	open := map[string]hushsync.Backend{}
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if err == io.EOF {
				return 0
			}
			fmt.Fprintf(stderr, "%s: reading a request: %v\n", Companion, err)
			return 1
		}
		var res *response
		switch {
		case req.Protocol != protocol:
			res = answer(context.Background(), nil, nil, &req)
		case strings.HasPrefix(req.Op, "kms-"):
			res = answerKMS(context.Background(), svc.Keys, &req)
		case strings.HasPrefix(req.Op, "rotate-"):
			res = answerRotate(svc.Providers, &req, &conversation{enc: enc, dec: dec})
		default:
			res = answer(context.Background(), svc.Drivers, open, &req)
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", Companion, err)
			return 1
		}
	}
}

func answer(ctx context.Context, drivers map[string]Driver, open map[string]hushsync.Backend, req *request) *response {
	fail := func(err error) *response { return &response{Error: toWireError(err)} }
	if req.Protocol != protocol {
		return fail(fmt.Errorf("%s speaks protocol %d and hush sent %d: install hush and %s from the same version", Companion, protocol, req.Protocol, Companion))
	}
	d, ok := drivers[req.Kind]
	if !ok {
		return fail(fmt.Errorf("%s does not serve %q (it serves %s): install hush and %s from the same version", Companion, req.Kind, strings.Join(slices.Sorted(maps.Keys(drivers)), ", "), Companion))
	}
	if req.Op == "resolve" {
		v, err := d.Resolve(ctx, req.Ref)
		if err != nil {
			return fail(err)
		}
		return &response{Value: v}
	}
	key := req.Kind + "\x00" + string(req.Config)
	b := open[key]
	if b == nil {
		var err error
		if b, err = d.Open(ctx, req.Config); err != nil {
			return fail(err)
		}
		open[key] = b
	}
	switch req.Op {
	case "pull":
		s, err := b.Pull(ctx, req.Env)
		if err != nil {
			return fail(err)
		}
		return &response{Snapshot: toWireSnapshot(s)}
	case "push":
		if req.Plan == nil {
			return fail(fmt.Errorf("%s: a push without a plan", Companion))
		}
		s, err := b.Push(ctx, req.Env, req.Plan.plan())
		if err != nil {
			return fail(err)
		}
		return &response{Snapshot: toWireSnapshot(s)}
	}
	return fail(fmt.Errorf("%s: unknown request %q", Companion, req.Op))
}
