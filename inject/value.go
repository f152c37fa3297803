package inject

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// redacted is what every formatting path of a secret-carrying type prints.
const redacted = "[redacted]"

// Value is a secret value. Its String, GoString and Format methods print
// "[redacted]" for every verb, and its JSON/text marshalers and slog value do
// too, so a stray %v, %q or log attribute cannot leak it. Reading the bytes is
// the explicit call Reveal.
//
// The zero Value is the empty secret.
type Value struct{ s string }

// NewValue wraps a plain string as a secret value.
func NewValue(s string) Value { return Value{s: s} }

// Reveal returns the plain value. Call it only where the value must leave
// the process (a child's environment, an export the user asked for).
func (v Value) Reveal() string { return v.s }

// Len is the length of the value in bytes.
func (v Value) Len() int { return len(v.s) }

// String implements fmt.Stringer and prints "[redacted]".
func (v Value) String() string { return redacted }

// GoString implements fmt.GoStringer and prints "[redacted]".
func (v Value) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (v Value) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText implements encoding.TextMarshaler and yields "[redacted]", so
// a Value inside a struct handed to encoding/json or a YAML encoder by
// mistake does not leak.
func (v Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer.
func (v Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// Secret is a named secret value. Slices of Secret are ordered: where a name
// appears twice, the later entry wins.
type Secret struct {
	Name  string
	Value Value
}

// Environ is a child's environment in os.Environ form ("NAME=value"). It holds
// plain values, so its Format and String methods print only a count: pass it
// to a child, never to a formatter.
type Environ []string

// String prints the number of variables, never their values.
func (e Environ) String() string {
	return "[redacted environment: " + strconv.Itoa(len(e)) + " variables]"
}

// GoString is String.
func (e Environ) GoString() string { return e.String() }

// Format prints String for every verb.
func (e Environ) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }

// Lookup returns the value of the last entry for name, as the C library's
// getenv would see it after hush's de-duplication.
func (e Environ) Lookup(name string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if k, v, ok := cut(e[i]); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Names lists the variable names in order.
func (e Environ) Names() []string {
	names := make([]string, 0, len(e))
	for _, kv := range e {
		if k, _, ok := cut(kv); ok {
			names = append(names, k)
		}
	}
	return names
}

// cut splits "NAME=value". A leading '=' is part of the name (Windows keeps
// per-drive directories as "=C:=C:\x").
func cut(kv string) (name, value string, ok bool) {
	for i := 1; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return "", "", false
}

// ErrInvalidName is returned for a variable name outside [A-Za-z_][A-Za-z0-9_]*.
var ErrInvalidName = errors.New("invalid variable name")

// ErrNUL is returned for a value containing a NUL byte, which no environment
// variable or export format can carry.
var ErrNUL = errors.New("value contains a NUL byte")

// ValidName reports whether name matches [A-Za-z_][A-Za-z0-9_]*.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// quoteName quotes a name for an error message, shortening a long one: names
// are not secret, but a value pasted into a name position might be, so at most
// a prefix of an invalid name is shown.
func quoteName(name string) string {
	if ValidName(name) {
		return name
	}
	const max = 12
	if len(name) > max {
		return strconv.Quote(name[:max]) + "…"
	}
	return strconv.Quote(name)
}

// checkSecret validates a name and value for the environment and exports.
func checkSecret(s Secret) error {
	if !ValidName(s.Name) {
		return fmt.Errorf("%w: %s", ErrInvalidName, quoteName(s.Name))
	}
	for i := 0; i < len(s.Value.s); i++ {
		if s.Value.s[i] == 0 {
			return fmt.Errorf("%s: %w", s.Name, ErrNUL)
		}
	}
	return nil
}

// lastWins returns secrets with duplicate names removed, keeping the position
// of the first occurrence and the value of the last. Names in strictly
// increasing order (a store's secrets, as Layered lists them) cannot
// repeat: secrets itself is returned, without the map of every name that
// finding repeats takes (at 1,000 secrets, a third of BuildEnv). The
// result is only read.
func lastWins(secrets []Secret) []Secret {
	increasing := true
	for i := 1; i < len(secrets) && increasing; i++ {
		increasing = secrets[i-1].Name < secrets[i].Name
	}
	if increasing {
		return secrets
	}
	idx := make(map[string]int, len(secrets))
	out := make([]Secret, 0, len(secrets))
	for _, s := range secrets {
		if i, ok := idx[s.Name]; ok {
			out[i].Value = s.Value
			continue
		}
		idx[s.Name] = len(out)
		out = append(out, s)
	}
	return out
}
