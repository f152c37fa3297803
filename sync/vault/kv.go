package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
)

// record is one KV secret as read.
type record struct {
	data      map[string]any
	version   int
	deleted   bool // latest version deleted or destroyed
	destroyed bool
	exists    bool
}

func (v *Vault) dataPath(kv int, p string) string {
	if kv == 2 {
		return v.mount + "/data/" + p
	}
	return v.mount + "/" + p
}

func (v *Vault) metadataPath(kv int, p string) string {
	if kv == 2 {
		return v.mount + "/metadata/" + p
	}
	return v.mount + "/" + p
}

// readRecord reads one KV secret (one request, kvhttp.go). For KV v2 a
// deleted latest version comes back as a 404 whose body still carries the
// metadata: that is reported as deleted, not as missing.
func (v *Vault) readRecord(ctx context.Context, kv int, p string) (*record, error) {
	path := v.dataPath(kv, p)
	if kv == 1 {
		var a kvAnswer[map[string]any]
		found, err := kvCall(ctx, v, http.MethodGet, path, nil, nil, &a)
		if err != nil {
			return nil, v.wrap("read", path, err)
		}
		if !found || a.Data == nil {
			return &record{}, nil
		}
		noteID(ctx, p, a.RequestID)
		return &record{data: *a.Data, exists: true}, nil
	}
	var a kvAnswer[kvData2]
	found, err := kvCall(ctx, v, http.MethodGet, path, nil, nil, &a)
	if err != nil {
		return nil, v.wrap("read", path, err)
	}
	if !found || a.Data == nil {
		return &record{}, nil
	}
	noteID(ctx, p, a.RequestID)
	r := &record{exists: true}
	if md := a.Data.Metadata; md != nil {
		ver, _ := md.Version.Int64()
		r.version = int(ver)
		r.deleted, r.destroyed = md.DeletionTime != "" || md.Destroyed, md.Destroyed
	}
	if a.Data.Data != nil {
		r.data = a.Data.Data
	} else if !r.deleted {
		r.data = map[string]any{}
	}
	return r, nil
}

