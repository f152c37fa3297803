package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Document versions. Version 1 holds every value as a JSON string, which
// cannot carry bytes that are not UTF-8 (encoding/json writes them as
// U+FFFD) and which hush never let hold a NUL. Version 2 adds
// "encoding":"base64" to a secret whose value is such bytes, with the value
// base64-encoded (standard alphabet, padded), so any value is stored byte
// for byte.
//
// Encode writes version 2 only when a value needs it, and version 1
// otherwise, so that a team on mixed hush versions keeps working on every
// environment that holds text only. An older hush refuses a version-2
// document (unsupported format version, exit 5): it would otherwise take
// the base64 text for the value, as encoding/json ignores the unknown
// encoding field. This hush reads both.
const (
	// FormatVersion is the newest document version this hush reads and
	// writes.
	FormatVersion = 2
	// formatText is the version of a document whose values are all text.
	formatText = 1
)

// encodingBase64 marks a value written base64-encoded (version 2).
const encodingBase64 = "base64"

// Document is the plaintext inside .hush/<env>.age and personal stores.
type Document struct {
	Version     int    `json:"version"`
	Environment string `json:"environment"`
	// Lineage is a random value only the environment's recipients know,
	// carried by every write of its team store; Previous is the one it
	// replaced when a member removal changed it (see lineage.go).
	Lineage  string             `json:"lineage,omitempty"`
	Previous string             `json:"previous_lineage,omitempty"`
	Secrets  map[string]*Secret `json:"secrets"`
}

// Secret is one value and its metadata. Value holds any bytes; in the
// document a value that is not valid UTF-8 or holds a NUL is written
// base64-encoded with "encoding":"base64" (see MarshalJSON), so every
// place a Secret becomes JSON (the document, a merge's comparison, a
// conflict file) keeps it exactly.
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

	// encoded is set by UnmarshalJSON when the JSON gave an encoding, for
	// DecodeDocument to check against the document's version; it clears
	// it again.
	encoded bool
}

// secretPlain is Secret without its methods, and secretJSON a Secret as
// JSON: its Value (depth 0) takes the "value" key from secretPlain's
// Value, and it adds Encoding. Field order keeps value first.
type (
	secretPlain Secret
	secretJSON  struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding,omitempty"`
		*secretPlain
	}
)

// binary reports whether v must be written base64-encoded: a JSON string
// cannot carry invalid UTF-8, and hush keeps NUL out of JSON strings so a
// hush that reads only version 1 never sees one.
func binary(v string) bool {
	return !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0
}

// MarshalJSON writes the secret as the document holds it.
func (s Secret) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.wire()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// wire is the secret as JSON holds it. (Encode encodes it directly: a
// Marshaler's output would be parsed and compacted again.)
func (s *Secret) wire() *secretJSON {
	w := &secretJSON{Value: string(s.Value), secretPlain: (*secretPlain)(s)}
	if binary(w.Value) {
		w.Value, w.Encoding = base64.StdEncoding.EncodeToString([]byte(w.Value)), encodingBase64
	}
	return w
}

// errEncoding is a secret whose encoding hush does not know or whose value
// does not decode. (Never the value itself: errors must not quote it.)
var errEncoding = errors.New("bad value encoding")

