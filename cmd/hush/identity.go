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
   hush keygen -o ci-key.txt
   hush keygen --tpm -o ~/.config/hush/identity.txt   # sealed to this machine's TPM

With --tpm the secret key is sealed to the TPM (HUSH_TPM names it: a device or
swtpm's unix socket; /dev/tpmrm0 when unset) and FILE holds only the sealed
blob: a copy of FILE opens in no other machine. Anyone who may use this
machine's TPM (root, the tss group) can still unseal it. The stock age tool
cannot read a sealed FILE.`,
			Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the identity to `FILE` (mode 0600)"},
				&cli.BoolFlag{Name: "tpm", Usage: "seal the identity to this machine's TPM (needs -o)"}},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usagef("keygen takes no arguments")
				}
				if c.Bool("tpm") {
					if c.String("output") == "" {
						return usagef("keygen --tpm needs -o FILE: the sealed identity is a file")
					}
					return runKeygenTPM(env, c.String("output"))
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

// runKeygenTPM makes an identity and writes it sealed to the TPM; the
// secret key is never written in the clear.
func runKeygenTPM(env *Env, output string) error {
	id, err := crypt.Generate()
	if err != nil {
		return err
	}
	t, err := crypt.OpenTPM(env.Getenv("HUSH_TPM"))
	if err != nil {
		return fmt.Errorf("%w (set HUSH_TPM to the TPM device or swtpm's socket)", err)
	}
	defer t.Close()
	text, err := crypt.Seal(t, id, env.Now())
	if err != nil {
		return err
	}
	if err := crypt.WriteKeyFile(output, []byte(text)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; hush never overwrites a key file", output)
		}
		return err
	}
	printf(env.Stderr, "Public key: %s\n", id.Public)
	printf(env.Stderr, "hush: sealed to the TPM: %s opens on this machine only\n", output)
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
