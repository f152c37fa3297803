package scan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

const (
	chunkSize   = 1 << 20 // bytes read per step
	lookBack    = 4096    // how far back from a keyword its line start is sought
	lookAhead   = 8192    // how far past a keyword its line end is sought
	blockAhead  = 16384   // how far past a keyword a multi-line rule may match
	maxKeyword  = 256     // longer than any rule's keyword
	binarySniff = 8192    // a NUL in this many leading bytes marks a binary file
)

// match is a finding before fingerprinting; it alone holds the secret, and
// never leaves the package.
type match struct {
	rule, known int32 // one of the two is -1
	start, end  int64 // byte offsets of the secret in the stream
	line, col   int
	secret      string
}

// engine holds one worker's reusable buffers.
type engine struct {
	s    *Scanner
	buf  []byte
	hits []hit
	ran  []uint64 // rules already run on the line starting at ranKey
}

func newEngine(s *Scanner) *engine {
	margin := int(s.back + s.fwd)
	return &engine{s: s, buf: make([]byte, 0, chunkSize+margin),
		ran: make([]uint64, (len(s.rules)+63)/64)}
}

// pass is the state of one stream being scanned.
type pass struct {
	e      *engine
	buf    []byte
	base   int64 // stream offset of buf[0]
	ranKey int64
	// lineStart's memo: no newline lies in [nlFrom, nlTo) but at nlAt
	// (-1: none), so a long line is not searched again for every hit.
	nlFrom, nlTo, nlAt int64
	// The line cursor: curOff lies on line curLine, which starts at curLS.
	curOff  int64
	curLine int
	curLS   int64
	out     []match
	// conf: the stream is a configuration file (.env, YAML, INI,
	// properties…), where unquoted values are values, not identifiers.
	conf bool
}

// scan reads r to the end and returns its matches, first line numbered
// firstLine. With sniff, a stream with a NUL in its first 8 KiB is skipped.
func (e *engine) scan(ctx context.Context, r io.Reader, file string, firstLine int, sniff bool) ([]match, error) {
	s := e.s
	p := &pass{e: e, curLine: firstLine, ranKey: math.MinInt64, nlAt: -1, conf: isConfFile(file)}
	buf, pending := e.buf[:0], e.hits[:0]
	defer func() { e.hits = pending[:0] }()
	var state int32
	eof := false
	for {
		for !eof && len(buf) < cap(buf) {
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return nil, err
			}
		}
		if sniff && p.base == 0 && bytes.IndexByte(buf[:min(len(buf), binarySniff)], 0) >= 0 {
			return s.binaryMatch(buf, file), nil
		}
		scanned := p.base + int64(len(p.buf))
		if p.buf == nil {
			scanned = 0
		}
		p.buf = buf
		state, pending = s.ac.scan(buf[scanned-p.base:], state, scanned, pending)
		end := p.base + int64(len(buf))
		limit := end - s.fwd
		if eof {
			limit = math.MaxInt64
		}
		i := 0
		for ; i < len(pending) && pending[i].end <= limit; i++ {
			p.handle(pending[i])
		}
		pending = pending[:copy(pending, pending[i:])]
		if eof {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		keep := max(end-s.back-s.fwd, p.base)
		if len(pending) > 0 {
			keep = min(keep, pending[0].end-s.back)
		}
		p.advance(keep)
		buf = buf[:copy(buf, buf[keep-p.base:])]
		p.buf, p.base = buf, keep
	}
	return resolve(p.out), nil
}

// handle checks one prefilter hit against the targets of its pattern.
func (p *pass) handle(h hit) {
	s := p.e.s
	for _, t := range s.targets[h.pat] {
		if t.exact != "" {
			i := h.end - int64(len(t.exact)) - p.base
			if i < 0 || string(p.buf[i:h.end-p.base]) != t.exact {
				continue
			}
		}
		if t.known >= 0 {
			p.known(h, t.known)
		} else {
			p.rule(h, t.rule)
		}
	}
}

// known compares the whole form of a known value at a hit on its prefix.
func (p *pass) known(h hit, fi int32) {
	f := &p.e.s.forms[fi]
	start := h.end - int64(min(len(f.text), knownPrefix))
	i, j := start-p.base, start-p.base+int64(len(f.text))
	if i < 0 || j > int64(len(p.buf)) {
		return
	}
	got := p.buf[i:j]
	if f.fold && !bytes.EqualFold(got, []byte(f.text)) || !f.fold && string(got) != f.text {
		return
	}
	p.emit(-1, fi, start, start+int64(len(f.text)), string(got))
}

