package session

import (
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// EnvSurvey is what status and doctor know of one environment without
// showing a value: each secret's rotation state, or why it could not be
// read.
type EnvSurvey struct {
	Env     string
	Secrets []store.SecretStatus
	// ReadErr is why the environment could not be read (no identity, not
	// a recipient, a damaged store); Secrets is empty then.
	ReadErr error
}

// Survey reads envs layered (personal over team), evaluates each secret
// against the rotation policy at now, and records one listing line per
// environment read: decrypting for metadata is a listing. An environment
// that cannot be read is reported in its EnvSurvey; a bad rotation policy
// or an audit line that cannot be written fails the survey.
func (s *Session) Survey(envs []string, now time.Time) ([]EnvSurvey, error) {
	p, err := s.Project()
	if err != nil {
		return nil, err
	}
	out := make([]EnvSurvey, 0, len(envs))
	id, idErr := s.Identity()
	if idErr == nil {
		if err := s.AuditReady(); err != nil {
			return nil, err
		}
	}
	var paths []string
	for _, e := range envs {
		sv := EnvSurvey{Env: e, Secrets: []store.SecretStatus{}}
		if idErr != nil {
			sv.ReadErr = idErr
			out = append(out, sv)
			continue
		}
		entries, err := p.Layered(e, id)
		if err != nil {
			sv.ReadErr = err
			out = append(out, sv)
			continue
		}
		paths = append(paths, s.EnvPaths(s.readEnvs(e))...)
		doc := store.NewDocument(e)
		for _, en := range entries {
			doc.Secrets[en.Name] = en.Secret
		}
		if sv.Secrets, err = p.Config.Evaluate(doc, now); err != nil {
			return nil, join(err, s.Audit(audit.SecretList, paths, nil))
		}
		from := map[string]string{}
		for _, en := range entries {
			if en.Inherited(e) {
				from[en.Name] = en.Env
			}
		}
		for i := range sv.Secrets {
			sv.Secrets[i].From = from[sv.Secrets[i].Name]
		}
		out = append(out, sv)
	}
	if len(paths) > 0 {
		if err := s.Audit(audit.SecretList, paths, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
