// Package k8s keeps hush environments in Kubernetes Secrets: one Secret per
// environment in a namespace, its data keys the environment's keys, written
// by server-side apply with the field manager "hush" and never forced.
//
// It links client-go, so it lives in the companion executable (hush-cloud,
// see sync/cloud), never in hush itself: hush sends a Config (no credential
// in it) and the companion authenticates from its own environment, a
// kubeconfig (KUBECONFIG, ~/.kube/config, a context) or the in-cluster
// service account.
//
// What a push guarantees (sync.Backend):
//   - check-and-set: the apply carries the resourceVersion of the plan's
//     base, so the API server refuses it (409, sync.ErrConflict, nothing
//     written) when the Secret moved since the pull; a Secret that did not
//     exist is created empty first (a create refuses an existing one) and
//     then applied at the version the create answered;
//   - a field another manager owns with another value (a kubectl apply, an
//     operator) is a conflict the server reports, and hush never forces; a
//     key to delete that another manager also owns would silently survive
//     the apply, so hush refuses that before writing;
//   - keys and sizes the API server would refuse are refused first, with
//     the key named and never the value; data is bytes, so any value
//     (empty, binary, multi-line) comes back exactly;
//   - throttling, server errors and an unreachable server are retried a
//     few times, then sync.ErrUnavailable; 401 and 403 are sync.ErrDenied;
//   - a lost answer is recognised: a retried write the server refuses is
//     read back, and the Secret holding exactly the plan's result at a
//     newer version is the push having happened.
//
// Labels and annotations say where a Secret came from: the project's id
// and name, the environment and the hush version. Never a value, nor
// anything computed from one (a hash of a short value is a guess away from
// it). A Secret carrying another project's id is not pulled or pushed.
package k8s

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "hush"

// The labels and annotations hush sets on its Secrets.
const (
	prefix = "hush-secrets.github.io/"
	// LabelManagedBy is the recommended app.kubernetes.io label, "hush".
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelEnvironment and LabelProjectID select hush's Secrets (set when
	// the value is a valid label value; the annotations always are).
	LabelEnvironment = prefix + "environment"
	LabelProjectID   = prefix + "project-id"
	// The annotations: the project's name and id, the environment, and
	// the hush that last wrote the Secret.
	AnnotationProject     = prefix + "project"
	AnnotationProjectID   = prefix + "project-id"
	AnnotationEnvironment = prefix + "environment"
	AnnotationVersion     = prefix + "hush-version"
)

// DefaultName is the template of an environment's Secret name.
const DefaultName = "{project}-{env}"

// Authentication modes.
const (
	// AuthAuto uses a kubeconfig when one is named (Config.Kubeconfig,
	// Config.Context, KUBECONFIG), else the in-cluster service account
	// when running in a pod, else ~/.kube/config.
	AuthAuto = ""
	// AuthKubeconfig uses a kubeconfig only.
	AuthKubeconfig = "kubeconfig"
	// AuthInCluster uses the pod's service account only: its token and CA
	// at /var/run/secrets/kubernetes.io/serviceaccount and the API server
	// at KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT.
	AuthInCluster = "in-cluster"
)

// Config is what hush sends the companion for one remote: where the
// Secrets are and whose they are. It holds no credential.
type Config struct {
	// Namespace holds the Secrets. Empty: the kubeconfig context's
	// namespace, or the service account's in a cluster, else "default".
	Namespace string `json:"namespace,omitempty"`
	// Name is the template of an environment's Secret name: {project} and
	// {env} are replaced by the project's and environment's names,
	// lower-cased with '_' as '-' (Secret names are DNS subdomains).
	// Default DefaultName.
	Name string `json:"name,omitempty"`
	// Names maps an environment to its Secret's name, taken as it is.
	Names map[string]string `json:"names,omitempty"`
	// Project and ProjectID name the project, for the Secret's name and
	// its labels and annotations; HushVersion is the version of the hush
	// that writes.
	Project     string `json:"project,omitempty"`
	ProjectID   string `json:"project_id,omitempty"`
	HushVersion string `json:"hush_version,omitempty"`
	// Auth is AuthAuto, AuthKubeconfig or AuthInCluster.
	Auth string `json:"auth,omitempty"`
	// Kubeconfig is the kubeconfig file (default: KUBECONFIG, then
	// ~/.kube/config); Context the context in it (default: its current
	// context).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
}