// UnmarshalJSON reads a secret as MarshalJSON writes it, and one of a
// version-1 document.
func (s *Secret) UnmarshalJSON(b []byte) error {
	w := secretJSON{secretPlain: (*secretPlain)(s)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	switch w.Encoding {
	case "":
		s.Value = Value(w.Value)
	case encodingBase64:
		// Only the one form MarshalJSON writes: the decoder would also
		// skip newlines and take unpadded or loose trailing bits.
		raw, err := base64.StdEncoding.Strict().DecodeString(w.Value)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != w.Value {
			return errEncoding
		}
		s.Value = Value(raw)
	default:
		return errEncoding
	}
	s.encoded = w.Encoding != ""
	return nil
}

// version is the version Encode writes d as: the lowest that holds its
// values.
func (d *Document) version() int {
	for _, s := range d.Secrets {
		if s != nil && binary(string(s.Value)) {
			return FormatVersion
		}
	}
	return formatText
}

// Exposure records that a value was readable by someone who should no
// longer have it (a removed member, a leak, git history).
type Exposure struct {
	To    string    `json:"to"`
	Since time.Time `json:"since"`
}

// NewDocument returns an empty document bound to env.
func NewDocument(env string) *Document {
	return &Document{Version: formatText, Environment: env, Secrets: map[string]*Secret{}}
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
// a member reading it with the stock age tool can find their way. The
// version written is the lowest that holds the values (see FormatVersion),
// whatever d.Version says.
func (d *Document) Encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64 + len(d.Secrets)*160)
	fmt.Fprintf(&buf, "{\"version\":%d,\"environment\":", d.version())
	env, _ := json.Marshal(d.Environment)
	buf.Write(env)
	if d.Lineage != "" {
		fmt.Fprintf(&buf, ",\"lineage\":%q", d.Lineage)
	}
	if d.Previous != "" {
		fmt.Fprintf(&buf, ",\"previous_lineage\":%q", d.Previous)
	}
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
		sec := d.Secrets[name]
		if sec == nil {
			return nil, fmt.Errorf("encode %s: no secret", name)
		}
		if err := enc.Encode(sec.wire()); err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		buf.Truncate(buf.Len() - 1) // Encoder adds a newline.
	}
	buf.WriteString("}}\n")
	return buf.Bytes(), nil
}

// DecodeDocument parses and validates a decrypted document. It must be of
// version 1 or 2 (an encoding only in version 2), bound to env (so a prod.age copied over dev.age is
// refused), hold only valid names and values, and have nothing after the
// JSON object. Errors wrap ErrIntegrity and never quote a value.
func DecodeDocument(plain []byte, env string) (*Document, error) {
	return decodeDocument(string(plain), env)
}

// decodeDocument is DecodeDocument for a plaintext already held as a
// string (crypt.DecryptString): the fast path slices its strings from it.
func decodeDocument(plain string, env string) (*Document, error) {
	d, _, err := decodeDocumentNames(plain, env)
	return d, err
}

// decodeDocumentNames is decodeDocument that also returns the secrets'
// names in the document's order when the fast path read it (nil when
// encoding/json did).
func decodeDocumentNames(plain string, env string) (*Document, []string, error) {
	d, names, ok := decodeFastNames(plain, "")
	if !ok {
		names = nil
		// json.Unmarshal refuses anything but whitespace after the object.
		d = &Document{}
		if err := json.Unmarshal([]byte(plain), d); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: the secret document is not valid JSON (%s)", ErrIntegrity, env, jsonErrorKind(err))
		}
	}
	if d.Version != formatText && d.Version != FormatVersion {
		return nil, nil, fmt.Errorf("%w: %s: unsupported format version %d (this hush reads versions %d and %d; upgrade hush)", ErrIntegrity, env, d.Version, formatText, FormatVersion)
	}
	if d.Environment != env {
		return nil, nil, fmt.Errorf("%w: the file for environment %q holds environment %q (was it copied over?)", ErrIntegrity, env, d.Environment)
	}
	if !validLineage(d.Lineage) || !validLineage(d.Previous) || d.Previous != "" && d.Lineage == "" {
		return nil, nil, fmt.Errorf("%w: %s: the store's lineage is malformed", ErrIntegrity, env)
	}
	if d.Secrets == nil {
		d.Secrets = map[string]*Secret{}
	}
	for name, s := range d.Secrets {
		if err := ValidKeyName(name); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrIntegrity, env, err)
		}
		if s == nil {
			return nil, nil, fmt.Errorf("%w: %s: secret %s is null", ErrIntegrity, env, name)
		}
		if err := checkStored(s, d.Version); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: secret %s: %v", ErrIntegrity, env, name, err)
		}
		s.encoded = false
	}
	return d, names, nil
}

// checkStored checks a decoded secret's value against what hush writes in
// a document of version: within the size limit; a NUL only in an encoded
// value (hush never writes one in a JSON string); an encoding only in
// version 2.
func checkStored(s *Secret, version int) error {
	v := s.Value.Reveal()
	if err := ValidValue(v); err != nil {
		return err
	}
	if s.encoded && version < FormatVersion {
		return fmt.Errorf("a value encoding in a version-%d document", version)
	}
	if !s.encoded && strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("a NUL byte in a JSON string (hush writes such a value base64-encoded)")
	}
	return nil
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
