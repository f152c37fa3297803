package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func scopeOf(c *cli.Context) store.Scope {
	if c.Bool("personal") {
		return store.Personal
	}
	return store.Team
}

var personalFlag = &cli.BoolFlag{Name: "personal", Aliases: []string{"p"}, Usage: "use your personal store (encrypted to you alone, never committed)"}

func secretCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "set",
			Usage:     "set a secret; the value comes from stdin, a file, or a no-echo prompt",
			ArgsUsage: "KEY",
			Description: `The value is never taken from the command line, where every user of the
machine can read it. One trailing newline from stdin is dropped.

With --contribute, someone who is not a member (no identity needed) proposes
a value: it is encrypted to the environment's recipients (the ones this
checkout acknowledged) into .hush/inbox/ENV/ID.age, to commit and push; a
member reviews it with hush inbox. The contributor reads nothing.

EXAMPLES:
   hush set DB_PASSWORD                      # prompts twice, without echo
   printf %s "$TOKEN" | hush set API_TOKEN --env prod --type api-key
   hush set TLS_KEY --from-file key.pem --rotate-every 90d
   printf %s "$KEY" | hush set STRIPE_KEY --contribute --env prod   # not a member: a drop for the members`,
			Flags: []cli.Flag{
				personalFlag,
				&cli.StringFlag{Name: "type", Usage: "secret `TYPE` (api-key, database, tls, signing-key, service-token, password…)"},
				&cli.StringFlag{Name: "rotate-every", Usage: "rotation period, e.g. `90d`, 12h, 1y"},
				&cli.StringFlag{Name: "note", Usage: "a free-text `NOTE` (not secret)"},
				&cli.StringFlag{Name: "from-file", Usage: "read the value from `PATH`, verbatim"},
				&cli.BoolFlag{Name: "contribute", Usage: "propose the value to the members (a drop in .hush/inbox), without being one"},
				&cli.StringFlag{Name: "label", Usage: "with --contribute: how the members see you (`NAME`; default: git's user.name and user.email)"},
			},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() == 0 {
					return usagef("set needs a KEY")
				}
				if name, _, ok := strings.Cut(c.Args().First(), "="); ok {
					// KEY=VALUE, a classic slip: name the key, never the value,
					// which is already in the shell's history.
					if name == "" {
						name = "KEY"
					}
					return hint.With(usagef("%s=…: set takes the value from stdin or a prompt, never from the command line", name),
						"printf %%s \"$VALUE\" | hush set %s (and take the value out of your shell history)", name)
				}
				if c.NArg() > 1 {
					return hint.With(usagef("set takes the value from stdin or a prompt, never as an argument"),
						"arguments are visible to every user of this machine (ps, /proc); pipe the value instead: printf %%s \"$VALUE\" | hush set %s", c.Args().First())
				}
				if c.Bool("contribute") {
					for _, f := range []string{"personal", "type", "rotate-every", "note"} {
						if c.IsSet(f) {
							return usagef("--contribute sends a value only; --%s is for members (the one who accepts it can set it)", f)
						}
					}
					return runContribute(s, c.Args().First(), c.String("label"), c.String("from-file"))
				}
				if c.IsSet("label") {
					return usagef("--label goes with --contribute")
				}
				return runSet(s, setOptions{key: c.Args().First(), scope: scopeOf(c), typ: c.String("type"),
					rotateEvery: c.String("rotate-every"), note: c.String("note"), fromFile: c.String("from-file"),
					setType: c.IsSet("type"), setRotate: c.IsSet("rotate-every"), setNote: c.IsSet("note")})
			}),
		},
		{
			Name:      "get",
			Usage:     "print a secret's value (personal over team)",
			ArgsUsage: "KEY",
			Description: `Prints the raw value to a pipe or file. On a terminal it adds a newline and
shows control and invisible characters but newline and tab escaped (\x1b, \u202e).
Your personal value comes first, then the environment's team store, then those
of the environments it inherits from (hush env inherit), nearest first.

EXAMPLES:
   psql "$(hush get DATABASE_URL --env staging)"
   hush get LOG_LEVEL --env staging      # dev's value when staging inherits from dev and sets none`,
			Flags: []cli.Flag{personalFlag},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() != 1 {
					return usagef("get takes one KEY")
				}
				return runGet(s, c.Args().First(), c.IsSet("personal"))
			}),
		},
		{
			Name:      "ls",
			Usage:     "list secret names, types and sources (never values)",
			ArgsUsage: " ",
			Description: `SOURCE says where each value comes from: team (the environment's store),
ENV (inherited) for a value of an environment it inherits from (hush env
inherit), personal for your own override, with what each one hides.

EXAMPLES:
   hush ls --env prod --json
   hush ls --env staging       # staging's own values, dev's (inherited), your personal ones`,
			Flags: []cli.Flag{personalFlag, &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				return runLs(s, c.Bool("json"), c.IsSet("personal"))
			}),
		},
		{
			Name:      "rm",
			Usage:     "remove a secret",
			ArgsUsage: "KEY...",
			Description: `EXAMPLE:
   hush rm OLD_TOKEN --env dev`,
			Flags: []cli.Flag{personalFlag},
			Action: withSession(env, func(c *cli.Context, s *ui) error {
				if c.NArg() == 0 {
					return usagef("rm needs at least one KEY")
				}
				return runRm(s, c.Args().Slice(), scopeOf(c))
			}),
		},
		editCommand(env),
	}
}

