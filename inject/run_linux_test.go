package inject

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRunDescriptors: a supervised child gets descriptors 0–2 and its secret
// file, not one hush holds without close-on-exec.
func TestRunDescriptors(t *testing.T) {
	t.Parallel()
	marker, err := os.Create(filepath.Join(t.TempDir(), "leak-marker"))
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	// dup gives a descriptor without close-on-exec, as one inherited from
	// hush's parent would be.
	leak, err := syscall.Dup(int(marker.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	sf, err := NewSecretFile("FAKE_CERT", NewValue("fake-cert"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	var out bytes.Buffer
	spec := childSpec(t, "fds")
	spec.Stdout, spec.Files = &out, []*SecretFile{sf}
	if code, err := Run(context.Background(), spec); code != 0 || err != nil {
		t.Fatalf("%d, %v", code, err)
	}
	if strings.Contains(out.String(), "leak-marker") {
		t.Errorf("a descriptor leaked to the child:\n%s", out.String())
	}
	fd := strings.TrimPrefix(sf.Path(), "/dev/fd/")
	if !strings.Contains(out.String(), "\n"+fd+" /memfd:hush-FAKE_CERT (deleted)\n") {
		t.Errorf("memfd not at descriptor %s in the child:\n%s", fd, out.String())
	}
}

func TestSecretFileMemfd(t *testing.T) {
	t.Parallel()
	sf, err := NewSecretFile("FAKE_KEY", NewValue("fake-key\nline two\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	var out bytes.Buffer
	spec := childSpec(t, "readfile:"+sf.Path())
	spec.Stdout, spec.Files = &out, []*SecretFile{sf}
	if code, err := Run(context.Background(), spec); code != 0 || err != nil {
		t.Fatalf("%d, %v; %s", code, err, out.String())
	}
	want := "content=\"fake-key\\nline two\\n\"\ncontent=\"fake-key\\nline two\\n\"\nwrite error=true\n"
	if out.String() != want {
		t.Errorf("child saw %q, want %q", out.String(), want)
	}
	if !sf.Rereadable() {
		t.Error("memfd not re-readable")
	}
	std := Spec{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Files: []*SecretFile{sf}}
	if !mayExec(std) {
		t.Error("a memfd needs no hush: exec refused")
	}
	m, _ := NewMasker(nil)
	if std.Mask = m; mayExec(std) {
		t.Error("masking needs hush, exec allowed")
	}
	if std.Mask, std.Stay = nil, true; mayExec(std) {
		t.Error("Stay ignored")
	}
}

// TestRunExecDescriptors: the same when hush execs. The test hands hush a
// descriptor without close-on-exec (its fd 3), as a careless parent would.
func TestRunExecDescriptors(t *testing.T) {
	t.Parallel()
	marker, err := os.Create(filepath.Join(t.TempDir(), "leak-marker"))
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	cmd := exec.Command(self(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), helperEnv + "=hush:fds"}
	cmd.ExtraFiles = []*os.File{marker}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "leak-marker") || !strings.Contains(string(out), "\n2 ") {
		t.Errorf("child's descriptors:\n%s", out)
	}
}