// ParseConfig decodes the JSON hush sent, refusing unknown fields (a
// setting a newer hush sends that this companion would ignore could send
// secrets somewhere else than meant).
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if len(raw) == 0 {
		return c, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("k8s: configuration: %w", err)
	}
	switch c.Auth {
	case AuthAuto, AuthKubeconfig, AuthInCluster:
	default:
		return c, fmt.Errorf("k8s: auth %q: want kubeconfig or in-cluster (or nothing: either)", c.Auth)
	}
	if c.Namespace != "" {
		if err := validNamespace(c.Namespace); err != nil {
			return c, err
		}
	}
	for env, name := range c.Names {
		if err := validSecretName(name); err != nil {
			return c, fmt.Errorf("%w (names.%s)", err, env)
		}
	}
	return c, nil
}

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	secretKey    = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	labelValue   = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)
)

func validNamespace(ns string) error {
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return fmt.Errorf("k8s: namespace %q is not a DNS label (lower-case letters, digits and '-', at most 63)", ns)
	}
	return nil
}

func validSecretName(name string) error {
	if len(name) > 253 || !dnsSubdomain.MatchString(name) {
		return fmt.Errorf("k8s: Secret name %q is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253)", name)
	}
	return nil
}

// ValidKey reports whether key can be a data key of a Secret: letters,
// digits, '-', '_' and '.', at most 253, and not "." or "..".
func ValidKey(key string) error {
	if len(key) > 253 || !secretKey.MatchString(key) || key == "." || key == ".." {
		q := key
		if len(q) > 40 {
			q = q[:40] + "…"
		}
		return fmt.Errorf("k8s: key %q cannot be a Secret key (letters, digits, '-', '_' and '.', at most 253)", q)
	}
	return nil
}

// maxSecretSize is the API server's limit on the sum of a Secret's values.
const maxSecretSize = 1 << 20

// secretName is env's Secret name.
func (c Config) secretName(env string) (string, error) {
	if n, ok := c.Names[env]; ok {
		return n, nil
	}
	tmpl := c.Name
	if tmpl == "" {
		tmpl = DefaultName
	}
	dns := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }
	if strings.Contains(tmpl, "{project}") && c.Project == "" {
		return "", fmt.Errorf("k8s: the Secret name %q needs the project's name, and none was given", tmpl)
	}
	name := strings.NewReplacer("{project}", dns(c.Project), "{env}", dns(env)).Replace(tmpl)
	if err := validSecretName(name); err != nil {
		return "", fmt.Errorf("%w; environment %s: set its name under names", err, env)
	}
	return name, nil
}

// metadata returns the labels and annotations of env's Secret.
func (c Config) metadata(env string) (labels, annotations map[string]string) {
	labels = map[string]string{LabelManagedBy: "hush"}
	annotations = map[string]string{AnnotationEnvironment: env}
	if len(env) <= 63 && labelValue.MatchString(env) {
		labels[LabelEnvironment] = env
	}
	if c.ProjectID != "" {
		annotations[AnnotationProjectID] = c.ProjectID
		if len(c.ProjectID) <= 63 && labelValue.MatchString(c.ProjectID) {
			labels[LabelProjectID] = c.ProjectID
		}
	}
	if c.Project != "" {
		annotations[AnnotationProject] = c.Project
	}
	if c.HushVersion != "" {
		annotations[AnnotationVersion] = c.HushVersion
	}
	return labels, annotations
}
