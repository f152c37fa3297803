package rotate

import (
	"fmt"

	"github.com/hush-secrets/hush/store"
)

// Accounts are the settings the database providers share (postgres,
// mysql): an admin secret, and either one account whose password changes
// (mode password) or two that alternate (mode alternate), both granted a
// group that holds the privileges. Each provider names the fields its own
// way (role/roles/group, user/users/grant_role); Check speaks its names.
type Accounts struct {
	// Admin names the secret with the admin's connection URL; AdminWhat
	// says what it must hold, for the message.
	Admin, AdminWhat string
	Mode             string
	// One is mode password's account, Two alternate's pair, Group the
	// role both get; the *Field are their names in hush.yaml, and
	// TwoWhat and GroupWhat say what they are.
	One, OneField     string
	Two               []string
	TwoField, TwoWhat string
	Group, GroupField string
	GroupWhat         string
	Format, UserKey   string
}

// Check validates a and returns its mode ("password" when none is set).
// name is the rotation.sources entry, provider the provider's name.
func (a Accounts) Check(name, provider string) (mode string, err error) {
	bad := func(f string, args ...any) error {
		return fmt.Errorf("%w rotation.sources.%s: %s", store.ErrInvalid, name, fmt.Sprintf(f, args...))
	}
	if a.Admin == "" {
		return "", bad("%s needs admin: the name of the secret holding %s", provider, a.AdminWhat)
	}
	if err := store.ValidKeyName(a.Admin); err != nil {
		return "", bad("admin: %v", err)
	}
	switch a.Mode {
	case "", "password":
		if len(a.Two) > 0 || a.Group != "" {
			return "", bad("%s and %s belong to mode: alternate", a.TwoField, a.GroupField)
		}
		a.Mode = "password"
	case "alternate":
		if len(a.Two) != 2 || a.Two[0] == a.Two[1] || a.Two[0] == "" || a.Two[1] == "" {
			return "", bad("mode alternate needs %s: [A, B], two different %s", a.TwoField, a.TwoWhat)
		}
		if a.Group == "" {
			return "", bad("mode alternate needs %s: %s", a.GroupField, a.GroupWhat)
		}
		if a.One != "" {
			return "", bad("%s belongs to mode: password; alternate uses %s", a.OneField, a.TwoField)
		}
	default:
		return "", bad("mode %q: use password or alternate", a.Mode)
	}
	switch a.Format {
	case "", "url", "password":
	default:
		return "", bad("format %q: use url or password", a.Format)
	}
	if a.UserKey != "" {
		if err := store.ValidKeyName(a.UserKey); err != nil {
			return "", bad("user_key: %v", err)
		}
	}
	return a.Mode, nil
}
