package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
)

func statusCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "rotation, exposure and membership state of every secret",
		ArgsUsage: " ",
		Description: `Per environment: members, unacknowledged recipient changes, and each secret
that is due or overdue for rotation, exposed (a removed member, a leak, git
history) or compromised. --fail exits 7 when anything is overdue, exposed or
compromised, or a member removal or a rotation at the source is unfinished:
run it in CI. An environment your identity cannot read fails the
gate too (exit 4, or 5 when its file is damaged): a CI key that reads only some
environments checks those with --env.

EXAMPLES:
   hush status
   hush status --env prod --fail --json`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "every environment (the default without --env)"},
			&cli.BoolFlag{Name: "fail", Usage: "exit 7 when a secret is overdue, exposed or compromised or a removal or rotation is unfinished, 4 when an environment cannot be read"},
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.Bool("all") && s.EnvFlag != "" {
				return usagef("use either --env or --all")
			}
			return runStatus(s, c.Bool("json"), c.Bool("fail"))
		}),
	}
}

type envStatus struct {
	Env         string               `json:"environment"`
	Members     []string             `json:"members"`
	PinChange   string               `json:"recipient_change,omitempty"`
	Error       string               `json:"error,omitempty"`
	Secrets     []store.SecretStatus `json:"secrets"`
	Unreadable  bool                 `json:"unreadable,omitempty"`
	Conflicts   []string             `json:"merge_conflicts,omitempty"`
	problemKeys int
	readErr     error
}

func runStatus(s *ui, asJSON, fail bool) error {
	p, err := s.Project()
	if err != nil {
		return err
	}
	if pd, err := p.Pending(); err == nil {
		for _, c := range pd.Settings {
			for _, l := range c.Leaves() {
				s.warnf("hush.yaml changed since you acknowledged it: %s; review it, then run: hush ack", l)
			}
		}
	}
	envs := p.Config.EnvNames()
	if s.EnvFlag != "" {
		if _, err := p.Config.Env(s.EnvFlag); err != nil {
			return err
		}
		envs = []string{s.EnvFlag}
	}
	survey, err := s.Survey(envs, s.env.Now().UTC())
	if err != nil {
		return err
	}
	var out []envStatus
	bad := 0
	for _, sv := range survey {
		e := sv.Env
		st := envStatus{Env: e, Members: p.Config.Environments[e].Labels(), Secrets: sv.Secrets}
		if pe, err := p.PinDiff(e); err == nil && pe != nil {
			st.PinChange = pe.Error()
		}
		if sv.ReadErr != nil {
			st.Unreadable, st.Error, st.readErr = true, sv.ReadErr.Error(), sv.ReadErr
			out = append(out, st)
			continue
		}
		if c, err := liveConflicts(s, p, e, s.Known()); err == nil && len(c) > 0 {
			st.Conflicts = store.ConflictNames(c)
		}
		for _, ss := range st.Secrets {
			if ss.Bad() {
				st.problemKeys++
				bad++
			}
		}
		out = append(out, st)
	}
	member, pending, hasPending := p.PendingRemoval()
	rotations, rotErr := s.PendingRotations()
	if asJSON {
		v := map[string]any{"environments": out}
		if hasPending {
			v["pending_removal"] = map[string]any{"member": member, "still_readable_in": pending}
		}
		if len(rotations) > 0 {
			v["unfinished_rotations"] = rotationStatus(rotations)
		}
		if err := writeJSON(s.env.Stdout, v); err != nil {
			return err
		}
	} else {
		printStatus(s, out)
		if hasPending {
			printf(s.env.Stdout, "unfinished removal of %s: can still read %s; run: hush member rm %s --env %s\n",
				member, strings.Join(pending, ", "), member, strings.Join(pending, ","))
		}
		printRotations(s, rotations)
	}
	if rotErr != nil {
		s.warnf("%v", rotErr)
	}
	if !fail {
		return nil
	}
	// Work left half done is a policy failure too: a removed member who can
	// still read, a rotation whose store and source may disagree.
	var unfinished []string
	if hasPending {
		unfinished = append(unfinished, "the removal of "+member)
	}
	for _, j := range rotations {
		unfinished = append(unfinished, "the rotation of "+j.Env+"/"+j.Key)
	}
	return statusVerdict(out, bad, unfinished)
}

