package scan

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tarOf is a tar of the given members (name → content; a name ending in
// "/" is a directory).
func tarOf(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		hdr := &tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(m[0], "/") {
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func scanOne(t *testing.T, path string) ([]Finding, error) {
	t.Helper()
	return newTestScanner(t, Config{}).ScanPaths(context.Background(), path)
}

// where lists findings as "FILE|NOTE" for comparison.
func where(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.File+"|"+f.Note)
	}
	return out
}

func TestArchivesAreOpened(t *testing.T) {
	t.Parallel()
	key := fakeToken(t, "github-pat", 1)
	other := fakeToken(t, "stripe-secret-key", 2)
	props := "db.user=app\ngithub.token=" + key + "\n"
	jar := zipOf(t, [2]string{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"}, [2]string{"config/app.properties", props})
	war := zipOf(t, [2]string{"WEB-INF/lib/app.jar", string(jar)}, [2]string{"index.html", "<p>hi</p>"})
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"app.jar":      jar,
		"site.war":     war,
		"bundle.tgz":   gzipOf(t, tarOf(t, [2]string{"./etc/", ""}, [2]string{"./etc/app.env", "STRIPE=" + other + "\n"})),
		"plain.tar":    tarOf(t, [2]string{"notes.txt", "token " + key + "\n"}),
		"renamed.dat":  jar, // judged by its bytes, not its name
		"app.log.gz":   gzipOf(t, []byte("2026-12-01T10:00:00Z INFO login with "+other+"\n")),
		"clean.tar.gz": gzipOf(t, tarOf(t, [2]string{"README", "nothing here\n"})),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := scanOne(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(where(fs), "\n")
	for _, want := range []string{
		dir + "/app.jar!config/app.properties|",
		dir + "/site.war!WEB-INF/lib/app.jar!config/app.properties|",
		dir + "/bundle.tgz!etc/app.env|",
		dir + "/plain.tar!notes.txt|",
		dir + "/renamed.dat!config/app.properties|",
		dir + "/app.log.gz|",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no finding in %s; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "clean.tar.gz") {
		t.Errorf("a finding in a clean archive:\n%s", got)
	}
	for _, f := range fs {
		if f.File == dir+"/app.jar!config/app.properties" && (f.Line != 2 || f.Column != 14) {
			t.Errorf("position in a member: %d:%d, want 2:14", f.Line, f.Column)
		}
	}
	assertNoSecret(t, got, key, other)
}

// A decompression bomb is cut at the budget with an error, not scanned
// forever, and what came before is still reported.
func TestArchiveBombStops(t *testing.T) {
	t.Parallel()
	key := fakeToken(t, "github-pat", 3)
	var raw bytes.Buffer
	zw := gzip.NewWriter(&raw)
	tw := tar.NewWriter(zw)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	add("first.env", []byte("TOKEN="+key+"\n"))
	zeros := make([]byte, 1<<20)
	for i := range 400 { // 400 MiB of zeros in about 400 KiB
		add("zeros/"+strings.Repeat("z", i%50+1), zeros)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "bomb.tar.gz")
	if err := os.WriteFile(path, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := scanOne(t, path)
	if !errors.Is(err, errExpands) {
		t.Fatalf("err = %v, want the budget's error", err)
	}
	if len(fs) != 1 || fs[0].File != path+"!first.env" {
		t.Fatalf("findings before the cut: %v", where(fs))
	}
}

// digestOf is an OCI digest and the blob's name.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// image builds an image of three layers: the first plants a key in
// /app/.env and a config, the second deletes .env with a whiteout and
// empties /cache with an opaque whiteout, the third replaces the config.
func imageLayersFor(t *testing.T, key, other string) [][]byte {
	t.Helper()
	return [][]byte{
		gzipOf(t, tarOf(t, [2]string{"app/", ""}, [2]string{"app/.env", "TOKEN=" + key + "\n"},
			[2]string{"app/config.yml", "stripe: " + other + "\n"}, [2]string{"cache/old.txt", "gh " + key + "\n"},
			[2]string{"bin/tool.txt", "kept " + other + "\n"})),
		gzipOf(t, tarOf(t, [2]string{"app/.wh..env", ""}, [2]string{"cache/.wh..wh..opq", ""})),
		tarOf(t, [2]string{"app/config.yml", "stripe: from-the-environment\n"}), // an uncompressed layer
	}
}

// wantImageFindings checks the notes of imageLayersFor's findings.
func wantImageFindings(t *testing.T, fs []Finding, prefix string) {
	t.Helper()
	notes := map[string]string{}
	for _, f := range fs {
		_, member, _ := strings.Cut(f.File, "!layer 1 (sha256:")
		if member == "" {
			t.Errorf("a finding outside layer 1: %s", f.File)
			continue
		}
		if !strings.HasPrefix(f.File, prefix) {
			t.Errorf("finding %s not named after the image %s", f.File, prefix)
		}
		notes[member[strings.Index(member, "!")+1:]] = f.Note
	}
	for path, want := range map[string]string{
		"app/.env":       "deleted by layer 2",
		"cache/old.txt":  "hidden by layer 2",
		"app/config.yml": "replaced by layer 3",
		"bin/tool.txt":   "",
	} {
		got, ok := notes[path]
		if !ok {
			t.Errorf("no finding in %s (notes %v)", path, notes)
			continue
		}
		if want == "" && got != "" || !strings.HasPrefix(got, want) {
			t.Errorf("%s: note %q, want %q…", path, got, want)
		}
	}
}

func TestOCILayoutLayerByLayer(t *testing.T) {
	t.Parallel()
	key, other := fakeToken(t, "github-pat", 4), fakeToken(t, "stripe-secret-key", 5)
	dir := filepath.Join(t.TempDir(), "img")
	write := func(name string, b []byte) {
		writeFile(t, filepath.Join(dir, name), string(b))
	}
	var layers []map[string]string
	for i, l := range imageLayersFor(t, key, other) {
		d := digestOf(l)
		write("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), l)
		mt := "application/vnd.oci.image.layer.v1.tar+gzip"
		if i == 2 {
			mt = "application/vnd.oci.image.layer.v1.tar"
		}
		layers = append(layers, map[string]string{"mediaType": mt, "digest": d})
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": layers})
	md := digestOf(manifest)
	write("blobs/sha256/"+strings.TrimPrefix(md, "sha256:"), manifest)
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []map[string]string{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md}}})
	write("index.json", index)
	write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))

	fs, err := scanOne(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	wantImageFindings(t, fs, dir+"!layer 1 (sha256:")
	// Inside a directory tree, the layout is still one image.
	fs, err = scanOne(t, filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	wantImageFindings(t, fs, dir+"!layer 1 (sha256:")
}

func TestDockerSaveLayerByLayer(t *testing.T) {
	t.Parallel()
	key, other := fakeToken(t, "github-pat", 6), fakeToken(t, "stripe-secret-key", 7)
	var members [][2]string
	var names []string
	for i, l := range imageLayersFor(t, key, other) {
		name := []string{"aaa", "bbb", "ccc"}[i] + "/layer.tar"
		members = append(members, [2]string{name, string(l)})
		names = append(names, name)
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": "cfg.json", "RepoTags": []string{"app:1"}, "Layers": names}})
	members = append(members, [2]string{"manifest.json", string(manifest)}, [2]string{"cfg.json", "{}"})
	path := filepath.Join(t.TempDir(), "app.tar")
	if err := os.WriteFile(path, tarOf(t, members...), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := scanOne(t, path)
	if err != nil {
		t.Fatal(err)
	}
	// Classic docker save names layers by directory.
	for i := range fs {
		fs[i].File = strings.Replace(fs[i].File, "!layer 1 (aaa)", "!layer 1 (sha256:aaa)", 1)
	}
	wantImageFindings(t, fs, path+"!layer 1 (sha256:aaa)")
}

// A credential compiled into a program is found in its strings.
func TestCompiledProgramStrings(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	key := fakeToken(t, "github-pat", 8)
	dir := t.TempDir()
	writeFile(t, dir+"/main.go", "package main\n\nvar token = \"\"\n\nfunc main() { println(len(token)) }\n")
	writeFile(t, dir+"/go.mod", "module example.test/prog\n\ngo 1.22\n")
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.token="+key, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fs, err := scanOne(t, bin)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		if f.Rule == "github-pat" && strings.HasPrefix(f.Note, "in the program's strings, at byte ") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the compiled-in token was not found: %v", where(fs))
	}
}

func TestStringsReader(t *testing.T) {
	t.Parallel()
	in := []byte("\x00\x01short\x00a-long-enough-run\x02\x03tab\there too\xff")
	sr := &stringsReader{r: bufioReader(in)}
	var out bytes.Buffer
	if _, err := out.ReadFrom(sr); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "a-long-enough-run\ntab\there too\n"; got != want {
		t.Fatalf("strings = %q, want %q", got, want)
	}
	if len(sr.offsets) != 2 || sr.offsets[0] != 8 || sr.offsets[1] != 27 {
		t.Fatalf("offsets = %v, want [8 27]", sr.offsets)
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// A line far longer than lookBack (a base64 blob, minified code) is cut in
// chunks for the rules' expressions: a token anywhere on it, across a chunk's
// edge too, is found exactly as on a line of its own, and once.
func TestLongLineChunks(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	filler := strings.Repeat("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", 600)
	for _, rule := range []string{"github-pat", "stripe-secret-key", "aws-access-key-id"} {
		tok := fakeToken(t, rule, 9)
		for _, at := range []int{0, 100, lookBack - 10, lookBack - 1, lookBack, 2*lookBack - 3, 5*lookBack + 7, len(filler) - 1} {
			line := filler[:at] + " " + tok + " " + filler[at:]
			fs, err := s.ScanReader(context.Background(), "blob.txt", strings.NewReader("x\n"+line+"\ny\n"))
			if err != nil {
				t.Fatal(err)
			}
			var hits []Finding
			for _, f := range fs {
				if f.Rule == rule {
					hits = append(hits, f)
				}
			}
			if len(hits) != 1 || hits[0].Line != 2 || hits[0].Column != at+2 {
				t.Errorf("%s at %d on a %d-byte line: %v", rule, at, len(line), where(hits))
			}
		}
	}
}

// A line longer than the scanner's buffer: tokens past the first buffer are
// found too, each once.
func TestLineLongerThanTheBuffer(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	filler := strings.Repeat("qwertyuiop0123456789/", 130_000) // 2.7 MB, one line
	toks := map[int]string{}
	line := filler
	for i, at := range []int{2_600_000, 2*1<<20 + 5, 1<<20 + 17, 1<<20 - 30, 500_000} {
		tok := fakeToken(t, "github-pat", uint64(20+i))
		toks[at] = tok
		line = line[:at] + " " + tok + " " + line[at:]
	}
	fs, err := s.ScanReader(context.Background(), "blob.txt", strings.NewReader(line+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, f := range fs {
		if f.Rule == "github-pat" {
			got = append(got, f.Column)
		}
	}
	if len(got) != len(toks) {
		t.Fatalf("found %d of %d tokens on a 2.7 MB line: columns %v", len(got), len(toks), got)
	}
}

// A hostile OCI layout: an index naming one nested index a thousand
// times, four levels deep (10^12 walks if each descriptor were followed),
// over a manifest whose layer holds a credential. Each manifest is read
// once, so the scan ends, and finds it; a layout with more manifests than
// any real image is refused with an error rather than walked.
func TestOCIIndexAmplification(t *testing.T) {
	t.Parallel()
	key, other := fakeToken(t, "github-pat", 9), fakeToken(t, "stripe-secret-key", 10)
	dir := filepath.Join(t.TempDir(), "img")
	write := func(name string, b []byte) { writeFile(t, filepath.Join(dir, name), string(b)) }
	blob := func(b []byte) string {
		d := digestOf(b)
		write("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), b)
		return d
	}
	var layers []map[string]string
	for _, l := range imageLayersFor(t, key, other) {
		layers = append(layers, map[string]string{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(l)})
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "layers": layers})
	d := blob(manifest)
	repeat := func(d string, n int) []byte {
		ds := make([]map[string]string, n)
		for i := range ds {
			ds[i] = map[string]string{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d}
		}
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": ds})
		return b
	}
	for range 3 {
		d = blob(repeat(d, 1000))
	}
	write("index.json", repeat(d, 1000))
	write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	fs, err := scanOne(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	wantImageFindings(t, fs, dir+"!layer 1 (sha256:")

	// Many distinct manifests: refused, with an error naming the bound.
	many := filepath.Join(t.TempDir(), "many")
	dir = many
	var ds []map[string]string
	for i := range 1025 {
		m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "layers": []map[string]string{}, "annotations": map[string]string{"n": fmt.Sprint(i)}})
		ds = append(ds, map[string]string{"digest": blob(m)})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": ds})
	write("index.json", idx)
	write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	if _, err := scanOne(t, many); err == nil || !strings.Contains(err.Error(), "not scanned") {
		t.Fatalf("a layout of many manifests: %v", err)
	}
}
