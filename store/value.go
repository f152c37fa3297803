package store

import "fmt"

// Value is a secret value. Its String, GoString and Format methods print
// "[redacted]", so a stray %v, an error message or a log line cannot leak
// it; the real text is read with Reveal, an explicit call that is easy to
// find in review.
type Value string

const redacted = "[redacted]"

// Reveal returns the secret text.
func (v Value) Reveal() string { return string(v) }

// String returns "[redacted]".
func (v Value) String() string { return redacted }

// GoString returns "[redacted]".
func (v Value) GoString() string { return redacted }

// Format prints "[redacted]" for every verb.
func (v Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }
