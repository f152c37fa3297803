package sopsfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// fakeImpl stands in for sopslib: its Decrypt opens an age file with the
// identities it is handed, as sops' age key source does with a data key.
type fakeImpl struct {
	sealed []byte // age file holding the "data key"
	err    error
	gotOwn []string
}

func (f *fakeImpl) Decrypt(data []byte, formats []Format, keys Keys) (*File, error) {
	f.gotOwn = keys.Own
	if f.err != nil {
		return nil, f.err
	}
	r, err := age.Decrypt(bytes.NewReader(f.sealed), keys.Identities...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrNoIdentity, err)
	}
	key, _ := io.ReadAll(r)
	return &File{Format: formats[0], Entries: []Entry{
		{Name: "DATA_KEY", Path: `["DATA_KEY"]`, Value: store.Value(key)},
		{Name: "RAW", Path: `["RAW"]`, Value: store.Value(data)},
	}, Recipients: []string{"age1x"}}, nil
}

func (f *fakeImpl) Encrypt(secrets []Secret, format Format, recipients []Recipient, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	for _, s := range secrets {
		fmt.Fprintf(&b, "%s=%x;", s.Name, s.Value.Reveal())
	}
	fmt.Fprintf(&b, "%s %d %s", format, len(recipients), now.UTC().Format(time.RFC3339))
	return b.Bytes(), nil
}

// talk runs one conversation in memory: converse on hush's side, Serve on
// the helper's, joined by two pipes.
func talk(t *testing.T, req *request, ids []age.Identity, impl Impl) (*result, error) {
	t.Helper()
	toHelper, fromHush := io.Pipe()
	toHush, fromHelper := io.Pipe()
	served := make(chan error, 1)
	go func() {
		err := Serve(toHelper, fromHelper, impl)
		fromHelper.Close()
		served <- err
	}()
	res, err := converse(fromHush, toHush, req, ids)
	fromHush.Close()
	if serr := <-served; serr != nil {
		t.Fatalf("Serve: %v", serr)
	}
	if err == nil && res.Error != nil {
		err = res.Error.err()
	}
	return res, err
}

func sealTo(t *testing.T, r age.Recipient, plain string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plain)
	w.Close()
	return b.Bytes()
}

// The helper never sees hush's identity, only stanzas to unwrap, and the
// values come back byte for byte (invalid UTF-8 included).
func TestDecryptUnwrapsInHush(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	impl := &fakeImpl{sealed: sealTo(t, id.Recipient(), "the-data-key")}
	data := []byte("sops:\n\xff\xfe not utf-8")
	req := &request{Protocol: protocol, Op: "decrypt", Data: data, Formats: []Format{YAML}, Identities: true, Own: []string{id.Recipient().String()}}
	res, err := talk(t, req, []age.Identity{other, id}, impl)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Entries[0].Value) != "the-data-key" || !bytes.Equal(res.Entries[1].Value, data) {
		t.Fatalf("entries = %q", res.Entries)
	}
	if len(impl.gotOwn) != 1 || impl.gotOwn[0] != id.Recipient().String() {
		t.Fatalf("own recipients not passed: %v", impl.gotOwn)
	}

	// Not a recipient: age's own "did not match", as an identity error.
	impl = &fakeImpl{sealed: sealTo(t, id.Recipient(), "k")}
	_, err = talk(t, req, []age.Identity{other}, impl)
	if !errors.Is(err, store.ErrNoIdentity) || !strings.Contains(err.Error(), "did not match") {
		t.Fatalf("err = %v", err)
	}
}

// Errors keep their kind (the exit code) and their text across the pipe.
func TestErrorsCrossThePipe(t *testing.T) {
	for _, want := range []error{
		fmt.Errorf("%w: MAC mismatch", store.ErrIntegrity),
		fmt.Errorf("%w: the file holds 2 documents", store.ErrInvalid),
		fmt.Errorf("%w: KMS denied", hushsync.ErrUnavailable),
		ErrNotSOPS,
		errors.New("something else"),
	} {
		req := &request{Protocol: protocol, Op: "decrypt", Formats: []Format{JSON}}
		_, err := talk(t, req, nil, &fakeImpl{err: want})
		if err == nil || err.Error() != want.Error() {
			t.Fatalf("got %v, want %v", err, want)
		}
		if kind := errors.Unwrap(want); kind != nil && !errors.Is(err, kind) {
			t.Fatalf("%v lost its kind", err)
		}
		if want == ErrNotSOPS && !errors.Is(err, ErrNotSOPS) {
			t.Fatalf("%v is not ErrNotSOPS", err)
		}
	}
}

