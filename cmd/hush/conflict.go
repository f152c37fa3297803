package main

import (
	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

// liveConflicts and conflictWarning are the session's, for status, doctor
// and run (session/conflict.go).
func liveConflicts(s *ui, p *store.Project, env string, id *crypt.Identity) (map[string]store.Conflict, error) {
	return s.LiveConflicts(p, env, id)
}

var conflictWarning = session.ConflictWarning
