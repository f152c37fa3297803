package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// FormatVersion is the version of the secret document this hush writes and
// the only one it reads.
const FormatVersion = 1

// Document is the plaintext inside .hush/<env>.age and personal stores.
type Document struct {
	Version     int                `json:"version"`
	Environment string             `json:"environment"`
	Secrets     map[string]*Secret `json:"secrets"`
}

// Secret is one value and its metadata.
type Secret struct {
	Value       Value      `json:"value"`
	Type        string     `json:"type,omitempty"`
	Created     time.Time  `json:"created,omitzero"`
	Updated     time.Time  `json:"updated,omitzero"`
	Rotated     time.Time  `json:"rotated,omitzero"`
	RotateEvery string     `json:"rotate_every,omitempty"`
	Note        string     `json:"note,omitempty"`
	Exposed     []Exposure `json:"exposed,omitempty"`
	// Compromised marks a value known to have leaked; only a new value
	// (hush rotate) clears it.
	Compromised time.Time `json:"compromised,omitzero"`
}

// Exposure records that a value was readable by someone who should no
// longer have it (a removed member, a leak, git history).
type Exposure struct {
	To    string    `json:"to"`
	Since time.Time `json:"since"`
}

// NewDocument returns an empty document bound to env.
func NewDocument(env string) *Document {
	return &Document{Version: FormatVersion, Environment: env, Secrets: map[string]*Secret{}}
}

// Names returns the secret names in sorted order.
func (d *Document) Names() []string {
	names := make([]string, 0, len(d.Secrets))
	for k := range d.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Encode renders the document as JSON, keys sorted, one secret per line so
// a member reading it with the stock age tool can find their way.
func (d *Document) Encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64 + len(d.Secrets)*160)
	fmt.Fprintf(&buf, "{\"version\":%d,\"environment\":", d.Version)
	env, _ := json.Marshal(d.Environment)
	buf.Write(env)
	buf.WriteString(",\"secrets\":{")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, name := range d.Names() {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n")
		k, _ := json.Marshal(name)
		buf.Write(k)
		buf.WriteByte(':')
		if err := enc.Encode(d.Secrets[name]); err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		buf.Truncate(buf.Len() - 1) // Encoder adds a newline.
	}
	buf.WriteString("}}\n")
	return buf.Bytes(), nil
}

// DecodeDocument parses and validates a decrypted document. It must be of
// FormatVersion, bound to env (so a prod.age copied over dev.age is
// refused), hold only valid names and values, and have nothing after the
// JSON object. Errors wrap ErrIntegrity and never quote a value.
func DecodeDocument(plain []byte, env string) (*Document, error) {
	return decodeDocument(string(plain), env)
}

// decodeDocument is DecodeDocument for a plaintext already held as a
// string (crypt.DecryptString): the fast path slices its strings from it.
func decodeDocument(plain string, env string) (*Document, error) {
	d, ok := decodeFast(plain)
	if !ok {
		// json.Unmarshal refuses anything but whitespace after the object.
		d = &Document{}
		if err := json.Unmarshal([]byte(plain), d); err != nil {
			return nil, fmt.Errorf("%w: %s: the secret document is not valid JSON (%s)", ErrIntegrity, env, jsonErrorKind(err))
		}
	}
	if d.Version != FormatVersion {
		return nil, fmt.Errorf("%w: %s: unsupported format version %d (this hush reads version %d; upgrade hush)", ErrIntegrity, env, d.Version, FormatVersion)
	}
	if d.Environment != env {
		return nil, fmt.Errorf("%w: the file for environment %q holds environment %q (was it copied over?)", ErrIntegrity, env, d.Environment)
	}
	if d.Secrets == nil {
		d.Secrets = map[string]*Secret{}
	}
	for name, s := range d.Secrets {
		if err := ValidKeyName(name); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrIntegrity, env, err)
		}
		if s == nil {
			return nil, fmt.Errorf("%w: %s: secret %s is null", ErrIntegrity, env, name)
		}
		if err := ValidValue(s.Value.Reveal()); err != nil {
			return nil, fmt.Errorf("%w: %s: secret %s: %v", ErrIntegrity, env, name, err)
		}
	}
	return d, nil
}

// jsonErrorKind describes a JSON error without quoting the input: some of
// encoding/json's messages include the offending text, which could be a
// fragment of a secret.
func jsonErrorKind(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("wrong type for field %q", e.Field)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end"
	}
	return "malformed"
}
