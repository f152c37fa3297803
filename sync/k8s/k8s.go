package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/hush-secrets/hush/store"
	hushsync "github.com/hush-secrets/hush/sync"
)

// Driver opens Kubernetes backends and resolves k8s:// references for the
// companion (sync/cloud's Driver). Its zero value reads the process's
// environment.
type Driver struct {
	// Getenv and Root stand in for the process's environment and for /
	// (where the in-cluster service account is mounted), for tests.
	Getenv func(string) string
	Root   string
	// wrap, when set, wraps the client's transport (tests' fault
	// injection).
	wrap func(http.RoundTripper) http.RoundTripper
}

func (d Driver) env() env { return env{getenv: d.Getenv, root: d.Root} }

// Open returns the backend config (a Config as JSON) describes.
func (d Driver) Open(ctx context.Context, config json.RawMessage) (hushsync.Backend, error) {
	c, err := ParseConfig(config)
	if err != nil {
		return nil, err
	}
	return d.open(c)
}

func (d Driver) open(c Config) (*Backend, error) {
	rc, ns, from, err := d.env().restConfig(c)
	if err != nil {
		return nil, err
	}
	if c.Namespace == "" {
		c.Namespace = ns
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if err := validNamespace(c.Namespace); err != nil {
		return nil, err
	}
	if d.wrap != nil {
		rc.Wrap(d.wrap)
	}
	client, err := corev1client.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("k8s: %s: %w", from, err)
	}
	return &Backend{cfg: c, client: client, server: rc.Host, from: from}, nil
}

