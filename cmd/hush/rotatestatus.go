package main

import (
	"time"

	"github.com/hush-secrets/hush/rotate"
)

// rotationState is an unfinished rotation as status --json shows it.
type rotationState struct {
	Env         string            `json:"environment"`
	Key         string            `json:"key"`
	Provider    string            `json:"provider"`
	Next        rotate.Phase      `json:"next_phase"`
	Started     time.Time         `json:"started"`
	OldValid    bool              `json:"old_valid"`
	RetireAfter time.Time         `json:"retire_after,omitzero"`
	LastError   string            `json:"last_error,omitempty"`
	State       map[string]string `json:"state,omitempty"`
}

func rotationStatus(js []*rotate.Journal) []rotationState {
	out := make([]rotationState, len(js))
	for i, j := range js {
		out[i] = rotationState{Env: j.Env, Key: j.Key, Provider: j.Provider, Next: j.Phase, Started: j.Started, OldValid: j.OldValid,
			RetireAfter: j.RetireAfter, LastError: j.LastError, State: j.State}
	}
	return out
}

// printRotations is status's and doctor's line per unfinished rotation:
// what the store and the source hold until it is finished.
func printRotations(s *ui, js []*rotate.Journal) {
	for _, j := range js {
		var where string
		switch j.Phase {
		case rotate.PhaseCreate:
			where = "the source may already hold a new credential the store does not"
		case rotate.PhaseStore:
			where = "the source holds a new credential the store does not have yet (kept in the journal)"
		case rotate.PhasePush:
			where = "the store holds the new credential, Vault not yet"
		case rotate.PhaseVerify:
			where = "the new credential is stored but not yet verified at the source"
		case rotate.PhaseRetire:
			where = "the new credential works; the old one is retired after " + j.RetireAfter.UTC().Format(time.RFC3339)
		}
		printf(s.env.Stdout, "unfinished rotation of %s in %s (%s), next phase %s: %s; run: hush rotate --resume\n", j.Key, j.Env, j.Provider, j.Phase, where)
		if j.LastError != "" {
			printf(s.env.Stdout, "  last error: %s\n", j.LastError)
		}
	}
}
