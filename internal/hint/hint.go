// Package hint attaches a second line to an error: what the user can do
// about it. The CLI prints the error, then the hint; nothing else reads it.
// It is a leaf, so the session layer and the CLI share one type.
package hint

import (
	"errors"
	"fmt"
)

// Error is an error with a hint line.
type Error struct {
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With adds a hint to err.
func With(err error, format string, args ...any) error {
	return &Error{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// Of returns err's hint, "" when it has none.
func Of(err error) string {
	var h *Error
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}
