package store

import "time"

// Change is what SetValue did to a secret.
type Change int

const (
	// Unchanged: the secret already held the value.
	Unchanged Change = iota
	// Created: the key is new.
	Created
	// Replaced: the key held another value.
	Replaced
)

// SetValue gives the secret name the value v, by hush's one rule for a new
// value, which every command that changes a value follows (set, edit,
// import and migrate, rotate, leak, vault pull):
//
//   - a new key is created, updated and rotated now, and gets the type its
//     name suggests (inferType);
//   - a different value is a rotation: updated and rotated now, and the
//     exposure and compromise marks are cleared, since the value they were
//     about is gone;
//   - the same value changes nothing, metadata included.
//
// The caller sets anything else (an explicit type, a note) on the secret
// returned.
func (d *Document) SetValue(name string, v Value, now time.Time) (*Secret, Change) {
	sec, ok := d.Secrets[name]
	switch {
	case !ok:
		sec = &Secret{Value: v, Type: inferType(name), Created: now, Updated: now, Rotated: now}
		d.Secrets[name] = sec
		return sec, Created
	case sec.Value.Reveal() == v.Reveal():
		return sec, Unchanged
	}
	sec.Value = v
	sec.Updated, sec.Rotated = now, now
	sec.Exposed, sec.Compromised = nil, time.Time{}
	return sec, Replaced
}
