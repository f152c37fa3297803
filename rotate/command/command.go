// Package command is the rotation provider for every credential hush has
// no provider for: the user's own program changes the API key at its
// provider, under a contract hush keeps on its side.
//
// The contract (README "Rotating with your own command"):
//
//   - hush runs the settings' command (an argv list: never a shell) with
//     the phase appended as its last argument: create, verify or retire;
//     in the project's root; stdin is empty.
//   - values never travel in argv or the environment: file descriptor 3
//     carries the old value, fd 4 the new one (in create: the value hush
//     proposes, 32 random characters; the command may use it or mint its
//     own). Each is the exact bytes, no newline, then end of file.
//   - create prints the new value on stdout (one trailing newline is
//     dropped); empty output is a failure. verify and retire print
//     nothing hush reads.
//   - exit 0 is success; any other code, a signal or the timeout
//     (settings' timeout, default 1m: SIGTERM to the command's process
//     group, SIGKILL 5s later) is a failure, and the rotation stops at
//     that phase to be retried by the next run.
//   - create may run again for the same rotation after a crash
//     (HUSH_ROTATE_ID is the same, and fd 4 the same proposed value): it
//     must then converge, not create a second key it never retires.
//     verify must change nothing; retire must succeed when the old key is
//     already gone.
//   - the environment is small: PATH, HOME, USER, LANG, LC_ALL, TZ,
//     TMPDIR and the proxy variables from hush's, HUSH_ROTATE_PHASE,
//     HUSH_ROTATE_ID, HUSH_ROTATE_ENV, HUSH_ROTATE_KEY, and the secrets
//     the settings name in secrets: (an admin token), by their names.
//   - stderr is shown to the user with every value of the rotation
//     masked.
//
// The command comes from hush.yaml's rotation.sources, which is pinned;
// a file of the project the command names (a script in the repository)
// is pinned too, by the sha256: of its content in the same settings, so a
// commit that changes the script is refused until acknowledged like one
// that changes the command.
package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// Settings are the command provider's fields of a rotation.sources
// entry.
type Settings struct {
	// Command is the argv; the phase is appended.
	Command []string `yaml:"command"`
	// SHA256 maps each argument that names a file of the project to the
	// hex SHA-256 of its content.
	SHA256 map[string]string `yaml:"sha256"`
	// Secrets are other secrets of the environment the command gets as
	// environment variables.
	Secrets []string `yaml:"secrets"`
	// Overlap says the old key keeps working until retire (default true;
	// false for a provider whose new key replaces the old at once).
	Overlap *bool `yaml:"overlap"`
}

// Provider runs the user's command.
type Provider struct {
	set  Settings
	base rotate.Settings
}

var (
	_ rotate.Provider  = (*Provider)(nil)
	_ rotate.Preflight = (*Provider)(nil)
)

// New checks the settings.
func New(s rotate.Settings) (rotate.Provider, error) {
	p := &Provider{base: s}
	if err := s.Decode(&p.set); err != nil {
		return nil, err
	}
	if len(p.set.Command) == 0 || p.set.Command[0] == "" {
		return nil, fmt.Errorf("rotation.sources.%s: provider command needs command: [PROGRAM, ARGS...]", s.Name)
	}
	for _, name := range p.set.Secrets {
		if err := store.ValidKeyName(name); err != nil {
			return nil, fmt.Errorf("rotation.sources.%s.secrets: %w", s.Name, err)
		}
		if strings.HasPrefix(name, "HUSH_") || reserved[name] {
			return nil, fmt.Errorf("rotation.sources.%s.secrets: %s would replace a variable hush sets", s.Name, name)
		}
	}
	return p, nil
}

// reserved are the variables the command's environment is made of.
var reserved = map[string]bool{"PATH": true, "HOME": true, "USER": true, "LANG": true, "LC_ALL": true, "TZ": true, "TMPDIR": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "http_proxy": true, "https_proxy": true, "no_proxy": true}

// Preflight checks the command's pinned files before a rotation begins.
func (p *Provider) Preflight(req *rotate.Request) error {
	_, err := p.resolve(req)
	return err
}

// Plan describes the run.
func (p *Provider) Plan(req *rotate.Request) string {
	return fmt.Sprintf("run %s create, verify, retire", strings.Join(p.set.Command, " "))
}

func (p *Provider) overlap() bool { return p.set.Overlap == nil || *p.set.Overlap }

// Create runs the command's create phase and reads the new value.
func (p *Provider) Create(ctx context.Context, req *rotate.Request) (*rotate.Result, error) {
	out, err := p.run(ctx, req, "create", req.Old, req.Proposed)
	if err != nil {
		return nil, err
	}
	v := strings.TrimSuffix(string(out), "\n")
	if v == "" {
		return nil, fmt.Errorf("%s create exited 0 but printed no new value", p.set.Command[0])
	}
	return &rotate.Result{Value: store.Value(v), OldValid: p.overlap()}, nil
}

