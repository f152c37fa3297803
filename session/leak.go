package session

import (
	"fmt"
	"strings"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is hush leak's runbook: record the leak, rotate the value or
// mark it compromised, and gather what the user must check (where else
// the key is, who read it). The CLI prompts for the new value and renders
// the steps.

// Leak is a leak of one secret, recorded.
type Leak struct {
	Env, Key string
	// Revoke is the runbook's first step: what to revoke where.
	Revoke string
}

// RecordLeak records that key of the session's environment leaked (one
// secret.leak line, a failed one when the key is not there) and says what
// to revoke.
func (s *Session) RecordLeak(key string) (*Leak, error) {
	if err := store.ValidKeyName(key); err != nil {
		return nil, err
	}
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return nil, err
	}
	var sec *store.Secret
	doc, err := p.Read(env, store.Team, id)
	if err == nil {
		if sec = doc.Secrets[key]; sec == nil {
			err = fmt.Errorf("%s %w in %s", key, store.ErrNotFound, env)
		}
	}
	if err := s.AuditWith(audit.SecretLeak, s.SecretPath(env, key), err); err != nil {
		return nil, s.ownStoreHint(err, env, store.Team, "leak")
	}
	pol, _ := p.Config.PolicyFor(key, sec)
	return &Leak{Env: env, Key: key, Revoke: RevokeAdvice(key, pol.Type)}, nil
}

// LeakRotation is how the leaked value is replaced: generated, a value
// from the user, or neither (the secret is marked compromised until it is
// rotated).
type LeakRotation struct {
	Generate bool
	Value    string
}

// LeakReport is the rest of the runbook.
type LeakReport struct {
	Env, Key string
	// Rotated says the secret has a new value; otherwise it is marked
	// compromised (also when the value given was the leaked one).
	Rotated bool
	// Recipients are the labels of the environment's recipients.
	Recipients []string
	// AlsoIn are the other environments holding a secret of that name.
	AlsoIn []string
	// Accesses are the audit lines of the secret on this machine;
	// AccessErr why they could not all be read.
	Accesses  []audit.Entry
	AccessErr error
}

// RotateLeaked gives the leaked secret its new value by store's rule for a
// new value (which clears the exposure and compromise marks), or marks it
// compromised, in one write with its secret.write line, and gathers the
// rest of the runbook.
func (s *Session) RotateLeaked(l *Leak, o LeakRotation) (*LeakReport, error) {
	value := o.Value
	if o.Generate {
		var err error
		if value, err = store.GenerateValue(32, "alnum"); err != nil {
			return nil, err
		}
	}
	if value != "" {
		if err := store.ValidValue(value); err != nil {
			return nil, err
		}
	}
	r := &LeakReport{Env: l.Env, Key: l.Key}
	err := s.Update(l.Env, store.Team, []string{l.Key}, func(d *store.Document, now time.Time) error {
		sec := d.Secrets[l.Key]
		if sec == nil {
			return fmt.Errorf("%s %w in %s", l.Key, store.ErrNotFound, l.Env)
		}
		if value != "" {
			if _, ch := d.SetValue(l.Key, store.Value(value), now); ch == store.Replaced {
				r.Rotated = true
				return nil
			}
		}
		sec.Compromised = now
		return nil
	})
	if err != nil {
		return nil, err
	}
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, err
	}
	r.Recipients = p.Config.Environments[l.Env].Labels()
	// Decrypting the other environments for the names in them is a
	// listing, one secret.list line per environment read, as status's.
	var listed []string
	for _, other := range p.Config.EnvNames() {
		if other == l.Env {
			continue
		}
		d, err := p.Read(other, store.Team, id)
		if err != nil {
			continue // not a recipient there: nothing to check
		}
		listed = append(listed, s.SecretPath(other, ""))
		if d.Secrets[l.Key] != nil {
			r.AlsoIn = append(r.AlsoIn, other)
		}
	}
	if len(listed) > 0 {
		if err := s.Audit(audit.SecretList, listed, nil); err != nil {
			return nil, err
		}
	}
	r.Accesses, r.AccessErr = s.accesses(s.SecretPath(l.Env, l.Key))
	return r, nil
}

// accesses are the audit lines of one path.
func (s *Session) accesses(path string) ([]audit.Entry, error) {
	f, err := s.AuditLog().Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []audit.Entry
	err = audit.Scan(f, func(_ int, e audit.Entry) error {
		if e.Path == path {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// RevokeAdvice is what to revoke where, by provider (from the name) or by
// type.
func RevokeAdvice(name, typ string) string {
	n := strings.ToUpper(name)
	switch {
	case strings.HasPrefix(n, "AWS_"):
		return "deactivate the access key in AWS IAM (aws iam update-access-key --status Inactive), then delete it"
	case strings.Contains(n, "GITHUB") || strings.HasPrefix(n, "GH_"):
		return "revoke the token in GitHub: Settings → Developer settings → tokens (or the app's settings)"
	case strings.Contains(n, "GITLAB"):
		return "revoke the token in GitLab: User settings → Access tokens"
	case strings.Contains(n, "STRIPE"):
		return "roll the key in the Stripe dashboard: Developers → API keys"
	case strings.Contains(n, "SLACK"):
		return "revoke the token in the Slack app's OAuth settings (or rotate the webhook)"
	case strings.Contains(n, "OPENAI"):
		return "delete the key at platform.openai.com → API keys"
	case strings.Contains(n, "GOOGLE") || strings.Contains(n, "GCP"):
		return "delete the key in Google Cloud console → APIs & Services → Credentials"
	}
	switch typ {
	case "database":
		return "change the database user's password and end its open sessions (ALTER USER … PASSWORD …)"
	case "tls":
		return "revoke the certificate with its CA and issue a new key pair"
	case "signing-key":
		return "retire the key, publish the new public key, and invalidate what the old one signed where possible"
	case "service-token":
		return "revoke the token where it was issued"
	case "api-key":
		return "revoke the key in the provider's console or API"
	}
	return "revoke or change the credential where it is issued"
}
