package session

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// k8sKind is Kubernetes Secrets: the k8s: section of hush.yaml (pinned: it
// says where values are sent), one Secret per environment in a namespace,
// written by server-side apply as field manager hush.
//
// The kubeconfig is never a hush.yaml setting: a kubeconfig can name an
// exec credential plugin, so a repository that chose the file would choose
// a program hush runs. It comes from KUBECONFIG (or ~/.kube/config), or
// the cluster's service account.
var k8sKind = CloudKind{
	Name:         "k8s",
	Title:        "Kubernetes Secrets",
	Hint:         "is the API server reachable, and may this identity get and patch Secrets in the namespace? check KUBECONFIG, the context (k8s.context) and kubectl auth can-i patch secrets -n NAMESPACE",
	LocationFlag: "namespace", LocationUsage: "the `NAMESPACE` holding the Secrets (default: hush.yaml's k8s.namespace, then the context's)",
	About: `An environment is one Secret in a namespace, named by the k8s: section
of .hush/hush.yaml (name: {project}-{env} by default, names: per
environment; pinned: a change must be acknowledged with hush ack), written
by server-side apply as field manager hush, never forced: keys another
manager owns, or a Secret changed since it was read, stop a push (exit 6).
Its labels and annotations say which project and environment it holds,
never a value. Credentials: KUBECONFIG (or ~/.kube/config) with the
context in k8s.context or the current one, or the cluster's service
account; never a kubeconfig the repository names.

In hush run, k8s://NAMESPACE/SECRET#KEY in the environment or an --env-file
is read from the cluster.`,
	Config: func(section any, project string, o CloudOptions) (json.RawMessage, func(string) string, string, error) {
		var c struct {
			Namespace   string            `yaml:"namespace,omitempty" json:"namespace,omitempty"`
			Name        string            `yaml:"name,omitempty" json:"name,omitempty"`
			Names       map[string]string `yaml:"names,omitempty" json:"names,omitempty"`
			Context     string            `yaml:"context,omitempty" json:"context,omitempty"`
			Project     string            `yaml:"-" json:"project,omitempty"`
			ProjectID   string            `yaml:"-" json:"project_id,omitempty"`
			HushVersion string            `yaml:"-" json:"hush_version,omitempty"`
		}
		if err := decodeSection(section, &c); err != nil {
			return nil, nil, "", fmt.Errorf("%w: .hush/hush.yaml: k8s: %v", store.ErrInvalid, err)
		}
		if o.Location != "" {
			c.Namespace = o.Location
		}
		if project == "" {
			return nil, nil, "", Usagef("hush k8s works inside a hush project: its name and id label the Secrets")
		}
		c.Project, c.ProjectID, c.HushVersion = project, o.ProjectID, o.HushVersion
		b, err := json.Marshal(c)
		ns, name, names := c.Namespace, c.Name, c.Names
		if ns == "" {
			ns = "(context's namespace)"
		}
		if name == "" {
			name = "{project}-{env}"
		}
		locate := func(env string) string {
			n := names[env]
			if n == "" {
				n = strings.NewReplacer("{project}", project, "{env}", env).Replace(name)
				n = strings.ReplaceAll(strings.ToLower(n), "_", "-")
			}
			return "k8s://" + ns + "/" + n
		}
		return b, locate, "k8s:" + ns, err
	},
}
