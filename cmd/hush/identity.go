package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
)

func identityCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "keygen",
			Usage:     "make a new age identity (to join a team, or for CI keys), in age-keygen's format",
			ArgsUsage: " ",
			Description: `The secret key goes to stdout (or to FILE, created 0600, never overwritten);
the public key is printed on stderr. The stock age tool reads the output.
To join a team, write it where hush looks for your identity, then send the
recipient (hush whoami) to a member, who runs hush member add.

EXAMPLES:
   hush keygen -o ~/.config/hush/identity.txt && hush whoami
   hush keygen -o ci-key.txt`,
			Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the identity to `FILE` (mode 0600)"}},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usagef("keygen takes no arguments")
				}
				return runKeygen(env, c.String("output"))
			},
		},
		{
			Name:  "whoami",
			Usage: "print your public recipient and where your identity comes from",
			Description: `The recipient (age1…) is public: send it to a member of a project to join it.

EXAMPLES:
   hush whoami
   hush whoami --json`,
			ArgsUsage: " ",
			Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				// Best effort: a project may allow SSH identities.
				_, _ = s.Project()
				return runWhoami(s, c.Bool("json"))
			}),
		},
	}
}

func runKeygen(env *Env, output string) error {
	id, err := crypt.Generate()
	if err != nil {
		return err
	}
	text := crypt.FormatKeyFile(id, env.Now())
	if output == "" {
		fmt.Fprint(env.Stdout, text)
	} else {
		if err := crypt.WriteKeyFile(output, []byte(text)); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; hush never overwrites a key file", output)
			}
			return err
		}
	}
	printf(env.Stderr, "Public key: %s\n", id.Public)
	return nil
}

func runWhoami(s *ui, asJSON bool) error {
	id, err := s.Identity()
	if err != nil {
		return err
	}
	for _, n := range s.Notes() {
		printf(s.env.Stderr, "hush: note: %s\n", n)
	}
	if asJSON {
		return writeJSON(s.env.Stdout, map[string]string{"recipient": id.Public, "source": id.Source, "fingerprint": crypt.Fingerprint(id.Public)})
	}
	printf(s.env.Stdout, "%s\n", id.Public)
	printf(s.env.Stderr, "hush: identity from %s\n", id.Source)
	return nil
}
