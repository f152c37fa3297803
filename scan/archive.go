package scan

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync/atomic"
)

// Where secrets end up after the build: archives (zip, jar, war, tar,
// tar.gz), container images (docker save tarballs and OCI image layouts,
// layer by layer; see image.go), compressed logs, and compiled programs.
// A file is recognised by its first bytes, never by its name, so a renamed
// archive is opened all the same. A member is named OUTER!MEMBER
// (app.jar!config/app.properties, nested as deep as maxArchiveDepth).

const (
	// maxArchiveDepth is how many archives deep hush opens (a jar in a war
	// in a tar.gz is three); deeper ones are judged as plain files.
	maxArchiveDepth = 4
	// maxZipInMemory is the largest zip member of another archive read
	// into memory to be opened (zip needs random access).
	maxZipInMemory = 256 << 20
	// minStringRun is the shortest run of printable bytes taken from a
	// compiled program: shorter ones are too short to hold a credential.
	minStringRun = 8
)

// errExpands is an archive that decompresses to more than its budget (a
// decompression bomb, or an image far larger than it looks).
var errExpands = errors.New("expands beyond the scan's budget; the rest was not scanned")

// budget bounds the bytes one top-level file may decompress to: 256 MiB
// plus 64 times its own size, at most 8 GiB.
type budget struct{ left atomic.Int64 }

func newBudget(size int64) *budget {
	b := &budget{}
	b.left.Store(min(256<<20+64*max(size, 0), 8<<30))
	return b
}

// reader counts what r yields against the budget.
func (b *budget) reader(r io.Reader) io.Reader { return &budgetReader{r: r, b: b} }

type budgetReader struct {
	r io.Reader
	b *budget
}

func (br *budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	if br.b.left.Add(-int64(n)) < 0 {
		return n, errExpands
	}
	return n, err
}

// kind is what a file's first bytes say it is.
type kind int

const (
	kindPlain kind = iota
	kindZip
	kindGzip
	kindTar
	kindProgram
)

// sniffKind judges head, a file's first bytes (up to 512).
func sniffKind(head []byte) kind {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZip
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b, 0x08}):
		return kindGzip
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return kindTar
	}
	if bytes.IndexByte(head, 0) < 0 {
		return kindPlain // text: a program's magic in a text file is a coincidence
	}
	for _, magic := range [][]byte{
		[]byte("\x7fELF"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xce, 0xfa, 0xed, 0xfe}, // Mach-O 32-bit
		{0xfe, 0xed, 0xfa, 0xcf}, {0xcf, 0xfa, 0xed, 0xfe}, // Mach-O 64-bit
		{0xca, 0xfe, 0xba, 0xbe}, // Mach-O universal, and Java classes
		[]byte("MZ"),             // PE (Windows)
		[]byte("\x00asm"),        // WebAssembly
	} {
		if bytes.HasPrefix(head, magic) {
			return kindProgram
		}
	}
	return kindPlain
}

// blob is one stream to scan: a file, or a member of an archive.
type blob struct {
	r    io.Reader
	ra   io.ReaderAt // nil when the stream cannot be read at random
	size int64       // -1 when unknown
	name string      // the file, or OUTER!MEMBER
}

// scanBlob scans one stream: an archive's members, a compressed stream's
// content, a program's strings, or the stream itself as text. Errors of a
// member are joined; they do not stop the other members.
func (s *Scanner) scanBlob(ctx context.Context, bl blob, depth int, b *budget) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(bl.r, 64<<10)
	head, _ := br.Peek(512)
	k := sniffKind(head)
	if depth >= maxArchiveDepth && k != kindProgram {
		k = kindPlain
	}
	switch k {
	case kindZip:
		return s.scanZip(ctx, bl, br, depth, b)
	case kindGzip:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return s.scanText(ctx, br, bl.name) // not gzip after all
		}
		defer gz.Close()
		gz.Multistream(true)
		return s.scanBlob(ctx, blob{r: b.reader(gz), size: -1, name: bl.name}, depth+1, b)
	case kindTar:
		if bl.ra != nil {
			if fs, err, ok := s.scanImageTar(ctx, bl, depth, b); ok {
				return fs, err
			}
		}
		return s.scanTar(ctx, br, bl.name, depth, b, nil)
	case kindProgram:
		return s.scanProgram(ctx, br, bl.name)
	}
	return s.scanText(ctx, br, bl.name)
}

// scanText scans r as a text file (a binary one yields only a PKCS #12
// finding, as for any file).
func (s *Scanner) scanText(ctx context.Context, r io.Reader, name string) ([]Finding, error) {
	ms, err := s.scanStream(ctx, r, name, 1, true)
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", name, err)
	}
	return s.finish(ms, name, "", ""), nil
}