// Resolve reads one reference, k8s://NAMESPACE/SECRET#KEY, with the
// credentials of the companion's environment. A Secret or key that is not
// there wraps store.ErrNotFound.
func (d Driver) Resolve(ctx context.Context, ref string) ([]byte, error) {
	ns, name, key, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	b, err := d.open(Config{Namespace: ns})
	if err != nil {
		return nil, err
	}
	sec, err := b.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("k8s: %s: no Secret %s in namespace %s: %w", ref, name, ns, store.ErrNotFound)
	}
	v, ok := sec.Data[key]
	if !ok {
		return nil, fmt.Errorf("k8s: %s: Secret %s has no key %s: %w", ref, name, key, store.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// ParseRef splits k8s://NAMESPACE/SECRET#KEY. The namespace is required:
// a reference in a repository means the same Secret whatever the reader's
// current context.
func ParseRef(ref string) (namespace, name, key string, err error) {
	rest, ok := strings.CutPrefix(ref, "k8s://")
	path, key, hasKey := strings.Cut(rest, "#")
	namespace, name, hasName := strings.Cut(path, "/")
	if !ok || !hasKey || !hasName || key == "" {
		return "", "", "", fmt.Errorf("k8s: reference %q: want k8s://NAMESPACE/SECRET#KEY", ref)
	}
	if err := validNamespace(namespace); err != nil {
		return "", "", "", err
	}
	if err := validSecretName(name); err != nil {
		return "", "", "", err
	}
	if err := ValidKey(key); err != nil {
		return "", "", "", err
	}
	return namespace, name, key, nil
}

// Backend keeps each environment in one Secret (see the package doc).
type Backend struct {
	cfg    Config
	client corev1client.CoreV1Interface
	server string
	from   string
}

var _ hushsync.Backend = (*Backend)(nil)

// Namespace is where the Secrets are.
func (b *Backend) Namespace() string { return b.cfg.Namespace }

// Location names env's Secret with the API server and namespace: the sync
// state of another cluster's Secret of the same name is not this one's.
func (b *Backend) Location(env string) string {
	name, err := b.cfg.secretName(env)
	if err != nil {
		name = "(invalid name)"
	}
	return "k8s:" + b.server + "/namespaces/" + b.cfg.Namespace + "/secrets/" + name
}

func (b *Backend) secrets() corev1client.SecretInterface { return b.client.Secrets(b.cfg.Namespace) }

// get reads a Secret, nil when there is none.
func (b *Backend) get(ctx context.Context, name string) (*corev1.Secret, error) {
	var sec *corev1.Secret
	err, _ := retry(ctx, func() (err error) {
		sec, err = b.secrets().Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read Secret "+b.cfg.Namespace+"/"+name, err)
	}
	return sec, nil
}

// Pull reads env's Secret. No Secret is Missing; no namespace is
// sync.ErrNoEngine (when the credentials may look: otherwise Missing,
// and a push says so); a Secret being deleted (finalizers pending) is
// Deleted.
func (b *Backend) Pull(ctx context.Context, env string) (*hushsync.Snapshot, error) {
	name, err := b.cfg.secretName(env)
	if err != nil {
		return nil, err
	}
	sec, err := b.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if sec == nil {
		if err := b.checkNamespace(ctx); err != nil {
			return nil, err
		}
		snap := hushsync.NewSnapshot()
		snap.Missing = true
		return snap, nil
	}
	return b.snapshot(sec, env)
}

// checkNamespace returns ErrNoEngine when the namespace is known not to
// exist.
func (b *Backend) checkNamespace(ctx context.Context) error {
	err, _ := retry(ctx, func() error {
		_, err := b.client.Namespaces().Get(ctx, b.cfg.Namespace, metav1.GetOptions{})
		return err
	})
	switch {
	case err == nil, apierrors.IsForbidden(err):
		// Allowed to read Secrets there but not to look at namespaces:
		// an empty remote, as far as can be told.
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("k8s: namespace %s does not exist on %s: %w (create it, or set the namespace)", b.cfg.Namespace, b.server, hushsync.ErrNoEngine)
	}
	return wrap("read namespace "+b.cfg.Namespace, err)
}

func version(sec *corev1.Secret) (int, error) {
	// The API calls resourceVersion opaque; over etcd, the only storage
	// the API server has, it is the object's modification revision, a
	// decimal that only grows. hush's snapshots count versions in ints.
	v, err := strconv.ParseInt(sec.ResourceVersion, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("k8s: Secret %s/%s: resourceVersion %q is not a revision number", sec.Namespace, sec.Name, sec.ResourceVersion)
	}
	return int(v), nil
}

// snapshot is what a Secret holds for env, refusing one that belongs to
// another project or holds a key hush cannot.
func (b *Backend) snapshot(sec *corev1.Secret, env string) (*hushsync.Snapshot, error) {
	if id := sec.Annotations[AnnotationProjectID]; id != "" && b.cfg.ProjectID != "" && id != b.cfg.ProjectID {
		return nil, fmt.Errorf("k8s: Secret %s/%s belongs to another hush project (id %s, this is %s): %w; nothing was read or written (give this environment another Secret name)",
			sec.Namespace, sec.Name, id, b.cfg.ProjectID, hushsync.ErrConflict)
	}
	if e := sec.Annotations[AnnotationEnvironment]; e != "" && e != env {
		return nil, fmt.Errorf("k8s: Secret %s/%s holds environment %s, not %s: %w; nothing was read or written",
			sec.Namespace, sec.Name, e, env, hushsync.ErrConflict)
	}
	v, err := version(sec)
	if err != nil {
		return nil, err
	}
	snap := hushsync.NewSnapshot()
	snap.Version = v
	if sec.DeletionTimestamp != nil {
		snap.Deleted = true
		return snap, nil
	}
	for k, val := range sec.Data {
		if err := store.ValidKeyName(k); err != nil {
			return nil, fmt.Errorf("k8s: Secret %s/%s: %w", sec.Namespace, sec.Name, err)
		}
		if err := store.ValidValue(string(val)); err != nil {
			return nil, fmt.Errorf("k8s: Secret %s/%s: %s: %w", sec.Namespace, sec.Name, k, err)
		}
		snap.Values[k] = store.Value(val)
	}
	return snap, nil
}

// Push applies plan to env's Secret (see the package doc for what it
// checks before writing).
func (b *Backend) Push(ctx context.Context, env string, plan *hushsync.Plan) (*hushsync.Snapshot, error) {
	name, err := b.cfg.secretName(env)
	if err != nil {
		return nil, err
	}
	where := "Secret " + b.cfg.Namespace + "/" + name
	if plan.Base == nil {
		return nil, errors.New("k8s: push without a base snapshot")
	}
	want := plan.Result()
	data := make(map[string][]byte, len(want))
	size := 0
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if err := ValidKey(k); err != nil {
			return nil, fmt.Errorf("%w; nothing was written", err)
		}
		data[k] = []byte(want[k].Reveal())
		size += len(data[k])
	}
	if size > maxSecretSize {
		return nil, fmt.Errorf("k8s: %s: the values add up to %d bytes, over a Secret's 1 MiB; nothing was written", where, size)
	}
	if plan.Empty() {
		// Nothing to change: nothing is written, not even an empty
		// Secret where there was none.
		return plan.Base, nil
	}
	if plan.Base.Deleted {
		return nil, fmt.Errorf("k8s: %s is being deleted: %w; nothing was written (wait for its deletion to finish, then push)", where, hushsync.ErrConflict)
	}

	rv := ""
	if plan.Base.Version == 0 {
		if rv, err = b.create(ctx, name); err != nil {
			return nil, err
		}
	} else {
		rv = strconv.Itoa(plan.Base.Version)
		if err := b.checkOwners(ctx, name, rv, plan.Delete); err != nil {
			return nil, err
		}
	}

	labels, annotations := b.cfg.metadata(env)
	apply := applycorev1.Secret(name, b.cfg.Namespace).
		WithResourceVersion(rv).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithData(data)
	var sec *corev1.Secret
	err, lost := retry(ctx, func() (err error) {
		sec, err = b.secrets().Apply(ctx, apply, metav1.ApplyOptions{FieldManager: FieldManager, Force: false})
		return err
	})
	if err != nil && lost && apierrors.IsConflict(err) {
		// A try that reached the server may have been applied: the Secret
		// holding exactly what was sent, at a newer version, is that.
		if got, gerr := b.get(ctx, name); gerr == nil && got != nil && got.ResourceVersion != rv && sameData(got.Data, data) {
			sec, err = got, nil
		}
	}
	if err != nil {
		if apierrors.IsConflict(err) {
			return nil, fmt.Errorf("%w; nothing was written (pull, or diff to see what changed; hush never forces another field manager's fields)", wrap("apply "+where, err))
		}
		return nil, wrap("apply "+where, err)
	}
	if !sameData(sec.Data, data) {
		// A field manager kept a key hush dropped (checkOwners should
		// have seen it), or a webhook changed the data.
		return nil, fmt.Errorf("k8s: %s: the API server holds other data than hush applied (another field manager or an admission webhook): %w", where, hushsync.ErrConflict)
	}
	return b.snapshot(sec, env)
}

// create makes the Secret empty (data comes with the apply that follows)
// and returns its resourceVersion. A create is refused when the Secret
// exists, which a pull that saw none makes a conflict. Its only fields
// (the type) belong to the manager "hush" of an update, which no later
// apply changes.
func (b *Backend) create(ctx context.Context, name string) (string, error) {
	where := "Secret " + b.cfg.Namespace + "/" + name
	empty := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.cfg.Namespace}, Type: corev1.SecretTypeOpaque}
	var sec *corev1.Secret
	err, lost := retry(ctx, func() (err error) {
		sec, err = b.secrets().Create(ctx, empty, metav1.CreateOptions{FieldManager: FieldManager})
		return err
	})
	if err != nil && lost && apierrors.IsAlreadyExists(err) {
		// Our own create whose answer was lost: still empty, made by us
		// alone.
		if got, gerr := b.get(ctx, name); gerr == nil && got != nil && len(got.Data) == 0 && len(got.Labels) == 0 && onlyHush(got) {
			sec, err = got, nil
		}
	}
	switch {
	case apierrors.IsAlreadyExists(err):
		return "", fmt.Errorf("k8s: %s was created by someone else since the pull: %w; nothing was written (pull again)", where, hushsync.ErrConflict)
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("k8s: create %s: namespace %s does not exist: %w", where, b.cfg.Namespace, hushsync.ErrNoEngine)
	case err != nil:
		return "", wrap("create "+where, err)
	}
	return sec.ResourceVersion, nil
}