type setOptions struct {
	key, typ, rotateEvery, note, fromFile string
	scope                                 store.Scope
	setType, setRotate, setNote           bool
}

// readValue gets a value from --from-file, piped stdin, or a prompt.
func readValue(s *ui, key, fromFile string) (string, error) {
	var b []byte
	var err error
	switch {
	case fromFile != "":
		b, err = readLimited(fromFile)
		if err != nil {
			return "", err
		}
		return string(b), nil
	case s.env.StdinPiped:
		b, err = io.ReadAll(io.LimitReader(s.env.Stdin, store.MaxValueSize+2))
		if err != nil {
			return "", fmt.Errorf("read stdin: %w", err)
		}
		v := string(b)
		v = strings.TrimSuffix(v, "\n")
		return v, nil
	}
	v, err := promptSecret(fmt.Sprintf("value for %s: ", key))
	if errors.Is(err, errNoTTY) {
		return "", hint.With(usagef("no value for %s: stdin is not a pipe and there is no terminal to prompt on", key),
			"pipe the value: printf %%s \"$VALUE\" | hush set %s", key)
	}
	if err != nil {
		return "", err
	}
	again, err := promptSecret("again, to confirm: ")
	if err != nil {
		return "", err
	}
	if again != v {
		return "", usagef("the two values differ; nothing was set")
	}
	return v, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, store.MaxValueSize+1))
}

func runSet(s *ui, o setOptions) error {
	if _, err := s.Project(); err != nil {
		return err
	}
	if err := store.ValidKeyName(o.key); err != nil {
		return err
	}
	envName, err := s.EnvName()
	if err != nil {
		return err
	}
	var meta session.Meta
	if o.setType {
		meta.Type = &o.typ
	}
	if o.setRotate {
		if _, err := store.ParsePeriod(o.rotateEvery); err != nil {
			return err
		}
		meta.RotateEvery = &o.rotateEvery
	}
	if o.setNote {
		meta.Note = &o.note
	}
	if _, err := s.Identity(); err != nil {
		return err
	}
	value, err := readValue(s, o.key, o.fromFile)
	if err != nil {
		return err
	}
	if err := store.ValidValue(value); err != nil {
		return err
	}
	change, err := s.Set(envName, o.scope, o.key, store.Value(value), meta)
	if err != nil {
		return err
	}
	verb := "updated"
	if change == store.Created {
		verb = "set"
	}
	where := envName
	if o.scope == store.Personal {
		where += " (personal)"
	}
	s.infof("%s %s in %s", verb, o.key, where)
	s.warnGitDrivers()
	return nil
}