// rule runs a rule at a hit. A rule with an expression runs it over the
// line around the hit (and the lines after it, for multi-line rules), once
// per line however many of its keywords the line holds; a rule with a
// matcher function runs it at the hit.
func (p *pass) rule(h hit, ri int32) {
	s := p.e.s
	r := s.rules[ri]
	start := h.end - int64(s.ac.patLen[h.pat])
	if r.all != nil {
		// A block around the hit: lookBack before it, blockAhead after.
		ws, we := max(start-lookBack, p.base), min(h.end+blockAhead, p.base+int64(len(p.buf)))
		win := p.buf[ws-p.base : we-p.base]
		for _, loc := range r.all(win, int(start-ws), int(h.end-ws)) {
			p.report(r, ri, win, ws, loc)
		}
		return
	}
	ls := p.lineStart(start)
	if r.at != nil {
		// The window takes two more lines: values of YAML block scalars
		// and XML elements may stand on the line after their name.
		le, end := p.lineEnd(h.end), p.base+int64(len(p.buf))
		for n := 0; r.nextLines && n < 2 && le < end && le+1-h.end < lookAhead; n++ {
			le = p.lineEnd(le + 1)
		}
		win := p.buf[ls-p.base : le-p.base]
		if loc := r.at(win, int(start-ls), int(h.end-ls)); loc != nil {
			p.report(r, ri, win, ls, loc)
		}
		return
	}
	// Once per line and rule. A line longer than lookBack (minified code,
	// base64 blobs) has no start in reach, so it is cut in chunks of
	// lookBack bytes, and the rule runs once per chunk over the chunk and
	// the context around it; a match in two chunks' windows is one match
	// (resolve). Keyed per hit, such a line cost a full window for every
	// keyword on it: a 40 KB line of base64 took minutes.
	key, end := ls, p.base+int64(len(p.buf))
	// A line whose start is out of reach — lookBack or more before the
	// hit, or before the buffer — is long.
	long := ls > 0 && (ls == p.base || p.buf[ls-1-p.base] != '\n')
	var chunk int64
	if long {
		chunk = start / lookBack * lookBack
		key = -1 - chunk
		// The chunk's first hit comes first (hits arrive by their end):
		// its window, from lookBack before it, serves the later ones too,
		// reaching back a keyword's length more for a later hit on a
		// longer keyword, but never before the line's start.
		lo := max(ls-maxKeyword, p.base)
		if i := bytes.LastIndexByte(p.buf[lo-p.base:ls-p.base], '\n'); i >= 0 {
			lo += int64(i) + 1
		}
		ls = lo
	}
	if key != p.ranKey {
		clear(p.e.ran)
		p.ranKey = key
	}
	bit := uint64(1) << (ri % 64)
	if p.e.ran[ri/64]&bit != 0 {
		return
	}
	p.e.ran[ri/64] |= bit
	var le int64
	switch {
	case r.multiline:
		le = min(h.end+blockAhead, end)
	case long:
		// Far enough for every hit of the chunk: lookAhead past its end
		// (and past a keyword starting at its last byte).
		le = p.lineEnd(h.end)
		if off := min(chunk+lookBack+maxKeyword, end); le == min(h.end+lookAhead, end) && off > h.end {
			le = p.lineEnd(off) // no newline in reach of the hit: none before off either
		}
	default:
		le = p.lineEnd(h.end)
	}
	win := p.buf[ls-p.base : le-p.base]
	for _, loc := range r.re.FindAllSubmatchIndex(win, -1) {
		p.report(r, ri, win, ls, loc)
	}
}

// report vets one match of rule r in win (which starts at offset ls) and
// emits it.
func (p *pass) report(r *Rule, ri int32, win []byte, ls int64, loc []int) {
	if !p.bounded(ls+int64(loc[0]), ls+int64(loc[1])) {
		return
	}
	g := secretOf(loc)
	if r.until != "" && g == 0 {
		if k := bytes.Index(win[loc[1]:], []byte(r.until)); k >= 0 {
			loc[1] += k + len(r.until)
		}
	}
	secret := string(win[loc[2*g]:loc[2*g+1]])
	if isPlaceholder(secret) {
		return
	}
	if r.check != nil || r.vet != nil {
		m := make([]string, len(loc)/2)
		for k := range m {
			if loc[2*k] >= 0 {
				m[k] = string(win[loc[2*k]:loc[2*k+1]])
			}
		}
		if r.check != nil && !r.check(m) || r.vet != nil && !r.vet(m, p.conf || dotenvLine(win, loc)) {
			return
		}
	}
	p.emit(ri, -1, ls+int64(loc[2*g]), ls+int64(loc[2*g+1]), secret)
}

