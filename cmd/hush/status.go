package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func statusCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "per environment: members, exposed secrets, unacknowledged recipient changes",
		ArgsUsage: " ",
		Description: `EXAMPLE:
   hush status --json`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
		Action: func(c *cli.Context) error {
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return runStatus(s, c.Bool("json"))
		},
	}
}

type envStatus struct {
	Env      string              `json:"environment"`
	Members  []string            `json:"members"`
	Exposed  map[string][]string `json:"exposed,omitempty"`
	Readable bool                `json:"readable"`
	Error    string              `json:"error,omitempty"`
	Pin      string              `json:"recipient_change,omitempty"`
}

func runStatus(s *session, asJSON bool) error {
	p, err := s.openProject()
	if err != nil {
		return err
	}
	envs := p.Config.EnvNames()
	if s.envFlag != "" {
		if _, err := p.Config.Env(s.envFlag); err != nil {
			return err
		}
		envs = []string{s.envFlag}
	}
	id, idErr := s.identityOrErr()
	var out []envStatus
	var paths []string
	for _, e := range envs {
		st := envStatus{Env: e, Members: p.Config.Environments[e].Labels()}
		if pe, err := p.PinDiff(e); err == nil && pe != nil {
			st.Pin = pe.Error()
		}
		if idErr == nil {
			doc, err := p.Read(e, store.Team, id)
			if err != nil {
				st.Error = err.Error()
			} else {
				st.Readable = true
				paths = append(paths, s.secretPath(e, ""))
				for _, n := range doc.Names() {
					for _, x := range doc.Secrets[n].Exposed {
						if st.Exposed == nil {
							st.Exposed = map[string][]string{}
						}
						st.Exposed[n] = append(st.Exposed[n], x.To)
					}
				}
			}
		}
		out = append(out, st)
	}
	if len(paths) > 0 {
		if err := s.audit(audit.SecretList, paths, nil); err != nil {
			return err
		}
	}
	member, pending, hasPending := p.PendingRemoval()
	if asJSON {
		v := map[string]any{"environments": out}
		if hasPending {
			v["pending_removal"] = map[string]any{"member": member, "still_readable_in": pending}
		}
		return writeJSON(s.env.Stdout, v)
	}
	w := s.env.Stdout
	for _, st := range out {
		fmt.Fprintf(w, "%s\n  members: %s\n", st.Env, strings.Join(st.Members, ", "))
		switch {
		case st.Error != "":
			fmt.Fprintf(w, "  cannot read: %s\n", st.Error)
		case !st.Readable:
			fmt.Fprintf(w, "  secrets: not checked (no identity)\n")
		case len(st.Exposed) == 0:
			fmt.Fprintf(w, "  exposed: none\n")
		default:
			names := make([]string, 0, len(st.Exposed))
			for n := range st.Exposed {
				names = append(names, n)
			}
			sort.Strings(names)
			fmt.Fprintf(w, "  exposed (rotate these):\n")
			for _, n := range names {
				fmt.Fprintf(w, "    %s  to %s\n", n, strings.Join(st.Exposed[n], ", "))
			}
		}
		if st.Pin != "" {
			fmt.Fprintf(w, "  recipients changed: %s\n", st.Pin)
		}
	}
	if hasPending {
		fmt.Fprintf(w, "unfinished removal of %s: can still read %s; run: hush member rm %s --env %s\n",
			member, strings.Join(pending, ", "), member, strings.Join(pending, ","))
	}
	return nil
}
