package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func leakCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "leak",
		Usage:     "walk the leak runbook for a secret: revoke, rotate, deploy, audit, investigate, monitor",
		ArgsUsage: "KEY",
		Description: `Records the leak (audit action secret.leak). On a terminal it asks for the new
value (or generates one with --generate); elsewhere it marks the secret
compromised, which hush status --fail reports until it is rotated.

EXAMPLE:
   hush leak STRIPE_API_KEY --env prod`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "generate", Aliases: []string{"g"}, Usage: "generate the new value now (crypto/rand, 32 alnum)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("leak takes one KEY")
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return runLeak(s, c.Args().First(), c.Bool("generate"))
		},
	}
}

// revokeAdvice is step 1: what to revoke where, by provider (from the
// name) or by type.
func revokeAdvice(name, typ string) string {
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

func runLeak(s *ui, key string, generate bool) error {
	if err := store.ValidKeyName(key); err != nil {
		return err
	}
	p, envName, id, err := s.OpenEnv()
	if err != nil {
		return err
	}
	doc, err := p.Read(envName, store.Team, id)
	if err != nil {
		return err
	}
	sec, ok := doc.Secrets[key]
	if !ok {
		return fmt.Errorf("%s %w in %s", key, store.ErrNotFound, envName)
	}
	if err := s.Audit(audit.SecretLeak, []string{s.SecretPath(envName, key)}, nil); err != nil {
		return err
	}
	w := s.env.Stderr
	pol, _ := p.Config.PolicyFor(key, sec)
	printf(w, "hush: leak of %s/%s recorded; the runbook:\n", envName, key)
	printf(w, "\n1. revoke: %s\n", revokeAdvice(key, pol.Type))

	now := s.env.Now().UTC().Truncate(time.Second)
	var newValue string
	switch {
	case generate:
		if newValue, err = store.GenerateValue(32, "alnum"); err != nil {
			return err
		}
	case s.env.StdinTTY:
		printf(w, "\n2. rotate: enter the new value from the provider (empty: mark compromised, rotate later)\n")
		v, err := promptSecret(fmt.Sprintf("new value for %s: ", key))
		if err != nil {
			return err
		}
		newValue = v
	}
	err = p.Update(envName, store.Team, id, func(d *store.Document) error {
		sec := d.Secrets[key]
		if sec == nil {
			return fmt.Errorf("%s %w in %s", key, store.ErrNotFound, envName)
		}
		if newValue != "" {
			d.SetValue(key, store.Value(newValue), now)
		} else {
			sec.Compromised = now
		}
		return nil
	})
	action := audit.SecretWrite
	if aerr := s.AuditWith(action, s.SecretPath(envName, key), err); aerr != nil {
		return aerr
	}
	if newValue != "" {
		printf(w, "\n2. rotate: done; %s has a new value\n", key)
	} else {
		printf(w, "\n2. rotate: not done here; %s is marked compromised until hush rotate %s --env %s\n", key, key, envName)
	}

	printf(w, "\n3. deploy: these must pick up the new value:\n")
	printf(w, "   - environment %s (recipients: %s)\n", envName, strings.Join(p.Config.Environments[envName].Labels(), ", "))
	for _, other := range p.Config.EnvNames() {
		if other == envName {
			continue
		}
		if d, err := p.Read(other, store.Team, id); err == nil {
			if _, ok := d.Secrets[key]; ok {
				printf(w, "   - environment %s also has a %s: check it is not the same value\n", other, key)
			}
		}
	}
	printf(w, "   - running deployments and CI jobs that read %s: redeploy them\n", key)

	printf(w, "\n4. audit: every recorded access of %s/%s:\n", envName, key)
	if err := printAccesses(s, w, s.SecretPath(envName, key)); err != nil {
		printf(w, "   (audit log unreadable: %v)\n", err)
	}

	printf(w, "\n5. investigate: look for the old value in code and history: hush scan --history\n")
	printf(w, "\n6. monitor: hush status --fail reports %s until it is rotated\n", key)
	return nil
}

// printAccesses lists the audit lines of one secret path.
func printAccesses(s *ui, w io.Writer, path string) error {
	r, err := s.AuditLog().Open()
	if err != nil {
		return err
	}
	defer r.Close()
	n := 0
	err = audit.Scan(r, func(_ int, e audit.Entry) error {
		if e.Path != path {
			return nil
		}
		n++
		ok := "ok"
		if !e.Success {
			ok = "failed"
		}
		printf(w, "   %s  %-13s %-16s %s %s (%s)\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Action, e.Command, e.User, shortID(e.Identity), ok)
		return nil
	})
	if n == 0 {
		printf(w, "   (none recorded on this machine; ask every member to run hush audit --key %s)\n", path[strings.LastIndex(path, "/")+1:])
	}
	return err
}