// text turns a field into a value: strings as they are, lists of strings
// one per line (a CA chain), anything else as JSON.
func text(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				b, _ := json.Marshal(t)
				return string(b)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n")
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// checkEntry refuses a remote key or value hush cannot hold, naming the
// key only.
func checkEntry(where, k, val string) error {
	if err := store.ValidKeyName(k); err != nil {
		return fmt.Errorf("vault: %s: %w", where, err)
	}
	if err := store.ValidValue(val); err != nil {
		return fmt.Errorf("vault: %s: %s: %w", where, k, err)
	}
	return nil
}

// checkText refuses, before anything is written, a value Vault cannot
// give back exactly: its API is JSON, whose strings are UTF-8, and bytes
// that are not would come back replaced.
func checkText(values map[string]store.Value) error {
	names := make([]string, 0, len(values))
	for k, val := range values {
		if !utf8.ValidString(val.Reveal()) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return fmt.Errorf("%w: vault: %s: the value is not valid UTF-8, which Vault's JSON API cannot store exactly; nothing pushed", store.ErrInvalid, strings.Join(names, ", "))
}

// locate is the mount's KV version and env's path in it.
func (v *Vault) locate(ctx context.Context, env string) (kv int, p string, err error) {
	if p, err = v.Path(env); err != nil {
		return 0, "", err
	}
	kv, err = v.KVVersion(ctx)
	if errors.Is(err, sync.ErrDenied) && v.mountGone(ctx, p) {
		return 0, "", fmt.Errorf("vault: %s: %w: no secrets engine is mounted there", v.mount, sync.ErrNoEngine)
	}
	return kv, p, err
}

// mountGone tells a mount that does not exist from one this token may not
// use: Vault answers both with the same 403 ("preflight capability
// check"), but a token whose policies grant it something on env's path
// would have passed that check had the mount existed.
func (v *Vault) mountGone(ctx context.Context, p string) bool {
	for _, path := range []string{v.mount + "/data/" + p, v.mount + "/" + p} {
		caps, err := v.client.capabilitiesSelf(ctx, path)
		if err != nil {
			return false
		}
		for _, c := range caps {
			if c != "deny" {
				return true
			}
		}
	}
	return false
}

// Pull reads env's snapshot in the configured layout.
func (v *Vault) Pull(ctx context.Context, env string) (*sync.Snapshot, error) {
	kv, p, err := v.locate(ctx, env)
	if err != nil {
		return nil, err
	}
	if v.layout == LayoutTree {
		return v.pullTree(ctx, kv, p)
	}
	r, err := v.readRecord(ctx, kv, p)
	if err != nil {
		return nil, err
	}
	snap := sync.NewSnapshot()
	snap.Version, snap.Deleted, snap.Destroyed, snap.Missing = r.version, r.deleted, r.destroyed, !r.exists
	for k, x := range r.data {
		val := text(x)
		if err := checkEntry(v.mount+"/"+p, k, val); err != nil {
			return nil, err
		}
		snap.Values[k] = store.Value(val)
	}
	return snap, nil
}

// list returns the leaf names under p (sub-folders, ending in "/", are
// not keys of this environment and are skipped).
func (v *Vault) list(ctx context.Context, kv int, p string) ([]string, error) {
	path := v.metadataPath(kv, p)
	var a kvAnswer[kvList]
	found, err := kvCall(ctx, v, http.MethodGet, path, url.Values{"list": {"true"}}, nil, &a)
	if err != nil {
		return nil, v.wrap("list", path, err)
	}
	var out []string
	if found {
		noteID(ctx, p, a.RequestID)
		if a.Data != nil {
			for _, k := range a.Data.Keys {
				if name, ok := k.(string); ok && !strings.HasSuffix(name, "/") {
					out = append(out, name)
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (v *Vault) pullTree(ctx context.Context, kv int, p string) (*sync.Snapshot, error) {
	names, err := v.list(ctx, kv, p)
	if err != nil {
		return nil, err
	}
	recs := make([]*record, len(names))
	err = parallel(ctx, len(names), func(ctx context.Context, i int) error {
		r, err := v.readRecord(ctx, kv, p+"/"+names[i])
		recs[i] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	snap := sync.NewSnapshot()
	// No key at all, not even a deleted one: the folder is gone whole.
	snap.Missing = len(names) == 0
	for i, k := range names {
		r := recs[i]
		if !r.exists {
			continue // removed between list and read
		}
		snap.Versions[k] = r.version
		snap.Version += r.version
		if r.deleted {
			snap.DeletedKeys = append(snap.DeletedKeys, k)
			continue
		}
		x, ok := r.data["value"]
		if !ok {
			return nil, fmt.Errorf("vault: %s/%s/%s has no field \"value\" (the tree layout keeps each key's value there)", v.mount, p, k)
		}
		val := text(x)
		if err := checkEntry(v.mount+"/"+p, k, val); err != nil {
			return nil, err
		}
		snap.Values[k] = store.Value(val)
	}
	return snap, nil
}

// Push applies plan with check-and-set (KV v2) or with a re-read just
// before writing (KV v1, which has no check-and-set: a write racing that
// window is not detected).
func (v *Vault) Push(ctx context.Context, env string, plan *sync.Plan) (*sync.Snapshot, error) {
	kv, p, err := v.locate(ctx, env)
	if err != nil {
		return nil, err
	}
	if plan.Empty() {
		return plan.Base, nil
	}
	if err := checkText(plan.Result()); err != nil {
		return nil, err
	}
	if v.layout == LayoutTree {
		return v.pushTree(ctx, kv, p, plan)
	}
	want := plan.Result()
	data := make(map[string]any, len(want))
	for k, val := range want {
		data[k] = val.Reveal()
	}
	out := sync.NewSnapshot()
	out.Values = want
	ver, err := v.writeRecord(ctx, kv, p, data, plan.Base.Version, plan.Base.Values)
	out.Version = ver
	return out, err
}

// writeRecord writes one KV secret if it is still at version base (v2) or
// still holds baseValues (v1), and returns the new version. When the write
// fails, the secret is read back: if it already holds exactly data at a
// newer version, the write was committed and only its answer was lost
// (a retry of it then failed the check-and-set), so it is a success.
func (v *Vault) writeRecord(ctx context.Context, kv int, p string, data map[string]any, base int, baseValues map[string]store.Value) (int, error) {
	path := v.dataPath(kv, p)
	if kv == 1 {
		cur, err := v.readRecord(ctx, kv, p)
		if err != nil {
			return 0, err
		}
		if !sameData(cur.data, baseValues) {
			return 0, fmt.Errorf("vault: write %s: %w: it changed since it was read", path, sync.ErrConflict)
		}
		body, err := json.Marshal(data)
		if err != nil {
			return 0, fmt.Errorf("vault: write %s: %w", path, err)
		}
		var a kvAnswer[struct{}]
		if _, err := kvCall(ctx, v, http.MethodPut, path, nil, body, &a); err != nil {
			return 0, v.wrap("write", path, err)
		}
		noteID(ctx, p, a.RequestID)
		return 0, nil
	}
	body, err := json.Marshal(casWrite{Data: data, Options: casOptions{CAS: base}})
	if err != nil {
		return 0, fmt.Errorf("vault: write %s: %w", path, err)
	}
	var a kvAnswer[kvWritten]
	_, err = kvCall(ctx, v, http.MethodPut, path, nil, body, &a)
	if err == nil {
		noteID(ctx, p, a.RequestID)
		ver := 0
		if a.Data != nil {
			n, _ := a.Data.Version.Int64()
			ver = int(n)
		}
		return ver, nil
	}
	werr := v.wrap("write", path, err)
	if errors.Is(werr, context.Canceled) {
		return 0, werr
	}
	cur, rerr := v.readRecord(ctx, kv, p)
	if rerr == nil && cur.exists && !cur.deleted && cur.version > base && sameAny(cur.data, data) {
		return cur.version, nil
	}
	return 0, werr
}

// casWrite is a KV v2 write's body, checked against version CAS (0: the
// secret must not exist yet).
type casWrite struct {
	Data    map[string]any `json:"data"`
	Options casOptions     `json:"options"`
}

type casOptions struct {
	CAS int `json:"cas"`
}

func sameData(got map[string]any, want map[string]store.Value) bool {
	if len(got) != len(want) {
		return false
	}
	for k, x := range got {
		w, ok := want[k]
		if !ok || text(x) != w.Reveal() {
			return false
		}
	}
	return true
}

func sameAny(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, x := range got {
		w, ok := want[k]
		if !ok || text(x) != text(w) {
			return false
		}
	}
	return true
}

// pushTree writes each changed key as its own secret, checked against the
// version read, and deletes removed keys' read versions only (so a newer
// value written meanwhile survives). A push cut off halfway leaves some
// keys written; the next pull sees them equal on both sides and the next
// push writes the rest.
func (v *Vault) pushTree(ctx context.Context, kv int, p string, plan *sync.Plan) (*sync.Snapshot, error) {
	type op struct {
		key string
		val store.Value
		del bool
	}
	var ops []op
	for k, val := range plan.Set {
		ops = append(ops, op{key: k, val: val})
	}
	for _, k := range plan.Delete {
		ops = append(ops, op{key: k, del: true})
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].key < ops[j].key })
	vers := make([]int, len(ops))
	done := make([]bool, len(ops)) // answered by Vault: written (or deleted)
	err := parallel(ctx, len(ops), func(ctx context.Context, i int) error {
		o := ops[i]
		base := plan.Base.Versions[o.key]
		if o.del {
			// Deleting the version read would leave a newer one standing
			// and report the key gone: a newer version is a conflict. (A
			// write between this read and the delete is not detected.)
			if kv == 2 {
				cur, err := v.readRecord(ctx, kv, p+"/"+o.key)
				if err != nil {
					return err
				}
				if cur.exists && cur.version != base {
					return fmt.Errorf("vault: delete %s/%s: %w: it changed since it was read", p, o.key, sync.ErrConflict)
				}
			}
			if err := v.deleteVersion(ctx, kv, p+"/"+o.key, base); err != nil {
				return err
			}
			done[i] = true
			return nil
		}
		var baseValues map[string]store.Value
		if bv, ok := plan.Base.Values[o.key]; ok {
			baseValues = map[string]store.Value{"value": bv}
		}
		ver, err := v.writeRecord(ctx, kv, p+"/"+o.key, map[string]any{"value": o.val.Reveal()}, base, baseValues)
		if err != nil {
			return err
		}
		vers[i], done[i] = ver, true
		return nil
	})
	// The snapshot the remote now holds: the base, with the changes Vault
	// confirmed (all of them, unless err).
	out := sync.NewSnapshot()
	for k, val := range plan.Base.Values {
		out.Values[k] = val
	}
	for k, ver := range plan.Base.Versions {
		out.Versions[k] = ver
	}
	var set, deleted []string
	for i, o := range ops {
		switch {
		case !done[i]:
		case o.del:
			delete(out.Values, o.key)
			deleted = append(deleted, o.key)
		default:
			out.Values[o.key] = o.val
			out.Versions[o.key] = vers[i]
			set = append(set, o.key)
		}
	}
	for _, ver := range out.Versions {
		out.Version += ver
	}
	if err != nil {
		if len(set)+len(deleted) == 0 {
			return nil, err
		}
		return nil, &sync.PartialError{Err: err, Written: out, Set: set, Deleted: deleted, Planned: len(ops)}
	}
	return out, nil
}

// deleteVersion soft-deletes exactly the version read (KV v2), or the key
// (KV v1).
func (v *Vault) deleteVersion(ctx context.Context, kv int, p string, version int) error {
	var err error
	var a kvAnswer[struct{}]
	path := v.mount + "/delete/" + p
	if kv == 1 {
		path = v.dataPath(kv, p)
		_, err = kvCall(ctx, v, http.MethodDelete, path, nil, nil, &a)
	} else {
		body, _ := json.Marshal(map[string][]int{"versions": {version}})
		_, err = kvCall(ctx, v, http.MethodPut, path, nil, body, &a)
	}
	if err != nil {
		return v.wrap("delete", path, err)
	}
	noteID(ctx, p, a.RequestID) // Vault answers a deletion with no body: usually nothing
	return nil
}