func runGet(s *ui, key string, personalOnly bool) error {
	if _, err := s.Project(); err != nil {
		return err
	}
	if err := store.ValidKeyName(key); err != nil {
		return err
	}
	envName, err := s.EnvName()
	if err != nil {
		return err
	}
	if _, err := s.Identity(); err != nil {
		return err
	}
	sec, err := s.Get(envName, key, personalOnly)
	if err != nil {
		return err
	}
	v := sec.Value.Reveal()
	if s.env.StdoutTTY {
		// A person reads it, and anyone who can write the store wrote it:
		// a value is shown raw to a pipe or file only.
		// Lines keeps a PEM block's newlines and tabs.
		if shown := safe.Lines(v); shown != v {
			s.warnf("the value of %s holds control or invisible characters: shown escaped; pipe or redirect stdout for the raw bytes", key)
			v = shown
		}
		v += "\n"
	}
	io.WriteString(s.env.Stdout, v)
	return nil
}

func runLs(s *ui, asJSON, personalOnly bool) error {
	_, envName, _, err := s.OpenEnv()
	if err != nil {
		return err
	}
	entries, err := s.List(envName, personalOnly)
	if err != nil {
		return err
	}
	type row struct {
		Name        string    `json:"name"`
		Type        string    `json:"type,omitempty"`
		Updated     time.Time `json:"updated,omitzero"`
		Rotated     time.Time `json:"rotated,omitzero"`
		RotateEvery string    `json:"rotate_every,omitempty"`
		Source      string    `json:"source"`
		Env         string    `json:"env,omitempty"`
		Inherited   bool      `json:"inherited,omitempty"`
		Shadows     bool      `json:"shadows_team,omitempty"`
		Overrides   string    `json:"overrides,omitempty"`
		Exposed     bool      `json:"exposed,omitempty"`
		Note        string    `json:"note,omitempty"`
	}
	rows := make([]row, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, row{Name: e.Name, Type: e.Secret.Type, Updated: e.Secret.Updated, Rotated: e.Secret.Rotated,
			RotateEvery: e.Secret.RotateEvery, Source: e.Source.String(), Env: e.Env, Inherited: e.Inherited(envName),
			Shadows: e.Shadows, Overrides: e.Overrides, Exposed: len(e.Secret.Exposed) > 0, Note: e.Secret.Note})
	}
	if asJSON {
		return writeJSON(s.env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	printf(tw, "KEY\tTYPE\tUPDATED\tSOURCE\n")
	for _, r := range rows {
		// Where the value comes from: the environment's team store, one it
		// inherits from, or the personal store; and what it hides.
		src := r.Source
		switch {
		case r.Inherited:
			src = r.Env + " (inherited)"
		case r.Overrides == envName && r.Shadows:
			src += " (overrides team)"
		case r.Overrides != "":
			src += " (overrides " + r.Overrides + ")"
		}
		typ := r.Type
		if typ == "" {
			typ = "-"
		}
		upd := "-"
		if !r.Updated.IsZero() {
			upd = r.Updated.Format("2006-01-02 15:04")
		}
		printf(tw, "%s\t%s\t%s\t%s\n", r.Name, typ, upd, src)
	}
	return tw.Flush()
}

func runRm(s *ui, keys []string, scope store.Scope) error {
	for _, k := range keys {
		if err := store.ValidKeyName(k); err != nil {
			return err
		}
	}
	_, envName, _, err := s.OpenEnv()
	if err != nil {
		return err
	}
	if err := s.Remove(envName, scope, keys); err != nil {
		return err
	}
	s.infof("removed %s from %s", strings.Join(keys, ", "), envName)
	return nil
}
