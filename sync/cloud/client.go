package cloud

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	gosync "sync"

	hushsync "github.com/hush-secrets/hush/sync"
)

// ErrNoCompanion means hush-cloud is not installed where hush looks for
// it. It is a sync.ErrUnavailable (exit 8): a component hush needs is not
// there.
var ErrNoCompanion error = &kindError{msg: Companion + " is not installed (it is built and installed beside hush: make install, or install.sh)", kind: hushsync.ErrUnavailable}

// FindCompanion looks for hush-cloud beside the running hush (resolving
// symlinks, as installed by install.sh or a package), then on PATH: the
// same rules as hush-sops.
func FindCompanion() (string, error) {
	if p, ok := hushsync.FindCompanion(Companion); ok {
		return p, nil
	}
	return "", ErrNoCompanion
}

// Client runs one hush-cloud for as long as a command needs it: it is
// started at the first request and answers every later one, until Close.
// Its methods are safe for concurrent use (requests are answered one at a
// time).
type Client struct {
	// Path is the hush-cloud executable.
	Path string
	// Env is its environment: the SDKs read their configuration and
	// credentials (AWS_PROFILE, AWS_ENDPOINT_URL, GOOGLE_APPLICATION_CREDENTIALS,
	// KUBECONFIG…) from there.
	Env []string
	// Stderr receives what the companion prints (nothing, normally).
	Stderr io.Writer

	mu    gosync.Mutex
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *json.Encoder
	dec   *json.Decoder
	dead  error
}

// Close ends the companion; a client never started has nothing to end.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	c.stdin.Close()
	err := c.cmd.Wait()
	c.cmd = nil
	if c.dead == nil {
		c.dead = errors.New(Companion + " was closed")
	}
	return err
}

func (c *Client) start() error {
	if c.dead != nil {
		return c.dead
	}
	if c.cmd != nil {
		return nil
	}
	cmd := exec.Command(c.Path)
	cmd.Env = c.Env
	cmd.Stderr = c.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %s: %v", hushsync.ErrUnavailable, c.Path, err)
	}
	c.cmd, c.stdin = cmd, stdin
	c.enc, c.dec = json.NewEncoder(stdin), json.NewDecoder(bufio.NewReader(stdout))
	return nil
}

// kill ends a companion that stopped making sense (or a request the
// context cancelled): every later request fails with why.
func (c *Client) kill(why error) {
	c.dead = why
	if c.cmd != nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		c.cmd = nil
	}
}

// call sends one request and waits for its answer, or for ctx.
func (c *Client) call(ctx context.Context, req *request) (*response, error) {
	return c.callBack(ctx, req, nil)
}

// callBack is call for a request during which the companion may call
// back (a rotation provider asking for a secret, or telling the user
// something): answer answers each call, nil for one that wants no answer.
// It runs on the goroutine reading the companion, while call's caller
// waits, so it never runs beside the caller's own code.
func (c *Client) callBack(ctx context.Context, req *request, answer func(*wireCall) *wireAnswer) (*response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	req.Protocol = protocol
	type outcome struct {
		res *response
		err error
	}
	done := make(chan outcome, 1)
	enc, dec := c.enc, c.dec
	go func() {
		if err := enc.Encode(req); err != nil {
			done <- outcome{err: err}
			return
		}
		for {
			var res response
			if err := dec.Decode(&res); err != nil || res.Call == nil {
				done <- outcome{&res, err}
				return
			}
			if answer == nil {
				done <- outcome{err: fmt.Errorf("a call back (%s) during a %s request, which takes none", res.Call.Call, req.Op)}
				return
			}
			if a := answer(res.Call); a != nil {
				if err := enc.Encode(&request{Protocol: protocol, Op: "answer", Answer: a}); err != nil {
					done <- outcome{err: err}
					return
				}
			}
		}
	}()
	select {
	case <-ctx.Done():
		c.kill(fmt.Errorf("%s: %w", Companion, ctx.Err()))
		<-done
		return nil, fmt.Errorf("%s: %s: %w", Companion, req.Op, ctx.Err())
	case a := <-done:
		if a.err != nil {
			cmd := c.cmd
			c.kill(fmt.Errorf("%w: %s stopped answering", hushsync.ErrUnavailable, Companion))
			if st := cmd.ProcessState; st != nil && st.Exited() {
				return nil, fmt.Errorf("%w: %s failed (%v)", hushsync.ErrUnavailable, Companion, st)
			}
			return nil, fmt.Errorf("%w: %s ended without an answer (%v)", hushsync.ErrUnavailable, Companion, a.err)
		}
		if a.res.Error != nil {
			return nil, a.res.Error.err()
		}
		return a.res, nil
	}
}

// Resolve reads one reference (ssm:///path, awssm://name#KEY…) through
// the driver its scheme names.
func (c *Client) Resolve(ctx context.Context, kind, ref string) ([]byte, error) {
	res, err := c.call(ctx, &request{Op: "resolve", Kind: kind, Ref: ref})
	if err != nil {
		return nil, err
	}
	return res.Value, nil
}

// Backend is one remote of one kind, in one configuration, reached through
// the companion. It is a sync.Backend.
type Backend struct {
	Client *Client
	// Kind names the driver ("ssm"…); Config is its JSON configuration.
	Kind   string
	Config json.RawMessage
	// Locate is Location: where env lives, computed here without asking
	// the companion (nil: "kind:env").
	Locate func(env string) string
	// Source names the remote in audit lines (Address).
	Source string
}

var _ hushsync.Backend = (*Backend)(nil)

// Location implements sync.Backend.
func (b *Backend) Location(env string) string {
	if b.Locate != nil {
		return b.Locate(env)
	}
	return b.Kind + ":" + env
}

// Address is the remote's name for the audit log.
func (b *Backend) Address() string { return b.Source }

// Pull implements sync.Backend.
func (b *Backend) Pull(ctx context.Context, env string) (*hushsync.Snapshot, error) {
	res, err := b.Client.call(ctx, &request{Op: "pull", Kind: b.Kind, Config: b.Config, Env: env})
	if err != nil {
		return nil, err
	}
	if res.Snapshot == nil {
		return nil, fmt.Errorf("%w: %s answered a pull without a snapshot", hushsync.ErrUnavailable, Companion)
	}
	return res.Snapshot.snapshot(), nil
}

// Push implements sync.Backend.
func (b *Backend) Push(ctx context.Context, env string, plan *hushsync.Plan) (*hushsync.Snapshot, error) {
	if plan.Empty() {
		return plan.Base, nil
	}
	res, err := b.Client.call(ctx, &request{Op: "push", Kind: b.Kind, Config: b.Config, Env: env, Plan: toWirePlan(plan)})
	if err != nil {
		return nil, err
	}
	if res.Snapshot == nil {
		return nil, fmt.Errorf("%w: %s answered a push without a snapshot", hushsync.ErrUnavailable, Companion)
	}
	return res.Snapshot.snapshot(), nil
}
