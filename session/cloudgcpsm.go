package session

import (
	"encoding/json"
	"fmt"

	"github.com/hush-secrets/hush/store"
)

// gcpsmKind is GCP Secret Manager: the gcpsm: section of hush.yaml
// (pinned: it says where values are sent), one secret per key with
// versions, ids PREFIX-ENV-KEY, labels naming project and environment.
var gcpsmKind = CloudKind{
	Name:         "gcpsm",
	Title:        "GCP Secret Manager",
	Hint:         "is Secret Manager reachable with these credentials? check GOOGLE_APPLICATION_CREDENTIALS (or gcloud auth application-default login), the project in gcpsm.project, and HUSH_GCPSM_ENDPOINT if set",
	LocationFlag: "project", LocationUsage: "the GCP `PROJECT` holding the secrets (default: hush.yaml's gcpsm.project)",
	About: `An environment is one secret per key in GCP Secret Manager, with
versions: ids PREFIX-ENV-KEY (prefix hush unless set), labels naming the
hush project and environment; a delete disables the version it read, so it
can be undone. The GCP project and prefix are the gcpsm: section of
.hush/hush.yaml (pinned: a change must be acknowledged with hush ack).
Credentials are the application-default ones; HUSH_GCPSM_ENDPOINT (from
your environment, never hush.yaml) overrides the endpoint, plain http
only to a loopback address.

In hush run, gcpsm://projects/P/secrets/S[/versions/N|latest] in the
environment or an --env-file is read from Secret Manager.`,
	Config: func(section any, project string, o CloudOptions) (json.RawMessage, func(string) string, string, error) {
		var c struct {
			Project     string   `yaml:"project" json:"project"`
			HushProject string   `yaml:"-" json:"hush_project"`
			Prefix      string   `yaml:"prefix,omitempty" json:"prefix,omitempty"`
			Locations   []string `yaml:"locations,omitempty" json:"locations,omitempty"`
		}
		if err := decodeSection(section, &c); err != nil {
			return nil, nil, "", fmt.Errorf("%w: .hush/hush.yaml: gcpsm: %v", store.ErrInvalid, err)
		}
		if o.Location != "" {
			c.Project = o.Location
		}
		if c.Project == "" {
			return nil, nil, "", Usagef("say which GCP project holds the secrets: gcpsm.project in hush.yaml or --project")
		}
		if project == "" {
			return nil, nil, "", Usagef("hush gcpsm works inside a hush project: its name labels the secrets")
		}
		c.HushProject = project
		prefix := c.Prefix
		if prefix == "" {
			prefix = "hush"
		}
		b, err := json.Marshal(c)
		gp := c.Project
		return b, func(env string) string { return "gcpsm://projects/" + gp + "/secrets/" + prefix + "-" + env + "-*" }, "gcpsm:" + gp, err
	},
}
