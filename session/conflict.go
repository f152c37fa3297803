package session

import (
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/store"
)

// LiveConflicts reads env's saved merge conflicts, dropping them once git
// no longer has the store unmerged: after git merge --abort, a reset, or a
// git add that settled it, a saved conflict is stale and would send the
// user to resolve what is no longer in conflict. Outside git, or when git
// cannot tell, the saved conflicts stand.
func (s *Session) LiveConflicts(p *store.Project, env string, id *crypt.Identity) (map[string]store.Conflict, error) {
	c, err := p.ReadConflicts(env, id)
	if err != nil || len(c) == 0 {
		return c, err
	}
	if unmerged, known := s.gitUnmerged(p.TeamPath(env)); known && !unmerged {
		if err := p.WriteConflicts(env, nil, nil, nil); err != nil {
			return nil, err
		}
		s.Report.Infof("cleared the saved merge conflicts of %s (%s): git no longer has its store unmerged (the merge was aborted or settled)",
			env, strings.Join(store.ConflictNames(c), ", "))
		return map[string]store.Conflict{}, nil
	}
	return c, nil
}

// gitUnmerged reports whether git's index holds abs as unmerged; known is
// false outside a work tree or when git fails.
func (s *Session) gitUnmerged(abs string) (unmerged, known bool) {
	top, rel := git.Path(abs)
	if top == "" {
		return false, false
	}
	out, err := git.Output(s.Ctx(), top, "ls-files", "-u", "--", rel)
	if err != nil {
		return false, false
	}
	return len(strings.TrimSpace(string(out))) > 0, true
}

// ConflictWarning is what status, doctor and run say while a merge of env
// is unresolved: which keys, and that ours is what is in use.
func ConflictWarning(env string, c map[string]store.Conflict) string {
	return "unresolved merge conflict in " + env + ": " + strings.Join(store.ConflictNames(c), ", ") +
		" (ours in use until you pick: hush resolve KEY --ours|--theirs --env " + env + ")"
}
