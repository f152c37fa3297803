package sopsfile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"filippo.io/age"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// The conversation between hush and hush-sops, over the helper's stdin and
// stdout, one JSON object a line:
//
//	hush → hush-sops   request            (once, first)
//	hush-sops → hush   {"unwrap": [...]}  (any number of times: age stanzas
//	                                       for hush to unwrap with its identity)
//	hush → hush-sops   unwrapReply        (one per unwrap)
//	hush-sops → hush   {"result": {...}}  (once, last)
//
// Values travel as bytes (base64 in JSON), never as JSON strings, which
// would replace invalid UTF-8. The helper's stderr is hush's: sops and gpg
// may need to speak to the user. Both ends are in this file, so they cannot
// drift apart; hush and hush-sops are built and installed together, and
// protocol says which conversation they speak.
const protocol = 1

// HelperName is the companion executable's name.
const HelperName = "hush-sops"

// ErrNotSOPS means hush-sops was asked to read data with no candidate
// format: hush only sends what Candidates recognises as SOPS, and a file
// that is recognised but does not load is ErrIntegrity, never ErrNotSOPS.
var ErrNotSOPS = errors.New("not a SOPS file")

// ErrNoHelper means hush-sops is not installed where hush looks for it. It
// is a sync.ErrUnavailable (exit 8): a component hush needs is not there.
var ErrNoHelper error = &kindError{msg: HelperName + " is not installed", kind: hushsync.ErrUnavailable}

type request struct {
	Protocol int    `json:"protocol"`
	Op       string `json:"op"` // "decrypt" or "encrypt"

	// decrypt
	Data       []byte   `json:"data,omitempty"`
	Formats    []Format `json:"formats,omitempty"`
	Identities bool     `json:"identities,omitempty"` // hush holds identities to unwrap with
	Own        []string `json:"own,omitempty"`
	Order      []string `json:"order,omitempty"`

	// encrypt
	Secrets    []wireSecret `json:"secrets,omitempty"`
	Format     Format       `json:"format,omitempty"`
	Recipients []Recipient  `json:"recipients,omitempty"`
	Now        time.Time    `json:"now,omitzero"`
}

type wireSecret struct {
	Name  string `json:"name"`
	Path  string `json:"path,omitempty"`
	Value []byte `json:"value"`
}

type helperMessage struct {
	Unwrap []*age.Stanza `json:"unwrap,omitempty"`
	Result *result       `json:"result,omitempty"`
}

type unwrapReply struct {
	FileKey   []byte `json:"file_key,omitempty"`
	Incorrect bool   `json:"incorrect,omitempty"`
	Error     string `json:"error,omitempty"`
}

type result struct {
	// decrypt
	Format           Format       `json:"format,omitempty"`
	Entries          []wireSecret `json:"entries,omitempty"`
	Plaintext        []string     `json:"plaintext,omitempty"`
	MACOnlyEncrypted bool         `json:"mac_only_encrypted,omitempty"`
	Recipients       []string     `json:"recipients,omitempty"`
	// encrypt
	Data []byte `json:"data,omitempty"`

	Error *wireError `json:"error,omitempty"`
}

// wireError carries an error's kind (which becomes hush's exit code) and
// its text, which sopslib keeps free of values.
type wireError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

var errorKinds = []struct {
	kind string
	err  error
}{
	{"not-sops", ErrNotSOPS},
	{"integrity", store.ErrIntegrity},
	{"no-identity", store.ErrNoIdentity},
	{"invalid", store.ErrInvalid},
	{"unavailable", hushsync.ErrUnavailable},
}

func toWire(err error) *wireError {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return &wireError{Kind: k.kind, Message: err.Error()}
		}
	}
	return &wireError{Message: err.Error()}
}

// kindError is an error with its own text that is also one of the
// sentinels (and so has that sentinel's exit code): errors from hush-sops
// keep the text it sent.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func (w *wireError) err() error {
	for _, k := range errorKinds {
		if k.kind == w.Kind {
			return &kindError{msg: w.Message, kind: k.err}
		}
	}
	return errors.New(w.Message)
}

// Helper runs hush-sops.
type Helper struct {
	// Path is the hush-sops executable.
	Path string
	// Env is its environment: sops reads its key sources' configuration
	// (SOPS_AGE_KEY_FILE, AWS_PROFILE, GNUPGHOME…) from there.
	Env []string
	// Stderr receives what sops and its key sources print.
	Stderr io.Writer
}

// FindHelper looks for hush-sops beside the running hush (resolving
// symlinks, as installed by install.sh or a package), then on PATH.
func FindHelper() (string, error) {
	if p, ok := hushsync.FindCompanion(HelperName); ok {
		return p, nil
	}
	return "", ErrNoHelper
}

// Decrypt decrypts data as a SOPS file of the first of formats sops can
// load it as (see Candidates) and flattens it. Every value is decrypted and
// the MAC verified before anything is returned: a tampered or damaged file,
// one none of the formats loads included, yields an error wrapping
// store.ErrIntegrity, and a file no available key opens one wrapping
// store.ErrNoIdentity. Errors never contain a value.
func (h *Helper) Decrypt(data []byte, formats []Format, keys Keys) (*File, error) {
	req := &request{Protocol: protocol, Op: "decrypt", Data: data, Formats: formats,
		Identities: len(keys.Identities) > 0, Own: keys.Own, Order: keys.DecryptionOrder}
	res, err := h.call(req, keys.Identities)
	if err != nil {
		return nil, err
	}
	f := &File{Format: res.Format, Plaintext: res.Plaintext, MACOnlyEncrypted: res.MACOnlyEncrypted, Recipients: res.Recipients}
	for _, e := range res.Entries {
		f.Entries = append(f.Entries, Entry{Name: e.Name, Path: e.Path, Value: store.Value(e.Value)})
	}
	return f, nil
}

