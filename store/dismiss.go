package store

import "fmt"

// Dismiss settles the exposure marks of name without a new value, for a
// mark that needs no rotation (the value was configuration, or the person
// it was exposed to never could read it): all of them, or with to set,
// only the mark naming to. It returns the marks it removed; none is
// ErrNotFound. A compromise mark is not an exposure and stays: only a new
// value settles it.
func (d *Document) Dismiss(name, to string) ([]Exposure, error) {
	sec, ok := d.Secrets[name]
	if !ok {
		return nil, fmt.Errorf("%s %w in %s", name, ErrNotFound, d.Environment)
	}
	var keep, gone []Exposure
	for _, e := range sec.Exposed {
		if to == "" || e.To == to {
			gone = append(gone, e)
		} else {
			keep = append(keep, e)
		}
	}
	if len(gone) == 0 {
		if to != "" {
			return nil, fmt.Errorf("%s has no exposure mark naming %s: %w", name, Printable(to), ErrNotFound)
		}
		return nil, fmt.Errorf("%s has no exposure mark: %w", name, ErrNotFound)
	}
	sec.Exposed = keep
	return gone, nil
}
