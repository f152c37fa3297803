package k8s

import (
	"bytes"
	"testing"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/store"
)

// exportManifest is hush export --format k8s of values.
func exportManifest(t *testing.T, name, ns string, values map[string]store.Value) []byte {
	t.Helper()
	var secrets []inject.Secret
	for k, v := range values {
		secrets = append(secrets, inject.Secret{Name: k, Value: inject.NewValue(v.Reveal())})
	}
	var buf bytes.Buffer
	if err := inject.Export(&buf, inject.FormatK8s, secrets, inject.ExportOptions{Name: name, Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
