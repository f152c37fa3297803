package gcpsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	gosync "sync"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

type op struct {
	key  string
	val  store.Value
	del  bool
	base int   // the key's version in the plan's base (0: none)
	h    *head // the key's newest version, read just before writing
	// done: the remote already holds what the op wants (an identical
	// write by someone, or the key already deleted); gone: the secret no
	// longer exists at all.
	done, gone bool
}

// Push applies plan in two passes. First every key the plan touches is
// read again and compared with the base: if any changed (a newer
// version, a new secret, a deletion), Push returns ErrConflict having
// written nothing. Then each key is written: a set adds a version (the
// secret is created first when new), a delete disables the version read,
// with its etag. AddSecretVersion takes no etag, so a version added by
// someone else between the second read and the write of the same key is
// not detected: that window is one round trip per key, and the version
// written then sits on top of theirs (both kept in the secret's history).
// A disable carries the version's etag, which catches a change of that
// version's state but not a newer version added in the same window.
func (b *Backend) Push(ctx context.Context, env string, plan *sync.Plan) (*sync.Snapshot, error) {
	if err := store.ValidEnvName(env); err != nil {
		return nil, err
	}
	if plan.Empty() {
		return plan.Base, nil
	}
	var ops []*op
	var big []string
	for k, v := range plan.Set {
		if err := store.ValidKeyName(k); err != nil {
			return nil, fmt.Errorf("gcpsm: %w", err)
		}
		if len(v.Reveal()) > MaxValue {
			big = append(big, k)
		}
		ops = append(ops, &op{key: k, val: v, base: plan.Base.Versions[k]})
	}
	if len(big) > 0 {
		sort.Strings(big)
		return nil, fmt.Errorf("%w: gcpsm: %s: over Secret Manager's limit of 64 KiB for one value; nothing pushed", store.ErrInvalid, strings.Join(big, ", "))
	}
	for _, k := range plan.Delete {
		ops = append(ops, &op{key: k, del: true, base: plan.Base.Versions[k]})
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].key < ops[j].key })

	// Pass 1: nothing is written unless every key is still as read.
	err := parallel(ctx, len(ops), func(ctx context.Context, i int) error {
		return b.check(ctx, env, ops[i])
	})
	if err != nil {
		return nil, err
	}
	// Pass 2: the writes.
	answered := make([]bool, len(ops))
	err = parallel(ctx, len(ops), func(ctx context.Context, i int) error {
		o := ops[i]
		if o.done {
			answered[i] = true
			return nil
		}
		var err error
		if o.del {
			err = b.disable(ctx, b.secretName(env, o.key), o)
		} else {
			err = b.set(ctx, env, o)
		}
		answered[i] = err == nil
		return err
	})
	out := result(plan.Base, ops, answered)
	if err != nil {
		var set, deleted []string
		for i, o := range ops {
			if answered[i] && o.del {
				deleted = append(deleted, o.key)
			} else if answered[i] {
				set = append(set, o.key)
			}
		}
		if len(set)+len(deleted) == 0 {
			return nil, err
		}
		return nil, &sync.PartialError{Err: err, Written: out, Set: set, Deleted: deleted, Planned: len(ops)}
	}
	return out, nil
}

// check reads o's key again and refuses a change since the base.
func (b *Backend) check(ctx context.Context, env string, o *op) error {
	name := b.secretName(env, o.key)
	h, err := b.readHead(ctx, name, false)
	if err != nil {
		return err
	}
	o.h = h
	conflict := func(what string) error {
		return fmt.Errorf("gcpsm: %s (%s): %w: it changed since it was read (%s); nothing pushed", o.key, name, sync.ErrConflict, what)
	}
	if o.base == 0 && h.exists {
		if err := b.claim(ctx, env, name); err != nil {
			return err
		}
	}
	if o.del {
		switch {
		case !h.exists:
			o.done, o.gone = true, true // deleted whole meanwhile: nothing to disable
		case h.version != o.base:
			return conflict(fmt.Sprintf("now at version %d, read at %d", h.version, o.base))
		case !h.enabled:
			o.done = true
		}
		return nil
	}
	if h.version == o.base {
		return nil
	}
	if h.enabled && h.version > o.base {
		data, err := b.access(ctx, fmt.Sprintf("%s/versions/%d", name, h.version))
		if err != nil && !errors.Is(err, errNotEnabled) {
			return err
		}
		h.data = data
	}
	if h.enabled && h.version > o.base && bytes.Equal(h.data, []byte(o.val.Reveal())) {
		o.done = true // already holds this value (our own write whose answer was lost)
		return nil
	}
	if h.version == 0 {
		return conflict("its secret was deleted and made again")
	}
	return conflict(fmt.Sprintf("now at version %d, read at %d", h.version, o.base))
}