// statusVerdict is the --fail gate. An environment hush could not read is
// a failure, never a pass: its secrets may be exposed or overdue and
// nobody would know. Problems seen in readable environments are a policy
// failure (7), reported first since they are certain; otherwise an
// unreadable environment fails with its own kind of error (4 when this
// identity cannot decrypt it, 5 when the file is damaged), so a CI log says
// whether to fix the store or the key.
func statusVerdict(out []envStatus, bad int, unfinished []string) error {
	var unreadable []string
	var first error
	for _, st := range out {
		if st.Unreadable {
			unreadable = append(unreadable, st.Env)
			if first == nil {
				first = st.readErr
			}
		}
	}
	if bad > 0 || len(unfinished) > 0 {
		var what []string
		if bad > 0 {
			what = append(what, fmt.Sprintf("%d secrets overdue, exposed or compromised", bad))
		}
		if len(unfinished) > 0 {
			what = append(what, "unfinished: "+strings.Join(unfinished, ", "))
		}
		err := errors.New(strings.Join(what, "; "))
		if len(unreadable) > 0 {
			err = fmt.Errorf("%w; not checked, as this identity cannot read them: %s", err, strings.Join(unreadable, ", "))
		}
		return &exitCodeError{code: exitPolicy, err: err}
	}
	if len(unreadable) == 0 {
		return nil
	}
	err := fmt.Errorf("status --fail cannot vouch for %s, which this identity cannot read: %w", strings.Join(unreadable, ", "), first)
	return hint.With(err, "a member can add this key (hush member add KEY --env %s --label ci); or check only what it reads: hush status --fail --env ENV", strings.Join(unreadable, ","))
}

func printStatus(s *ui, out []envStatus) {
	w := s.env.Stdout
	for _, st := range out {
		printf(w, "%s\n  members: %s\n", st.Env, strings.Join(st.Members, ", "))
		if st.PinChange != "" {
			printf(w, "  recipients changed: %s\n", st.PinChange)
		}
		if p := s.Opened(); p != nil {
			// File names only: nothing is decrypted, nothing to audit.
			if ids, _, _ := p.DropIDs(st.Env); len(ids) > 0 {
				printf(w, "  inbox: %d contributed values waiting; review: hush inbox --env %s\n", len(ids), st.Env)
			}
		}
		if st.Unreadable {
			printf(w, "  cannot read: %s\n", firstLine(st.Error))
			continue
		}
		if len(st.Conflicts) > 0 {
			printf(w, "  merge conflict: %s (ours in use); pick: hush resolve KEY --ours|--theirs --env %s\n", strings.Join(st.Conflicts, ", "), st.Env)
		}
		var rows []store.SecretStatus
		ok := 0
		for _, ss := range st.Secrets {
			if ss.State == store.StateOK {
				ok++
				continue
			}
			rows = append(rows, ss)
		}
		printf(w, "  secrets: %d, %d ok\n", len(st.Secrets), ok)
		if len(rows) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, ss := range rows {
			detail := ""
			switch ss.State {
			case store.StateDue, store.StateOverdue:
				detail = fmt.Sprintf("due %s (every %s)", ss.Due.Format("2006-01-02"), ss.Every)
			case store.StateExposed:
				var to []string
				for _, x := range ss.Exposed {
					to = append(to, x.To)
				}
				detail = "exposed to " + strings.Join(to, ", ") + "; rotate it"
			case store.StateCompromised:
				detail = "compromised since " + ss.Compromised.Format("2006-01-02") + "; rotate it now"
			}
			if ss.From != "" {
				// Its state is the parent's, and so is the fix.
				detail += fmt.Sprintf(" (inherited from %s: hush rotate %s --env %s)", ss.From, ss.Name, ss.From)
			}
			printf(tw, "    %s\t%s\t%s\n", ss.Name, ss.State, detail)
		}
		tw.Flush()
	}
}