// bounded reports whether the match [i, j) stands alone: neither neighbour
// would continue it as a token.
func (p *pass) bounded(i, j int64) bool {
	if k := i - 1 - p.base; k >= 0 && isAlnum(p.buf[k]) {
		return false
	}
	if k := j - p.base; k < int64(len(p.buf)) && isAlnum(p.buf[k]) {
		return false
	}
	return true
}

// lineStart is the offset of the start of the line holding off, or
// lookBack bytes before off on a longer line.
func (p *pass) lineStart(off int64) int64 {
	lo := max(off-lookBack, p.base)
	from := lo
	if p.nlFrom <= lo && lo <= p.nlTo && p.nlTo <= off {
		from = p.nlTo // [lo, nlTo) was searched: only the rest is new
	} else {
		p.nlAt = -1
	}
	if i := bytes.LastIndexByte(p.buf[from-p.base:off-p.base], '\n'); i >= 0 {
		p.nlAt = from + int64(i)
	}
	if p.nlAt < lo {
		p.nlAt = -1
	}
	p.nlFrom, p.nlTo = lo, off
	if p.nlAt >= 0 {
		return p.nlAt + 1
	}
	return lo
}

// lineEnd is the offset of the newline ending the line holding off, or
// lookAhead bytes past off on a longer line.
func (p *pass) lineEnd(off int64) int64 {
	hi := min(off+lookAhead, p.base+int64(len(p.buf)))
	if i := bytes.IndexByte(p.buf[off-p.base:hi-p.base], '\n'); i >= 0 {
		return off + int64(i)
	}
	return hi
}

// emit records a match unless its line carries a hush:allow comment.
func (p *pass) emit(rule, known int32, start, end int64, secret string) {
	ls, le := p.lineStart(start), p.lineEnd(start)
	if bytes.Contains(p.buf[ls-p.base:le-p.base], []byte("hush:allow")) {
		return
	}
	line, col := p.lineCol(start)
	p.out = append(p.out, match{rule: rule, known: known, start: start, end: end,
		line: line, col: col, secret: secret})
}

// advance moves the line cursor forward to off.
func (p *pass) advance(off int64) {
	if off <= p.curOff {
		return
	}
	seg := p.buf[p.curOff-p.base : off-p.base]
	if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
		p.curLine += n
		p.curLS = p.curOff + int64(bytes.LastIndexByte(seg, '\n')) + 1
	}
	p.curOff = off
}

// lineCol returns the line and column (in code points, 1-based) of off.
// Offsets usually come in order; one before the cursor is counted back.
func (p *pass) lineCol(off int64) (int, int) {
	line, ls := p.curLine, p.curLS
	if off >= p.curOff {
		p.advance(off)
		line, ls = p.curLine, p.curLS
	} else if n := bytes.Count(p.buf[off-p.base:p.curOff-p.base], []byte{'\n'}); n > 0 {
		line -= n
		ls = p.lineStart(off)
	}
	if ls < p.base {
		// The line began before the buffer: count bytes from the buffer
		// start, then code points within it.
		return line, int(p.base-ls) + utf8.RuneCount(p.buf[:off-p.base]) + 1
	}
	return line, utf8.RuneCount(p.buf[ls-p.base:off-p.base]) + 1
}

// resolve sorts matches and, where two overlap, keeps the better one:
// known values first, then rules in priority order.
func resolve(ms []match) []match {
	rank := func(m match) int32 {
		if m.known >= 0 {
			return -1
		}
		return m.rule
	}
	slices.SortFunc(ms, func(a, b match) int {
		if a.start != b.start {
			return int(a.start - b.start)
		}
		return int(rank(a) - rank(b))
	})
	out := ms[:0]
	for i := 0; i < len(ms); {
		// A cluster of transitively overlapping matches.
		j, end := i+1, ms[i].end
		for j < len(ms) && ms[j].start < end {
			end = max(end, ms[j].end)
			j++
		}
		cluster := slices.Clone(ms[i:j])
		slices.SortStableFunc(cluster, func(a, b match) int { return int(rank(a) - rank(b)) })
		var kept []match
		for _, m := range cluster {
			if !slices.ContainsFunc(kept, func(k match) bool { return m.start < k.end && k.start < m.end }) {
				kept = append(kept, m)
			}
		}
		slices.SortFunc(kept, func(a, b match) int { return int(a.start - b.start) })
		out = append(out, kept...)
		i = j
	}
	return out
}