// Encrypt writes secrets as a SOPS file of format f (YAML, JSON or dotenv)
// encrypted to recipients, as sops encrypt --age would. now is the
// lastmodified time. What sops could not give back exactly is refused
// naming the key, never the value.
func (h *Helper) Encrypt(secrets []Secret, f Format, recipients []Recipient, now time.Time) ([]byte, error) {
	req := &request{Protocol: protocol, Op: "encrypt", Format: f, Recipients: recipients, Now: now}
	for _, s := range secrets {
		req.Secrets = append(req.Secrets, wireSecret{Name: s.Name, Value: []byte(s.Value.Reveal())})
	}
	res, err := h.call(req, nil)
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// call runs one conversation with a fresh hush-sops.
func (h *Helper) call(req *request, ids []age.Identity) (*result, error) {
	cmd := exec.Command(h.Path)
	cmd.Env = h.Env
	cmd.Stderr = h.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", hushsync.ErrUnavailable, h.Path, err)
	}
	res, err := converse(stdin, stdout, req, ids)
	stdin.Close()
	if err != nil {
		// It may be blocked writing to a pipe no one reads any more. If it
		// had already failed on its own, its exit status says more.
		_ = cmd.Process.Kill()
		var ee *exec.ExitError
		if werr := cmd.Wait(); errors.As(werr, &ee) && ee.ExitCode() >= 0 {
			return nil, fmt.Errorf("%s failed: %v", HelperName, werr)
		}
		return nil, err
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("%s failed: %v", HelperName, err)
	}
	if res.Error != nil {
		return nil, res.Error.err()
	}
	return res, nil
}

func converse(w io.Writer, r io.Reader, req *request, ids []age.Identity) (*result, error) {
	enc := json.NewEncoder(w)
	if err := enc.Encode(req); err != nil {
		return nil, fmt.Errorf("%s: %v", HelperName, err)
	}
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m helperMessage
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s ended without an answer (%v)", HelperName, err)
		}
		switch {
		case m.Result != nil:
			return m.Result, nil
		case m.Unwrap != nil:
			if err := enc.Encode(unwrap(ids, m.Unwrap)); err != nil {
				return nil, fmt.Errorf("%s: %v", HelperName, err)
			}
		default:
			return nil, fmt.Errorf("%s sent a message hush does not understand", HelperName)
		}
	}
}

// unwrap tries each identity on the stanzas, as age.Decrypt would.
func unwrap(ids []age.Identity, stanzas []*age.Stanza) unwrapReply {
	for _, id := range ids {
		key, err := id.Unwrap(stanzas)
		if err == nil {
			return unwrapReply{FileKey: key}
		}
		if !errors.Is(err, age.ErrIncorrectIdentity) {
			return unwrapReply{Error: err.Error()}
		}
	}
	return unwrapReply{Incorrect: true}
}

// Impl is what hush-sops does with a request: sopslib, which links sops.
type Impl interface {
	Decrypt(data []byte, formats []Format, keys Keys) (*File, error)
	Encrypt(secrets []Secret, f Format, recipients []Recipient, now time.Time) ([]byte, error)
}

// Serve is hush-sops' side: it reads one request from r, answers it with
// impl, asking back over w whenever sops needs hush's identity, and writes
// the result to w.
func Serve(r io.Reader, w io.Writer, impl Impl) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	enc := json.NewEncoder(w)
	var req request
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("%s: reading the request: %v", HelperName, err)
	}
	res := &result{}
	var err error
	switch {
	case req.Protocol != protocol:
		err = fmt.Errorf("%s speaks protocol %d and hush sent %d: install hush and %s from the same version", HelperName, protocol, req.Protocol, HelperName)
	case req.Op == "decrypt":
		keys := Keys{Own: req.Own, DecryptionOrder: req.Order}
		if req.Identities {
			keys.Identities = []age.Identity{&remoteIdentity{dec: dec, enc: enc}}
		}
		var f *File
		if f, err = impl.Decrypt(req.Data, req.Formats, keys); err == nil {
			res.Format, res.Plaintext, res.MACOnlyEncrypted, res.Recipients = f.Format, f.Plaintext, f.MACOnlyEncrypted, f.Recipients
			for _, e := range f.Entries {
				res.Entries = append(res.Entries, wireSecret{Name: e.Name, Path: e.Path, Value: []byte(e.Value.Reveal())})
			}
		}
	case req.Op == "encrypt":
		secrets := make([]Secret, len(req.Secrets))
		for i, s := range req.Secrets {
			secrets[i] = Secret{Name: s.Name, Value: store.Value(s.Value)}
		}
		res.Data, err = impl.Encrypt(secrets, req.Format, req.Recipients, req.Now)
	default:
		err = fmt.Errorf("%s: unknown request %q", HelperName, req.Op)
	}
	if err != nil {
		res = &result{Error: toWire(err)}
	}
	return enc.Encode(helperMessage{Result: res})
}

// remoteIdentity is hush's identity as seen from hush-sops: an age
// identity whose Unwrap asks hush, which holds the key.
type remoteIdentity struct {
	dec *json.Decoder
	enc *json.Encoder
}

func (id *remoteIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if err := id.enc.Encode(helperMessage{Unwrap: stanzas}); err != nil {
		return nil, err
	}
	var reply unwrapReply
	if err := id.dec.Decode(&reply); err != nil {
		return nil, fmt.Errorf("hush did not answer: %v", err)
	}
	switch {
	case reply.Incorrect:
		return nil, age.ErrIncorrectIdentity
	case reply.Error != "":
		return nil, errors.New(reply.Error)
	}
	return reply.FileKey, nil
}