func onlyHush(sec *corev1.Secret) bool {
	for _, m := range sec.ManagedFields {
		if m.Manager != FieldManager {
			return false
		}
	}
	return true
}

// checkOwners refuses, before writing, to delete a key another field
// manager also owns: the apply would leave it in place, owned by the
// other. A key hush never applied is the other's too.
func (b *Backend) checkOwners(ctx context.Context, name, rv string, del []string) error {
	if len(del) == 0 {
		return nil
	}
	where := "Secret " + b.cfg.Namespace + "/" + name
	sec, err := b.get(ctx, name)
	if err != nil {
		return err
	}
	if sec == nil {
		return fmt.Errorf("k8s: %s was deleted since the pull: %w; nothing was written (pull again)", where, hushsync.ErrConflict)
	}
	if sec.ResourceVersion != rv {
		return fmt.Errorf("k8s: %s changed since the pull (version %s, pulled %s): %w; nothing was written (pull, or diff to see what changed)", where, sec.ResourceVersion, rv, hushsync.ErrConflict)
	}
	owners, err := dataOwners(sec)
	if err != nil {
		return fmt.Errorf("k8s: %s: %w", where, err)
	}
	for _, k := range slices.Sorted(slices.Values(del)) {
		var others []string
		ours := false
		for _, m := range owners[k] {
			if m == FieldManager+"/"+string(metav1.ManagedFieldsOperationApply) {
				ours = true
			} else {
				others = append(others, m)
			}
		}
		if !ours || len(others) > 0 {
			if len(others) == 0 {
				others = []string{"no field manager hush knows of"}
			}
			return fmt.Errorf("k8s: %s: key %s is managed by %s, and a server-side apply by hush cannot remove it: %w; nothing was written (remove it with the tool that manages it, then push)",
				where, k, strings.Join(others, ", "), hushsync.ErrConflict)
		}
	}
	return nil
}

// dataOwners maps each data key to the managers ("name/operation") whose
// managed fields hold it.
func dataOwners(sec *corev1.Secret) (map[string][]string, error) {
	owners := map[string][]string{}
	for _, m := range sec.ManagedFields {
		if m.FieldsV1 == nil {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(m.FieldsV1.GetRawBytes(), &fields); err != nil {
			return nil, fmt.Errorf("managed fields of %s: %w", m.Manager, err)
		}
		var data map[string]json.RawMessage
		if raw, ok := fields["f:data"]; ok {
			if err := json.Unmarshal(raw, &data); err != nil {
				return nil, fmt.Errorf("managed fields of %s: %w", m.Manager, err)
			}
		}
		for f := range data {
			if k, ok := strings.CutPrefix(f, "f:"); ok {
				owners[k] = append(owners[k], m.Manager+"/"+string(m.Operation))
			}
		}
	}
	return owners, nil
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
