package store

import (
	"bytes"
	"fmt"
)

// TextConflictError is a team store holding git's conflict markers: git
// merged the armored text line by line because this clone has no hush
// merge driver. It is an integrity failure (exit 5) with its own message,
// since the fix is not in the file but in the clone's git config.
type TextConflictError struct {
	Env, Path string
}

func (e *TextConflictError) Error() string {
	return fmt.Sprintf("%s holds git's conflict markers: git merged the encrypted store as text, since this clone has no hush merge driver", e.Path)
}

// Unwrap makes it an integrity failure.
func (e *TextConflictError) Unwrap() error { return ErrIntegrity }

// hasConflictMarkers reports whether an armored store holds the lines git
// writes around a textual conflict. Armor is base64 and header lines, so
// a line starting with seven '<' or '>' can only be git's.
func hasConflictMarkers(b []byte) bool {
	if !bytes.Contains(b, []byte("<<<<<<<")) {
		return false // every read takes this path: no split, no allocation
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("<<<<<<< ")) || bytes.HasPrefix(line, []byte(">>>>>>> ")) || bytes.Equal(bytes.TrimRight(line, "\r"), []byte("<<<<<<<")) {
			return true
		}
	}
	return false
}
