package scan

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Container images, layer by layer. An image is a stack of layers (tar
// archives, usually gzip'd); a later layer deletes a lower layer's file
// with a whiteout (.wh.NAME, or .wh..wh..opq for a whole directory) or
// replaces it, but the lower layer's blob still ships with the image and
// gives the file back to anyone who unpacks it. So every layer is scanned,
// and a finding in a file the final file system no longer shows says so
// (Note) rather than being dropped: deleting a key in a later layer is the
// classic way images leak.
//
// Read: `docker save` tarballs (manifest.json, the classic layout and the
// OCI one Docker 25 writes), OCI image layouts as a directory (oci-layout,
// index.json, blobs/) or in a tar, multi-platform indexes (every platform).
// Layers compressed with zstd are reported, not scanned.

// ociDescriptor is the part of an OCI descriptor hush uses.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// ociManifest is an image manifest or an image index.
type ociManifest struct {
	MediaType string          `json:"mediaType"`
	Manifests []ociDescriptor `json:"manifests"` // an index
	Layers    []ociDescriptor `json:"layers"`    // a manifest
}

// dockerManifest is one image of a docker save tarball's manifest.json.
type dockerManifest struct {
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// imageSource opens the files of an image by name: members of a tarball,
// or files of an OCI layout directory.
type imageSource interface {
	open(name string) (io.Reader, int64, bool)
}

// layerRef is one layer of one image, in stack order.
type layerRef struct {
	file  string // its name in the source
	label string // digest or file, for findings' names
}

// maxManifestSize bounds the JSON documents of an image.
const maxManifestSize = 4 << 20

// maxImages and maxLayers bound what a hostile image's manifests can make
// hush walk: an index naming one nested index a thousand times, four deep,
// would otherwise be 10^12 manifests to decode, and a stack listing one
// layer 100,000 times is quadratic to resolve. Real images are far below
// both (Docker refuses more than 127 layers).
const (
	maxImages = 1024
	maxLayers = 1024
)

var errTooMany = fmt.Errorf("more than %d images or %d layers in one image; not scanned", maxImages, maxLayers)

// imageLayers lists the layer stacks of the images in src: docker's
// manifest.json when present, else the OCI index. ok is false when src is
// not an image.
func imageLayers(src imageSource) (stacks [][]layerRef, ok bool, err error) {
	if r, _, found := src.open("manifest.json"); found {
		var ms []dockerManifest
		if err := decodeManifest(r, &ms); err == nil && len(ms) > 0 {
			if len(ms) > maxImages {
				return nil, true, errTooMany
			}
			for _, m := range ms {
				if len(m.Layers) > maxLayers {
					return nil, true, errTooMany
				}
				var stack []layerRef
				for _, l := range m.Layers {
					stack = append(stack, layerRef{file: cleanMember(l), label: layerLabel(l)})
				}
				stacks = append(stacks, stack)
			}
			return stacks, true, nil
		}
	}
	if _, _, found := src.open("oci-layout"); !found {
		return nil, false, nil
	}
	r, _, found := src.open("index.json")
	if !found {
		return nil, false, nil
	}
	var index ociManifest
	if err := decodeManifest(r, &index); err != nil {
		return nil, true, fmt.Errorf("index.json: %w", err)
	}
	// Each manifest or index blob is read once, however many descriptors
	// name it, and the walk stops at maxImages of them.
	visited := map[string]bool{}
	var walk func(ds []ociDescriptor, depth int) error
	walk = func(ds []ociDescriptor, depth int) error {
		if depth > 4 {
			return errors.New("image indexes nested too deep")
		}
		for _, d := range ds {
			blob, ok := blobPath(d.Digest)
			if !ok {
				return fmt.Errorf("a manifest digest %q that is not sha256/sha512 hex", d.Digest)
			}
			if visited[blob] {
				continue
			}
			if visited[blob] = true; len(visited) > maxImages {
				return errTooMany
			}
			r, _, found := src.open(blob)
			if !found {
				continue // a platform left out of this layout
			}
			var m ociManifest
			if err := decodeManifest(r, &m); err != nil {
				return fmt.Errorf("%s: %w", blob, err)
			}
			if len(m.Manifests) > 0 {
				if err := walk(m.Manifests, depth+1); err != nil {
					return err
				}
				continue
			}
			if len(m.Layers) > maxLayers {
				return errTooMany
			}
			var stack []layerRef
			for _, l := range m.Layers {
				file, ok := blobPath(l.Digest)
				if !ok {
					return fmt.Errorf("a layer digest %q that is not sha256/sha512 hex", l.Digest)
				}
				if strings.Contains(l.MediaType, "zstd") {
					file = "zstd:" + file
				}
				stack = append(stack, layerRef{file: file, label: layerLabel(l.Digest)})
			}
			stacks = append(stacks, stack)
		}
		return nil
	}
	return stacks, true, walk(index.Manifests, 0)
}

// decodeManifest reads one JSON document of an image and closes it: a
// layout naming a thousand manifests must not hold a thousand files open
// (an open that then fails would read as a platform left out).
func decodeManifest(r io.Reader, v any) error {
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	return json.NewDecoder(io.LimitReader(r, maxManifestSize)).Decode(v)
}

// blobPath is where an OCI layout keeps the blob of digest.
func blobPath(digest string) (string, bool) {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || (alg != "sha256" && alg != "sha512") || hex == "" {
		return "", false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return "blobs/" + alg + "/" + hex, true
}

// layerLabel shortens a digest or a layer's file name for findings.
func layerLabel(s string) string {
	if strings.HasPrefix(s, "blobs/") {
		s = strings.Replace(strings.TrimPrefix(s, "blobs/"), "/", ":", 1)
	}
	if alg, hex, ok := strings.Cut(s, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return strings.TrimSuffix(s, "/layer.tar")
}

// layerScan is what one layer holds: its findings by member, its files,
// its whiteouts and opaque directories.
type layerScan struct {
	members  []member
	files    map[string]bool
	whiteout map[string]bool // paths deleted from the layers below
	opaque   map[string]bool // directories emptied of the layers below
	err      error
}

// scanImage scans every layer of every image in src, each layer once,
// naming findings IMAGE!layer N (DIGEST)!PATH and noting a file the final
// file system does not show.
func (s *Scanner) scanImage(ctx context.Context, name string, src imageSource, stacks [][]layerRef, depth int, b *budget) ([]Finding, error) {
	// Each distinct layer is scanned once, on the scanner's workers.
	scans := map[string]*layerScan{}
	prefixes := map[string]string{} // a layer's name: where it first appears
	var order []string
	for si, stack := range stacks {
		img := name
		if len(stacks) > 1 {
			img = fmt.Sprintf("%s!image %d", name, si+1)
		}
		for li, l := range stack {
			if _, ok := prefixes[l.file]; !ok {
				prefixes[l.file] = fmt.Sprintf("%s!layer %d (%s)", img, li+1, l.label)
				order = append(order, l.file)
			}
		}
	}
	var mu sync.Mutex
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(s.workers, max(len(order), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for file := range next {
				ls := s.scanLayer(ctx, src, file, prefixes[file], depth, b)
				mu.Lock()
				scans[file] = ls
				mu.Unlock()
			}
		}()
	}
	for _, f := range order {
		next <- f
	}
	close(next)
	wg.Wait()

	var out []Finding
	var errs []error
	seen := map[string]bool{} // a layer shared by two images reports once
	for _, stack := range stacks {
		for li, l := range stack {
			if seen[l.file] {
				continue
			}
			seen[l.file] = true
			ls := scans[l.file]
			if ls.err != nil {
				errs = append(errs, fmt.Errorf("scan: %s: %w", prefixes[l.file], ls.err))
			}
			for _, m := range ls.members {
				note := hiddenBy(stack, scans, li, m.path)
				for _, f := range m.findings {
					if note != "" {
						f.Note = join2(note, f.Note)
					}
					out = append(out, f)
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

func join2(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// scanLayer scans one layer blob (a tar, gzip'd or not).
func (s *Scanner) scanLayer(ctx context.Context, src imageSource, file, name string, depth int, b *budget) *layerScan {
	ls := &layerScan{files: map[string]bool{}, whiteout: map[string]bool{}, opaque: map[string]bool{}}
	if rest, ok := strings.CutPrefix(file, "zstd:"); ok {
		ls.err = fmt.Errorf("%s: a zstd-compressed layer, which hush cannot read; not scanned", rest)
		return ls
	}
	r, size, found := src.open(file)
	if !found {
		ls.err = fmt.Errorf("%s: the layer is missing from the image", file)
		return ls
	}
	// A layer is a tar, maybe gzip'd: scanBlob unwraps the gzip, and
	// this hook sees the tar's members.
	each := func(hdr *tar.Header, m member) {
		dir, base := path.Split(m.path)
		switch {
		case base == ".wh..wh..opq":
			ls.opaque[strings.TrimSuffix(dir, "/")] = true
		case strings.HasPrefix(base, ".wh."):
			ls.whiteout[dir+strings.TrimPrefix(base, ".wh.")] = true
		default:
			if hdr.Typeflag != tar.TypeDir {
				ls.files[m.path] = true
			}
			if len(m.findings) > 0 {
				ls.members = append(ls.members, m)
			}
		}
	}
	_, ls.err = s.scanLayerBlob(ctx, blob{r: r, size: size, name: name}, depth, b, each)
	return ls
}

// decompressed is r, gunzipped when it is gzip'd, counted against b.
func decompressed(r io.Reader, b *budget) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(3)
	if sniffKind(head) != kindGzip {
		return br, nil
	}
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	gz.Multistream(true)
	return b.reader(gz), nil
}

// scanLayerBlob is scanBlob for a layer: a gzip'd or plain tar whose
// members go to each.
func (s *Scanner) scanLayerBlob(ctx context.Context, bl blob, depth int, b *budget, each func(*tar.Header, member)) ([]Finding, error) {
	r, err := decompressed(bl.r, b)
	if err != nil {
		return nil, err
	}
	return s.scanTar(ctx, r, bl.name, depth+1, b, each)
}

// hiddenBy says how a layer above li removes path from the image's file
// system ("" when it is still there).
func hiddenBy(stack []layerRef, scans map[string]*layerScan, li int, p string) string {
	for j := li + 1; j < len(stack); j++ {
		ls := scans[stack[j].file]
		if ls == nil {
			continue
		}
		for q := p; q != "." && q != "/" && q != ""; q = path.Dir(q) {
			if ls.whiteout[q] {
				return fmt.Sprintf("deleted by layer %d (%s), still in this layer of the image", j+1, stack[j].label)
			}
			if q != p && ls.opaque[q] {
				return fmt.Sprintf("hidden by layer %d (%s), still in this layer of the image", j+1, stack[j].label)
			}
		}
		if ls.files[p] {
			return fmt.Sprintf("replaced by layer %d (%s), still in this layer of the image", j+1, stack[j].label)
		}
	}
	return ""
}

// tarImage is an image in a tarball read at random: its members by name.
type tarImage struct {
	ra      io.ReaderAt
	members map[string][2]int64 // offset, size
}

func (t *tarImage) open(name string) (io.Reader, int64, bool) {
	m, ok := t.members[name]
	if !ok {
		return nil, 0, false
	}
	return io.NewSectionReader(t.ra, m[0], m[1]), m[1], true
}

// scanImageTar scans bl as an image when it is a tarball of one. ok is
// false when it is a plain tar, to be scanned member by member.
func (s *Scanner) scanImageTar(ctx context.Context, bl blob, depth int, b *budget) ([]Finding, error, bool) {
	sr := io.NewSectionReader(bl.ra, 0, bl.size)
	tr := tar.NewReader(sr)
	ti := &tarImage{ra: bl.ra, members: map[string][2]int64{}}
	for {
		hdr, err := tr.Next()
		if err != nil {
			break // a damaged tar: scanned as a plain one, which reports it
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		off, _ := sr.Seek(0, io.SeekCurrent)
		ti.members[cleanMember(hdr.Name)] = [2]int64{off, hdr.Size}
	}
	stacks, ok, err := imageLayers(ti)
	if !ok {
		return nil, nil, false
	}
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", bl.name, err), true
	}
	fs, err := s.scanImage(ctx, bl.name, ti, stacks, depth, b)
	return fs, err, true
}

// dirImage is an OCI image layout directory; the files it opens are
// closed when the scan of the image ends.
type dirImage struct {
	root  string
	mu    sync.Mutex
	files []*os.File
}

func (d *dirImage) open(name string) (io.Reader, int64, bool) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil {
		return nil, 0, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, false
	}
	d.mu.Lock()
	d.files = append(d.files, f)
	d.mu.Unlock()
	return f, fi.Size(), true
}

func (d *dirImage) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range d.files {
		f.Close()
	}
	d.files = nil
}

// isImageDir says dir is an OCI image layout.
func isImageDir(dir string) bool {
	st, err := os.Lstat(filepath.Join(dir, "oci-layout"))
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	st, err = os.Lstat(filepath.Join(dir, "index.json"))
	return err == nil && st.Mode().IsRegular()
}

// scanImageDir scans an OCI image layout directory layer by layer.
func (s *Scanner) scanImageDir(ctx context.Context, dir string) ([]Finding, error) {
	name := filepath.ToSlash(dir)
	src := &dirImage{root: dir}
	defer src.close()
	stacks, _, err := imageLayers(src)
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", name, err)
	}
	var size int64
	for _, stack := range stacks {
		for _, l := range stack {
			if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(l.file, "zstd:")))); err == nil {
				size += st.Size()
			}
		}
	}
	return s.scanImage(ctx, name, src, stacks, 0, newBudget(size))
}
