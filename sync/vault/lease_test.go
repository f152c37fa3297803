package vault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// PKI enables a pki engine issuing leased certificates for *.test.local
// and returns its mount.
func PKI(t testing.TB, srv *vaulttest.Server) string {
	t.Helper()
	mount := "pki-" + strings.TrimPrefix(srv.Mount(t, 2), "kv2-")
	c := srv.Client(t)
	if err := c.Sys().Mount(mount, &vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write(mount+"/root/generate/internal", map[string]any{"common_name": "test.local", "ttl": "24h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write(mount+"/roles/app", map[string]any{
		"allowed_domains": "test.local", "allow_subdomains": true, "generate_lease": true, "max_ttl": "1h", "key_type": "ec",
	}); err != nil {
		t.Fatal(err)
	}
	return mount
}

func TestLeasePKI(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	mount := PKI(t, srv)
	v := newVault(t, srv, "secret", setup{})
	ctx := context.Background()
	l, err := v.Lease(ctx, mount+"/issue/app", map[string]string{"common_name": "a.test.local", "ttl": "10m"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.ID, mount+"/issue/app/") || l.Duration <= 0 {
		t.Errorf("lease %q for %v", l.ID, l.Duration)
	}
	for _, f := range []string{"certificate", "private_key", "issuing_ca", "serial_number"} {
		if l.Fields[f] == "" {
			t.Errorf("no field %s", f)
		}
	}
	if !strings.Contains(l.Fields["certificate"].Reveal(), "BEGIN CERTIFICATE") || !strings.Contains(l.Fields["ca_chain"].Reveal(), "BEGIN CERTIFICATE") {
		t.Errorf("certificate fields not PEM text")
	}
	root := srv.Client(t).Logical()
	if _, err := root.Write("sys/leases/lookup", map[string]any{"lease_id": l.ID}); err != nil {
		t.Fatalf("lease not there after issue: %v", err)
	}
	// PKI leases are not renewable: Vault refuses, and says so.
	if l.Renewable {
		t.Error("pki lease reported renewable")
	}
	if _, err := v.Renew(ctx, l.ID, time.Minute); err == nil || !strings.Contains(err.Error(), "renew lease "+mount+"/issue/app") {
		t.Errorf("renew of a non-renewable lease: %v", err)
	}
	if err := v.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Write("sys/leases/lookup", map[string]any{"lease_id": l.ID}); err == nil {
		t.Error("lease still there after revoke")
	}
	// Revoking again is not an error.
	if err := v.Revoke(ctx, l.ID); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	// A static secret is not a lease.
	kv := srv.Mount(t, 1)
	root.Write(kv+"/static", map[string]any{"a": "b"})
	if _, err := v.Lease(ctx, kv+"/static", nil); err == nil || !strings.Contains(err.Error(), "no lease") {
		t.Errorf("static secret as lease: %v", err)
	}
}

func TestReadField(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	m2, m1 := srv.Mount(t, 2), srv.Mount(t, 1)
	root := srv.Client(t).Logical()
	root.Write(m2+"/data/app/db", map[string]any{"data": map[string]any{"password": "p2"}})
	root.Write(m1+"/app/db", map[string]any{"password": "p1"})
	v := newVault(t, srv, "secret", setup{})
	ctx := context.Background()
	for mount, want := range map[string]string{m2: "p2", m1: "p1"} {
		got, err := v.ReadField(ctx, mount+"/app/db", "password")
		if err != nil || got.Reveal() != want {
			t.Errorf("%s: %q %v", mount, got.Reveal(), err)
		}
	}
	if _, err := v.ReadField(ctx, m2+"/app/db", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing field: %v", err)
	}
	if _, err := v.ReadField(ctx, m2+"/app/none", "password"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing secret: %v", err)
	}
}

// vault://MOUNT/PATH?version=N#FIELD reads KV v2 version N; a version that
// does not exist, or was deleted or destroyed, is not found (exit 3); a KV
// v1 mount, which keeps no versions, and a version that is not a number
// are refused, each with a message saying why.
func TestReadFieldVersion(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Shared(t)
	m2, m1 := srv.Mount(t, 2), srv.Mount(t, 1)
	root := srv.Client(t).Logical()
	for _, pw := range []string{"first", "second", "third", "fourth"} {
		if _, err := root.Write(m2+"/data/app/db", map[string]any{"data": map[string]any{"password": pw}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.Write(m2+"/delete/app/db", map[string]any{"versions": []int{2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Write(m2+"/destroy/app/db", map[string]any{"versions": []int{3}}); err != nil {
		t.Fatal(err)
	}
	root.Write(m1+"/app/db", map[string]any{"password": "p1"})
	v := newVault(t, srv, "secret", setup{})
	ctx := context.Background()
	for ver, want := range map[string]string{"1": "first", "4": "fourth", "": "fourth"} {
		var params map[string]string
		if ver != "" {
			params = map[string]string{"version": ver}
		}
		got, err := v.ReadFieldWith(ctx, m2+"/app/db", "password", params)
		if err != nil || got.Reveal() != want {
			t.Errorf("version %q: %q %v", ver, got.Reveal(), err)
		}
	}
	for ver, msg := range map[string]string{"5": "has no version 5", "99": "has no version 99", "2": "version 2 is deleted", "3": "version 3 is destroyed"} {
		_, err := v.ReadFieldWith(ctx, m2+"/app/db", "password", map[string]string{"version": ver})
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), msg) {
			t.Errorf("version %s: %v", ver, err)
		}
	}
	for _, c := range []struct{ path, k, x, msg string }{
		{m1 + "/app/db", "version", "1", "is a KV version 1 mount, which keeps no versions"},
		{m2 + "/app/db", "version", "0", "want a version number"},
		{m2 + "/app/db", "version", "-1", "want a version number"},
		{m2 + "/app/db", "version", "01", "want a version number"},
		{m2 + "/app/db", "version", "latest", "want a version number"},
		{m2 + "/app/db", "ttl", "1h", "takes no parameter but ?version=N"},
	} {
		_, err := v.ReadFieldWith(ctx, c.path, "password", map[string]string{c.k: c.x})
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("?%s=%s on %s: %v", c.k, c.x, c.path, err)
		}
	}
}