// scanZip scans a zip archive's members (jar, war, apk and the like).
func (s *Scanner) scanZip(ctx context.Context, bl blob, br *bufio.Reader, depth int, b *budget) ([]Finding, error) {
	ra, size := bl.ra, bl.size
	if ra == nil || size < 0 {
		// A zip inside another archive: read it into memory to open it.
		data, err := io.ReadAll(io.LimitReader(b.reader(br), maxZipInMemory+1))
		if err != nil {
			return nil, fmt.Errorf("scan: %s: %w", bl.name, err)
		}
		if len(data) > maxZipInMemory {
			return nil, fmt.Errorf("scan: %s: a zip archive inside another larger than %d MiB; not scanned", bl.name, maxZipInMemory>>20)
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		// Not a readable zip after all: judged as any other file.
		return s.scanText(ctx, io.NewSectionReader(ra, 0, size), bl.name)
	}
	var out []Finding
	var errs []error
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !f.Mode().IsRegular() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			continue // a damaged or unsupported member (see scanTar)
		}
		fs, err := s.scanBlob(ctx, blob{r: b.reader(rc), size: int64(f.UncompressedSize64), name: bl.name + "!" + f.Name}, depth+1, b)
		rc.Close()
		out = append(out, fs...)
		if errors.Is(err, errExpands) || ctx.Err() != nil {
			errs = append(errs, err)
			break
		}
	}
	return out, errors.Join(errs...)
}

// member is a tar member as an image layer records it.
type member struct {
	path     string
	findings []Finding
}

// scanTar scans a tar stream's regular members in order. With each set,
// it is called with every member's cleaned path and its findings (an image
// layer's whiteout analysis needs them).
func (s *Scanner) scanTar(ctx context.Context, r io.Reader, name string, depth int, b *budget, each func(hdr *tar.Header, m member)) ([]Finding, error) {
	tr := tar.NewReader(r)
	var out []Finding
	var errs []error
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A damaged archive is scanned as far as it reads, as any
			// binary file is skipped; a damaged image layer is reported.
			if each != nil || errors.Is(err, errExpands) {
				errs = append(errs, fmt.Errorf("scan: %s: %w", name, err))
			}
			break
		}
		p := cleanMember(hdr.Name)
		if hdr.Typeflag != tar.TypeReg {
			if each != nil {
				each(hdr, member{path: p})
			}
			continue
		}
		fs, err := s.scanBlob(ctx, blob{r: b.reader(tr), size: hdr.Size, name: name + "!" + p}, depth+1, b)
		out = append(out, fs...)
		if each != nil {
			each(hdr, member{path: p, findings: fs})
		}
		if err != nil {
			if each != nil || errors.Is(err, errExpands) {
				errs = append(errs, err)
			}
			if errors.Is(err, errExpands) || ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
		}
	}
	return out, errors.Join(errs...)
}

// cleanMember is a member's path as a file system would see it: no
// leading "./" or "/", no "..", slashes only.
func cleanMember(name string) string {
	p := path.Clean("/" + strings.ReplaceAll(name, "\\", "/"))
	return strings.TrimPrefix(p, "/")
}

// scanProgram scans the printable strings of a compiled program — where
// a credential compiled in (a -ldflags -X, an embedded config) lives.
// Each run of printable bytes is a line of its own; a finding says its
// byte offset in the program instead of a line.
func (s *Scanner) scanProgram(ctx context.Context, r io.Reader, name string) ([]Finding, error) {
	sr := &stringsReader{r: bufio.NewReaderSize(r, 64<<10)}
	ms, err := s.scanStream(ctx, sr, name, 1, false)
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", name, err)
	}
	fs := s.finish(ms, name, "", "")
	for i := range fs {
		if l := fs[i].Line - 1; l >= 0 && l < len(sr.offsets) {
			fs[i].Note = fmt.Sprintf("in the program's strings, at byte %d", sr.offsets[l]+int64(fs[i].Column-1))
		}
	}
	return fs, nil
}

// stringsReader yields the runs of at least minStringRun printable ASCII
// bytes of r, one per line, as strings(1) does, and remembers where each
// run began.
type stringsReader struct {
	r       *bufio.Reader
	off     int64   // bytes of r read
	offsets []int64 // the offset of each line's run
	run     []byte  // the run being collected
	out     []byte  // what is ready to return
	err     error
}

func (sr *stringsReader) Read(p []byte) (int, error) {
	for len(sr.out) == 0 && sr.err == nil {
		c, err := sr.r.ReadByte()
		if err != nil {
			sr.err = err
			sr.flush()
			break
		}
		sr.off++
		if c >= 0x20 && c < 0x7f || c == '\t' {
			sr.run = append(sr.run, c)
			continue
		}
		sr.flush()
	}
	if len(sr.out) > 0 {
		n := copy(p, sr.out)
		sr.out = sr.out[n:]
		return n, nil
	}
	return 0, sr.err
}

// flush ends the current run, keeping it when it is long enough.
func (sr *stringsReader) flush() {
	if len(sr.run) >= minStringRun {
		start := sr.off - int64(len(sr.run))
		if sr.err == nil {
			start-- // the byte that ended the run was counted
		}
		sr.offsets = append(sr.offsets, start)
		sr.out = append(append(sr.out[:0], sr.run...), '\n')
	}
	sr.run = sr.run[:0]
}
