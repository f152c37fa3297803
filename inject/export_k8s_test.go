package inject

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// base64Scalars are base64 texts YAML would read as something other than a
// string (YAML 1.1's booleans and null, numbers in every base): each is the
// base64 of three or six bytes, so a binary value exports as exactly that.
var base64Scalars = []string{
	"true", "True", "TRUE", "null", "Null", "NULL", "1234", "0777", "0000", "1e10", "1E10",
	"0x1F", "0o17", "+123", "12345678", "00000000", "1e100000",
}

// k8sValues are the values a k8s export must carry exactly: the nasty
// text ones, binary ones, and those whose base64 is a YAML non-string.
func k8sValues(t *testing.T) []Secret {
	t.Helper()
	values := append(append([]string{}, nastyValues...), injectionValues...)
	values = append(values, "", " ", "  leading", "trailing  ", "~", "yes", "no", "on", "off", "y", "n",
		"null", "Null", "NULL", "true", "False", "123", "-1", "0x10", "1e3", ".inf", "-.nan", "012",
		"2001-01-01", "12:30:00", "<<", "=", "? q", ": c", "- l", "|", ">", "@at", "`tick",
		"multi\nline\n\n", "\r\n", "\n\n\n", "\xff\xfe binary \x80", "\xc3\x28", "\xed\xa0\x80", strings.Repeat("x", 5000))
	for _, s := range base64Scalars {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%s is not base64: %v", s, err)
		}
		if base64.StdEncoding.EncodeToString(b) != s {
			t.Fatalf("%s does not come back from its bytes", s)
		}
		values = append(values, string(b))
	}
	var out []Secret
	for i, v := range values {
		if strings.IndexByte(v, 0) >= 0 {
			continue
		}
		out = append(out, Secret{Name: fmt.Sprintf("V_%03d", i), Value: NewValue(v)})
	}
	// Names YAML 1.1 reads as booleans or null, with values too.
	for _, n := range []string{"NO", "y", "Y", "yes", "true", "null", "Null", "ON", "off", "n"} {
		out = append(out, Secret{Name: n, Value: NewValue("name " + n)})
	}
	return out
}

// k8sNames are Secret names and namespaces (valid DNS names) that YAML
// reads as numbers, booleans or null.
var k8sNames = []string{"app", "true", "null", "yes", "on", "123", "1e3", "0x1f", "0777", "1-2"}

func exportK8sFile(t *testing.T, secrets []Secret, name, namespace string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, FormatK8s, secrets, ExportOptions{Name: name, Namespace: namespace}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkK8sJSON checks a Secret as JSON (what kubectl and the API server
// decode YAML into before the typed object): every name and value a
// string, every value's base64 the exact bytes, no key dropped.
func checkK8sJSON(t *testing.T, reader string, raw []byte, secrets []Secret, name, namespace string) {
	t.Helper()
	var doc struct {
		Metadata map[string]any `json:"metadata"`
		Data     map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v\n%s", reader, err, raw)
	}
	if doc.Metadata["name"] != name {
		t.Errorf("%s: name %#v, want %q", reader, doc.Metadata["name"], name)
	}
	if namespace != "" && doc.Metadata["namespace"] != namespace {
		t.Errorf("%s: namespace %#v, want %q", reader, doc.Metadata["namespace"], namespace)
	}
	for _, s := range secrets {
		v, ok := doc.Data[s.Name]
		str, isString := v.(string)
		if !ok || !isString {
			t.Errorf("%s: %s came back as %#v (present %v), want a base64 string", reader, s.Name, v, ok)
			continue
		}
		got, err := base64.StdEncoding.DecodeString(str)
		if err != nil || string(got) != s.Value.Reveal() {
			t.Errorf("%s: %s = %q (%v), want %q", reader, s.Name, got, err, s.Value.Reveal())
		}
	}
	if len(doc.Data) != len(secrets) {
		t.Errorf("%s: %d keys back, want %d", reader, len(doc.Data), len(secrets))
	}
}

// TestExportK8sRoundTrip reads the export back with the YAML readers of
// the Kubernetes toolchain (sigs.k8s.io/yaml, kubectl's and the API
// server's, YAML 1.1) and of Go (yaml.v3, YAML 1.2): every value comes back
// byte for byte, none is null or a number, no key is dropped. An empty
// value's base64 is empty, which unquoted YAML reads as null (kubectl
// apply then drops the key); a binary value's base64 can be "true" or
// "1234".
func TestExportK8sRoundTrip(t *testing.T) {
	t.Parallel()
	secrets := k8sValues(t)
	for _, name := range k8sNames {
		for _, ns := range []string{"", "prod", name} {
			out := exportK8sFile(t, secrets, name, ns)
			j, err := sigsyaml.YAMLToJSON(out)
			if err != nil {
				t.Fatalf("sigs.k8s.io/yaml: %v", err)
			}
			checkK8sJSON(t, "sigs.k8s.io/yaml", j, secrets, name, ns)
			var generic map[string]any
			if err := yaml.Unmarshal(out, &generic); err != nil {
				t.Fatalf("yaml.v3: %v", err)
			}
			j, err = json.Marshal(generic)
			if err != nil {
				t.Fatal(err)
			}
			checkK8sJSON(t, "yaml.v3", j, secrets, name, ns)
		}
	}
	// The typed decoding: data is map[string][]byte, base64 in JSON.
	j, err := sigsyaml.YAMLToJSON(exportK8sFile(t, secrets, "app", "prod"))
	if err != nil {
		t.Fatal(err)
	}
	var typed struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(j, &typed); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if v, ok := typed.Data[s.Name]; !ok || string(v) != s.Value.Reveal() {
			t.Errorf("typed: %s = %q (present %v)", s.Name, v, ok)
		}
	}
	// No secret: an empty data map, not a null.
	j, err = sigsyaml.YAMLToJSON(exportK8sFile(t, nil, "app", ""))
	if err != nil || !strings.Contains(string(j), `"data":{}`) {
		t.Errorf("empty export: %s (%v)", j, err)
	}
}

// TestExportK8sKubectl has kubectl itself read the export (client-side,
// no server: annotate --local prints the object as kubectl decoded it).
// The API server's own reading is in sync/k8s's TestExportApplied.
func TestExportK8sKubectl(t *testing.T) {
	t.Parallel()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but there is no kubectl on PATH")
		}
		t.Skip("no kubectl on PATH")
	}
	secrets := k8sValues(t)
	dir := t.TempDir()
	for i, name := range k8sNames {
		file := filepath.Join(dir, fmt.Sprintf("secret-%d.yaml", i))
		if err := os.WriteFile(file, exportK8sFile(t, secrets, name, name), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(kubectl, "annotate", "--local", "-f", file, "-o", "json", "checked=yes")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"), "HOME="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl: %v: %s", err, stderr.String())
		}
		checkK8sJSON(t, "kubectl", out, secrets, name, name)
	}
}