// Verify runs the command's verify phase.
func (p *Provider) Verify(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	_, err := p.run(ctx, req, "verify", req.Old, res.Value)
	return err
}

// Retire runs the command's retire phase.
func (p *Provider) Retire(ctx context.Context, req *rotate.Request, res *rotate.Result) error {
	_, err := p.run(ctx, req, "retire", req.Old, res.Value)
	return err
}

// maxOutput bounds what create may print.
const maxOutput = 1 << 20

func (p *Provider) run(ctx context.Context, req *rotate.Request, phase string, old, cur store.Value) ([]byte, error) {
	argv, err := p.resolve(req)
	if err != nil {
		return nil, err
	}
	env, given, err := p.environ(req, phase)
	if err != nil {
		return nil, err
	}
	fdOld, err := valuePipe(old)
	if err != nil {
		return nil, err
	}
	defer fdOld.Close()
	fdNew, err := valuePipe(cur)
	if err != nil {
		return nil, err
	}
	defer fdNew.Close()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], phase)...)
	cmd.Dir, cmd.Env = req.Dir, env
	cmd.ExtraFiles = []*os.File{fdOld, fdNew}
	var stdout limited
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return terminate(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	mask := func(s string) string {
		for _, v := range append([]store.Value{old, cur, req.Proposed}, given...) {
			if len(v.Reveal()) >= 4 {
				s = strings.ReplaceAll(s, v.Reveal(), "[redacted]")
			}
		}
		return s
	}
	if msg := strings.TrimSpace(mask(stderr.String())); msg != "" && req.Logf != nil {
		for _, l := range strings.Split(msg, "\n") {
			req.Logf("%s %s: %s", filepath.Base(argv[0]), phase, l)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: stopped: %w", filepath.Base(argv[0]), phase, ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s %s failed (%s)", filepath.Base(argv[0]), phase, ee.ProcessState)
		}
		return nil, fmt.Errorf("%s %s: %w", filepath.Base(argv[0]), phase, err)
	}
	if stdout.over {
		return nil, fmt.Errorf("%s %s printed more than %d bytes", filepath.Base(argv[0]), phase, maxOutput)
	}
	return stdout.Bytes(), nil
}

// resolve checks the command's project files against their pinned
// hashes and returns the argv to run.
func (p *Provider) resolve(req *rotate.Request) ([]string, error) {
	argv := append([]string(nil), p.set.Command...)
	for i, a := range argv {
		if filepath.IsAbs(a) {
			continue
		}
		path := filepath.Join(req.Dir, a)
		st, err := os.Stat(path)
		if i == 0 && !strings.Contains(a, "/") && err != nil {
			continue // a program on PATH
		}
		if err != nil || !st.Mode().IsRegular() {
			if i == 0 {
				return nil, fmt.Errorf("rotation.sources.%s: command %s is not a file of the project", p.base.Name, a)
			}
			continue // an argument that names no file
		}
		want, ok := p.set.SHA256[a]
		got, herr := fileHash(path)
		if herr != nil {
			return nil, herr
		}
		if !ok {
			return nil, fmt.Errorf("rotation.sources.%s: %s is a file of the project, so its content is pinned: add sha256: {%s: %s}", p.base.Name, a, a, got)
		}
		if !strings.EqualFold(want, got) {
			return nil, fmt.Errorf("%w: %s changed since hush.yaml pinned it (sha256 %s, pinned %s); review the change (git log -p %s), then update rotation.sources.%s.sha256 and run hush ack",
				store.ErrConflict, a, got, want, a, p.base.Name)
		}
		if i == 0 {
			argv[0] = path
		}
	}
	return argv, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 64<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// environ is the command's environment, and the secret values in it
// (masked out of what the command prints).
func (p *Provider) environ(req *rotate.Request, phase string) ([]string, []store.Value, error) {
	var env []string
	for name := range reserved {
		if v := req.Getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	env = append(env, "HUSH_ROTATE_PHASE="+phase, "HUSH_ROTATE_ID="+req.ID, "HUSH_ROTATE_ENV="+req.Env, "HUSH_ROTATE_KEY="+req.Key)
	var given []store.Value
	for _, name := range p.set.Secrets {
		v, err := req.Secret(name)
		if err != nil {
			return nil, nil, err
		}
		env = append(env, name+"="+v.Reveal())
		given = append(given, v)
	}
	return env, given, nil
}

// valuePipe is a pipe whose read end carries v and then end of file. A
// value larger than the pipe's buffer is written by a goroutine.
func valuePipe(v store.Value) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		_, _ = io.WriteString(w, v.Reveal())
		w.Close()
	}()
	return r, nil
}

// limited is a buffer that keeps the first maxOutput bytes.
type limited struct {
	bytes.Buffer
	over bool
}

func (l *limited) Write(b []byte) (int, error) {
	if room := maxOutput - l.Len(); len(b) > room {
		l.over = true
		if room > 0 {
			l.Buffer.Write(b[:room])
		}
		return len(b), nil
	}
	return l.Buffer.Write(b)
}
