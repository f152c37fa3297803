package audit

import "strings"

// Path is what an audit line is about: a project and, within it, an
// environment and a key — Env and Key are "" for a line about the whole
// project or environment. It is written as project/env/KEY (Entry.Path);
// project, environment and key names hold no "/", so the form reads back
// exactly.
type Path struct {
	Project, Env, Key string
}

// String is the path as an Entry holds it.
func (p Path) String() string {
	switch {
	case p.Env == "" && p.Key == "":
		return p.Project
	case p.Key == "":
		return p.Project + "/" + p.Env
	}
	return p.Project + "/" + p.Env + "/" + p.Key
}

// ParsePath reads an Entry's path back.
func ParsePath(s string) Path {
	project, rest, _ := strings.Cut(s, "/")
	env, key, _ := strings.Cut(rest, "/")
	return Path{Project: project, Env: env, Key: key}
}
