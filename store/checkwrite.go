package store

import (
	"fmt"

	"github.com/hush-secrets/hush/crypt"
)

// CheckWrite says, without decrypting anything, whether a write to env's
// store in scope would be refused or would lock id out, so a command that
// shows plaintext before it writes (hush edit) can refuse first: the
// recipients must be the ones this user pinned (a change that arrived by
// git pull must be acknowledged), must parse, and must include id for the
// team store; the store file must not be a symlink.
func (p *Project) CheckWrite(env string, scope Scope, id *crypt.Identity) error {
	if id == nil {
		return fmt.Errorf("%w: no identity to write %s with", ErrNoIdentity, env)
	}
	ec, err := p.Config.Env(env)
	if err != nil {
		return err
	}
	if scope == Team {
		pe, err := p.PinDiff(env)
		if err != nil {
			return err
		}
		if pe != nil {
			return pe
		}
		if !hasKey(ec.Recipients, crypt.CanonicalRecipient(id.Public)) {
			return fmt.Errorf("%w: your identity %s is not a recipient of %s in hush.yaml: a write would encrypt it to others only; ask a member to run: hush member add %s --env %s",
				ErrNoIdentity, crypt.Fingerprint(id.Public), env, id.Public, env)
		}
	}
	if _, err := p.Recipients(env, scope, id); err != nil {
		return err
	}
	return refuseSymlink(p.Path(env, scope))
}
