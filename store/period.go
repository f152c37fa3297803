package store

import (
	"fmt"
	"strconv"
	"time"
)

// ParsePeriod parses a rotation period: a positive whole number followed by
// h (hours), d (days), w (weeks), m (30-day months) or y (365-day years).
func ParsePeriod(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%w period %q: use a number and a unit, like 12h, 30d, 2w, 6m or 1y", ErrInvalid, s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 100000 {
		return 0, fmt.Errorf("%w period %q: use a number and a unit, like 12h, 30d, 2w, 6m or 1y", ErrInvalid, s)
	}
	day := 24 * time.Hour
	var unit time.Duration
	switch s[len(s)-1] {
	case 'h':
		unit = time.Hour
	case 'd':
		unit = day
	case 'w':
		unit = 7 * day
	case 'm':
		unit = 30 * day
	case 'y':
		unit = 365 * day
	default:
		return 0, fmt.Errorf("%w period %q: unit must be h, d, w, m or y", ErrInvalid, s)
	}
	return time.Duration(n) * unit, nil
}
