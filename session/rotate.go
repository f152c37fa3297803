package session

import (
	"fmt"
	"time"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
)

// RotateOptions say where hush rotate's new value comes from.
type RotateOptions struct {
	// Generate makes the value with crypto/rand: Length characters of
	// Charset (see store.GenerateValue).
	Generate bool
	Length   int
	Charset  string
	// Read asks the user for the value (stdin or a no-echo prompt) when
	// it is not generated; it is called once the environment is known.
	Read func() (string, error)
}

// Rotate gives the existing key of the session's environment a new value
// by store's rule for a new value (stamped rotated, exposure and
// compromise marks cleared), with its secret.write line. A key that is
// not there, or the value it already holds, is refused and changes
// nothing. It returns the environment rotated in.
func (s *Session) Rotate(key string, scope store.Scope, o RotateOptions) (string, error) {
	if err := store.ValidKeyName(key); err != nil {
		return "", err
	}
	_, env, _, err := s.OpenEnv()
	if err != nil {
		return "", err
	}
	// A value by hand while a rotation at the source is unfinished would
	// make the journal's record of the source wrong.
	if scope == store.Team {
		if js, err := s.journals(); err == nil {
			if j, err := js.Load(env, key); err != nil {
				return "", err
			} else if j != nil {
				return "", hint.With(fmt.Errorf("%w: %s in %s has an unfinished rotation at its source (%s, next phase %s)", store.ErrConflict, key, env, j.Provider, j.Phase),
					"finish it first: hush rotate %s --env %s --resume", key, env)
			}
		}
	}
	var value string
	switch {
	case o.Generate:
		value, err = store.GenerateValue(o.Length, o.Charset)
	case o.Read != nil:
		value, err = o.Read()
	default:
		err = Usagef("rotate needs a new value")
	}
	if err != nil {
		return "", err
	}
	if err := store.ValidValue(value); err != nil {
		return "", err
	}
	err = s.Update(env, scope, []string{key}, func(d *store.Document, now time.Time) error {
		sec, ok := d.Secrets[key]
		if !ok {
			return fmt.Errorf("%s %w in %s; use hush set to create it", key, store.ErrNotFound, env)
		}
		if sec.Value.Reveal() == value {
			return hint.With(Usagef("the new value is the same as the old one; nothing rotated"),
				"a mark that needs no rotation is settled with a reason instead: hush dismiss %s --env %s --reason TEXT", key, env)
		}
		d.SetValue(key, store.Value(value), now)
		return nil
	})
	if err != nil {
		return "", s.ownStoreHint(err, env, scope, "rotate")
	}
	return env, nil
}
