package gcpsm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

// MaxValue is Secret Manager's limit for one version's payload: a larger
// value is refused before anything is written.
const MaxValue = 64 << 10

// head is a key's newest version as read: Secret Manager's "latest" is the
// most recently created version whatever its state, and that is the key's
// state — a disabled or destroyed newest version is a deleted key, not an
// older value coming back.
type head struct {
	exists  bool // the secret exists
	version int  // 0: no version yet
	enabled bool
	etag    string // the version's etag
	data    []byte // when enabled and read
}

func versionNumber(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndex(name, "/")+1:])
	return n
}

// readHead reads a secret's newest version, and its data when read is set
// and the version is enabled.
func (b *Backend) readHead(ctx context.Context, name string, read bool) (*head, error) {
	var v *secretmanagerpb.SecretVersion
	err := b.retry(ctx, func(ctx context.Context) error {
		var err error
		v, err = b.c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name + "/versions/latest"})
		return err
	})
	if err != nil {
		werr := wrap("read", name, err)
		if !errors.Is(werr, store.ErrNotFound) {
			return nil, werr
		}
		// No version yet, or no secret: tell them apart.
		err = b.retry(ctx, func(ctx context.Context) error {
			_, err := b.c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
			return err
		})
		if werr := wrap("read", name, err); errors.Is(werr, store.ErrNotFound) {
			return &head{}, nil
		} else if werr != nil {
			return nil, werr
		}
		return &head{exists: true}, nil
	}
	h := &head{exists: true, version: versionNumber(v.Name), etag: v.Etag, enabled: v.State == secretmanagerpb.SecretVersion_ENABLED}
	if h.enabled && read {
		vname := fmt.Sprintf("%s/versions/%d", name, h.version)
		h.data, err = b.access(ctx, vname)
		if errors.Is(err, errNotEnabled) {
			h.enabled = false // disabled between the two calls
			return h, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// list returns the keys of env's secrets, sorted. The client's iterator
// follows the page tokens; a listing cut off by a transient error starts
// again.
func (b *Backend) list(ctx context.Context, env string) ([]string, error) {
	parent := "projects/" + b.project
	var keys []string
	err := b.retry(ctx, func(ctx context.Context) error {
		keys = nil
		it := b.c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: parent, Filter: b.filter(env), PageSize: 250})
		for {
			s, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return nil
			}
			if err != nil {
				return err
			}
			id := s.Name[strings.LastIndex(s.Name, "/")+1:]
			if k, ok := b.keyOf(env, id); ok && b.ours(env, s.Labels) {
				keys = append(keys, k)
			}
		}
	})
	if err != nil {
		werr := wrap("list", parent, err)
		if errors.Is(werr, store.ErrNotFound) {
			return nil, fmt.Errorf("gcpsm: %s: %w: the GCP project does not exist", parent, sync.ErrNoEngine)
		}
		return nil, werr
	}
	sort.Strings(keys)
	return keys, nil
}

// Pull reads env's snapshot: every secret labelled for env, each key's
// newest version.
func (b *Backend) Pull(ctx context.Context, env string) (*sync.Snapshot, error) {
	if err := store.ValidEnvName(env); err != nil {
		return nil, err
	}
	keys, err := b.list(ctx, env)
	if err != nil {
		return nil, err
	}
	heads := make([]*head, len(keys))
	err = parallel(ctx, len(keys), func(ctx context.Context, i int) error {
		h, err := b.readHead(ctx, b.secretName(env, keys[i]), true)
		heads[i] = h
		return err
	})
	if err != nil {
		return nil, err
	}
	snap := sync.NewSnapshot()
	// Nothing labelled for env at all, not even a deleted key: never
	// written, or removed whole.
	snap.Missing = len(keys) == 0
	for i, k := range keys {
		h := heads[i]
		if !h.exists || h.version == 0 {
			continue // removed since listed, or created with no version yet
		}
		snap.Versions[k] = h.version
		snap.Version += h.version
		if !h.enabled {
			snap.DeletedKeys = append(snap.DeletedKeys, k)
			continue
		}
		if err := store.ValidValue(string(h.data)); err != nil {
			return nil, fmt.Errorf("gcpsm: %s: %w", b.secretName(env, k), err)
		}
		snap.Values[k] = store.Value(h.data)
	}
	return snap, nil
}