// set writes o's value as a new version, creating the secret first when it
// does not exist. A write whose answer is lost is recognised by reading
// the key back before trying again.
func (b *Backend) set(ctx context.Context, env string, o *op) error {
	name := b.secretName(env, o.key)
	if !o.h.exists || o.base == 0 {
		if err := b.create(ctx, env, o.key); err != nil {
			return err
		}
	}
	data := []byte(o.val.Reveal())
	crc := crc32c(data)
	wait := b.backoff
	for i := 1; ; i++ {
		v, err := b.c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: name, Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &crc}})
		if err == nil {
			o.h = &head{exists: true, version: versionNumber(v.Name), enabled: true}
			return nil
		}
		if !transient(err) {
			return wrap("add version to", name, err)
		}
		// The version may have been added and only the answer lost:
		// look before adding another.
		// AddSecretVersion has no check-and-set, so it is made again only
		// when the key is seen still at the base: when it cannot be seen,
		// Push fails, and the next pull tells whether it was written.
		h, rerr := b.readHead(ctx, name, true)
		if rerr != nil {
			return wrap("add version to", name, err)
		}
		if h.enabled && h.version > o.base && bytes.Equal(h.data, data) {
			o.h = h
			return nil
		}
		if h.version != o.base {
			return fmt.Errorf("gcpsm: %s (%s): %w: it changed while being written", o.key, name, sync.ErrConflict)
		}
		if i >= b.attempts {
			return wrap("add version to", name, err)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return serr
		}
		wait *= 2
	}
}

// create makes key's secret with env's labels. A secret of that id that
// already exists is used only if it is labelled for this project and env.
func (b *Backend) create(ctx context.Context, env, key string) error {
	parent := "projects/" + b.project
	id := b.secretID(env, key)
	repl := &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
	if len(b.locations) > 0 {
		um := &secretmanagerpb.Replication_UserManaged{}
		for _, l := range b.locations {
			um.Replicas = append(um.Replicas, &secretmanagerpb.Replication_UserManaged_Replica{Location: l})
		}
		repl = &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_UserManaged_{UserManaged: um}}
	}
	sec := &secretmanagerpb.Secret{
		Replication: repl,
		Labels:      b.labels(env),
		Annotations: map[string]string{annotProject: b.hushProject, annotEnv: env, annotKey: key},
	}
	err := b.retry(ctx, func(ctx context.Context) error {
		_, err := b.c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: parent, SecretId: id, Secret: sec})
		return err
	})
	werr := wrap("create", parent+"/secrets/"+id, err)
	if !errors.Is(werr, store.ErrExists) {
		return werr
	}
	return b.claim(ctx, env, parent+"/secrets/"+id)
}

// claim refuses an existing secret that is not labelled for env of this
// project: hush never writes into another project's or tool's secret.
func (b *Backend) claim(ctx context.Context, env, name string) error {
	var got *secretmanagerpb.Secret
	err := b.retry(ctx, func(ctx context.Context) error {
		var err error
		got, err = b.c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
		return err
	})
	if err != nil {
		return wrap("read", name, err)
	}
	if !b.ours(env, got.Labels) {
		return fmt.Errorf("gcpsm: %s: %w: the secret exists and is not labelled for project %q, environment %q (another project with the same prefix, or made by hand? give this project a prefix of its own); nothing pushed", name, sync.ErrConflict, b.hushProject, env)
	}
	return nil
}

// disable disables the version o read, with its etag. A retry after a lost
// answer is refused by the etag the first call changed; the key is then
// read back, and a disabled newest version at o's base is success.
func (b *Backend) disable(ctx context.Context, name string, o *op) error {
	vname := fmt.Sprintf("%s/versions/%d", name, o.base)
	wait := b.backoff
	for i := 1; ; i++ {
		_, err := b.c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: vname, Etag: o.h.etag})
		if err == nil {
			return nil
		}
		werr := wrap("disable", vname, err)
		if !transient(err) && !errors.Is(werr, sync.ErrConflict) {
			return werr
		}
		h, rerr := b.readHead(ctx, name, false)
		if rerr == nil {
			if h.exists && h.version == o.base && !h.enabled {
				return nil
			}
			if !h.exists {
				o.gone = true
				return nil
			}
			if h.version != o.base || !transient(err) {
				return fmt.Errorf("gcpsm: %s (%s): %w: it changed while being deleted", o.key, name, sync.ErrConflict)
			}
		}
		if i >= b.attempts {
			return werr
		}
		if serr := sleep(ctx, wait); serr != nil {
			return serr
		}
		wait *= 2
	}
}

// result is the snapshot the remote holds after the answered ops.
func result(base *sync.Snapshot, ops []*op, answered []bool) *sync.Snapshot {
	out := sync.NewSnapshot()
	for k, v := range base.Values {
		out.Values[k] = v
	}
	for k, v := range base.Versions {
		out.Versions[k] = v
	}
	deleted := map[string]bool{}
	for _, k := range base.DeletedKeys {
		deleted[k] = true
	}
	for i, o := range ops {
		if !answered[i] {
			continue
		}
		switch {
		case o.del && o.gone:
			delete(out.Values, o.key)
			delete(out.Versions, o.key)
			delete(deleted, o.key)
		case o.del:
			delete(out.Values, o.key)
			deleted[o.key] = true
		default:
			out.Values[o.key] = o.val
			out.Versions[o.key] = o.h.version
			delete(deleted, o.key)
		}
	}
	for k := range deleted {
		out.DeletedKeys = append(out.DeletedKeys, k)
	}
	sort.Strings(out.DeletedKeys)
	for _, v := range out.Versions {
		out.Version += v
	}
	return out
}

// parallel runs f for 0…n-1, eight at a time, and returns the first error.
func parallel(ctx context.Context, n int, f func(context.Context, int) error) error {
	sem := make(chan struct{}, 8)
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	var first error
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return first
}