func TestEncryptAndProtocolMismatch(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	req := &request{Protocol: protocol, Op: "encrypt", Format: Dotenv, Secrets: []wireSecret{{Name: "A", Value: []byte("\xff")}}, Recipients: []Recipient{{Key: "age1x"}}, Now: now}
	res, err := talk(t, req, nil, &fakeImpl{})
	if err != nil || string(res.Data) != "A=ff;dotenv 1 2026-11-27T10:00:00Z" {
		t.Fatalf("res = %q, %v", res.Data, err)
	}
	req.Protocol = protocol + 1
	if _, err := talk(t, req, nil, &fakeImpl{}); err == nil || !strings.Contains(err.Error(), "same version") {
		t.Fatalf("protocol mismatch: %v", err)
	}
}

// A helper that is missing or dies is "unavailable" (exit 8) or a plain
// failure, never a hang.
func TestHelperMissingOrBroken(t *testing.T) {
	h := &Helper{Path: "/nonexistent/hush-sops"}
	if _, err := h.Decrypt([]byte("x"), []Format{YAML}, Keys{}); !errors.Is(err, hushsync.ErrUnavailable) {
		t.Fatalf("missing helper: %v", err)
	}
	h = &Helper{Path: "/bin/false"}
	if _, err := h.Encrypt(nil, YAML, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "hush-sops failed") {
		t.Fatalf("broken helper: %v", err)
	}
	// One that answers nonsense without end is stopped, not waited for.
	h = &Helper{Path: "/usr/bin/yes"}
	if _, err := h.Encrypt(nil, YAML, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "without an answer") {
		t.Fatalf("babbling helper: %v", err)
	}
}

func TestCandidates(t *testing.T) {
	for _, c := range []struct {
		data string
		hint Format
		want string
	}{
		{"A=1\n", Dotenv, ""},
		{"a: 1\nsops:\n  mac: x\n", "", "yaml"},
		{`{"a":1,"sops":{"mac":"x"}}`, Dotenv, "json"},
		{"A=1\nsops_mac=x\n", "", "dotenv"},
		{"[sops]\nmac=x\n", YAML, "ini"},
		// The hint decides when its own marker is there.
		{"A=1\nsops_mac=x\n", Dotenv, "dotenv"},
		{"a: 1\nsops:\n  mac: x\n", YAML, "yaml"},
		// Damaged metadata is still SOPS metadata.
		{"A=ENC[AES256_GCM,data:x]\nsops_lastmodifi=2026\n", "", "dotenv"},
		{"A=1\n  export sops_mac=x\n", Dotenv, "dotenv"},
		{"A=1\nsops_version=3.13.3\n", Dotenv, "dotenv"},
		{`{"a": 1, "sops": {"mac": "x"`, "", "json"},
		{`{"a": 1, "sops": null}`, "", "json"},
		// Encrypted values with every line of metadata gone.
		{"A=ENC[AES256_GCM,data:eA==,iv:x,tag:y,type:str]\n", Dotenv, "dotenv"},
		{"a: ENC[AES256_GCM,data:eA==,iv:x,tag:y,type:str]\n", "", "yaml json dotenv ini"},
		{`{"a": "ENC[AES256_GCM,data:eA==,iv:x,tag:y,type:str]", "b": {"sops": 1}}`, "", "json"},
		// Plain files that only mention sops.
		{"SOPS_AGE_KEY_FILE=/k\nA=sops_mac=x\n", Dotenv, ""},
		{`{"tools": {"sops": {"version": "3.9"}}}`, "", ""},
		{"tools:\n  sops: 3.9\n", YAML, ""},
		{"[tools]\nsops = 3.9\n", INI, ""},
		// sops_ keys are metadata in dotenv only, but ENC[…] counts anywhere.
		{`{"sops_version": "3.9"}`, JSON, ""},
		{"sops_version: 3.9\n", YAML, ""},
		{"sops_version: 3.9\n", "", "dotenv"},
		{"A=ENC[AES256_GCM,data:eA==,iv:x,tag:y,type:str]\nsops_mac=x\n", YAML, "yaml"},
	} {
		var got []string
		for _, f := range Candidates([]byte(c.data), c.hint) {
			got = append(got, string(f))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("Candidates(%q, %q) = %v, want %s", c.data, c.hint, got, c.want)
		}
	}
}
