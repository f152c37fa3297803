package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func rotateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "rotate",
		Usage:     "give a secret a new value: stamps rotated, clears exposure and compromise marks",
		ArgsUsage: "KEY",
		Description: `The new value comes from stdin, a no-echo prompt, or --generate (crypto/rand).
Rotate at the provider first; this records the new value.

EXAMPLES:
   hush rotate SESSION_SECRET --generate --length 48 --env prod
   printf %s "$NEW_KEY" | hush rotate STRIPE_API_KEY --env prod`,
		Flags: []cli.Flag{
			personalFlag,
			&cli.BoolFlag{Name: "generate", Aliases: []string{"g"}, Usage: "generate the value with crypto/rand"},
			&cli.IntFlag{Name: "length", Value: 32, Usage: "generated value length in `CHARS`"},
			&cli.StringFlag{Name: "charset", Value: "alnum", Usage: "generated value characters: alnum, hex, base64 or symbols"},
			&cli.BoolFlag{Name: "push", Usage: "then push the environment to Vault, as hush vault push does (VAULT_ADDR or hush.yaml's vault: section)"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() != 1 {
				return usagef("rotate takes one KEY")
			}
			push := c.Bool("push")
			if push && scopeOf(c) == store.Personal {
				return hint.With(usagef("--push pushes the team store; a personal secret never goes to Vault"), "rotate without --push or without --personal")
			}
			key := c.Args().First()
			if err := runRotate(s, key, scopeOf(c), rotateOptions{generate: c.Bool("generate"), length: c.Int("length"), charset: c.String("charset")}); err != nil || !push {
				return err
			}
			// The same push, from the same settings, as hush vault push.
			if err := runVaultSync(c.Context, s, vaultOptions{}, true); err != nil {
				return hint.With(fmt.Errorf("rotated %s in the store, but the push failed: %w", key, err), "push it once Vault is reachable: hush vault push")
			}
			return nil
		}),
	}
}

type rotateOptions struct {
	generate bool
	length   int
	charset  string
}

func runRotate(s *ui, key string, scope store.Scope, o rotateOptions) error {
	env, err := s.Rotate(key, scope, session.RotateOptions{Generate: o.generate, Length: o.length, Charset: o.charset,
		Read: func() (string, error) { return readValue(s, key, "") }})
	if err != nil {
		return err
	}
	s.infof("rotated %s in %s", key, env)
	return nil
}
