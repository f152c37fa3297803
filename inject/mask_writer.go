package inject

import (
	"errors"
	"io"
	"sync"
	"time"
)

// MaskWriter is a streaming redactor: it writes everything written to it to
// the underlying writer with every value of its Masker replaced by
// [hush:KEY], however the values are cut across writes.
//
// Bytes that may be the start of a value are held back until the value is
// complete or ruled out. When nothing more is written for FlushDelay, held
// bytes are released as they are (a value whose second half arrives later is
// not caught: the price of showing a prompt without its newline promptly).
// Close releases the rest. It is safe for concurrent use.
type MaskWriter struct {
	mu    sync.Mutex
	m     *Masker
	w     io.Writer
	delay time.Duration
	timer *time.Timer
	last  time.Time
	err   error // sticky: the first error writing to w, or errClosed

	state int32 // automaton state after the last byte
	pos   int64 // stream position of the next byte
	emit  int64 // stream position of the first byte not yet written or dropped

	// tail holds the unwritten bytes before pos that are not inside the first
	// region: stream [tailAt, gapS) then [gapE, pos). gapS == gapE when there
	// is no gap.
	tail       []byte
	spare      []byte
	tailAt     int64
	gapS, gapE int64

	// regions are the merged occurrences not yet written, in order and
	// disjoint. Only the first can reach back before pos-depth; the gap in
	// tail is its inside.
	regions []region

	out  []byte // output being assembled for one write to w
	hits []hit  // matches scan holds back, in order
}

// region is a run of overlapping occurrences, named after its longest.
type region struct {
	s, e int64 // stream positions [s, e)
	lab  int32 // the pattern naming it
	labS int64 // where that pattern's occurrence starts
}

var errClosed = errors.New("inject: write to closed mask writer")

func (m *Masker) newWriter(w io.Writer, delay time.Duration) *MaskWriter {
	return &MaskWriter{m: m, w: w, delay: delay}
}

// Write masks p and writes what can be written already. It returns len(p)
// unless the underlying writer failed, now or before.
func (mw *MaskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.err != nil {
		return 0, mw.err
	}
	m := mw.m
	base := mw.pos
	if len(m.labels) == 0 {
		mw.pos += int64(len(p))
		mw.emit = mw.pos
		return mw.writeOut(p, len(p))
	}
	s := m.dec(mw.scan(p, base, int(m.enc(mw.state))))
	mw.pos = base + int64(len(p))
	mw.state = s
	mw.settle(p, base, int64(m.depth[s]))
	mw.arm()
	return mw.writeOut(mw.out, len(p))
}

// hit is an output of the automaton held back during scan: the longest
// value ending at p[i] is o, in a state of depth d.
type hit struct {
	i    int
	o, d int32
}

// splitMin is the shortest half of a write that scan walks alongside the
// other: below it, joining the halves costs more than it saves.
const splitMin = 1024

// scan runs the automaton over p from encoded state x (see Masker.trans),
// recording every match in order, and returns the encoded state at the end.
//
// A step is one load whose address depends on the previous load, so a
// single walk through the text waits on memory at every byte. scan walks the
// two halves of p in lockstep instead, the second from the root, to keep two
// loads in flight; this is where --mask spends its time. The second walk
// knows nothing of the bytes before the middle, but the state is only the
// longest suffix of the text that some value starts with: once the first
// walk, carried past the middle, is in a state no longer than what it has
// read past the middle, the two walks agree and go on agreeing. Matches the
// second walk found before that point may lack their longest value, so they
// are dropped; the carry found them.
func (mw *MaskWriter) scan(p []byte, base int64, x int) int {
	m := mw.m
	half := len(p) / 2
	// The carry ends within the longest value, so it stays inside the
	// second half.
	if half < splitMin || half < int(m.maxLen) {
		return mw.walk(p, 0, x, base, false)
	}
	trans, cls := m.trans, &m.cls
	p1, p2 := p[:half], p[half:2*half]
	x1, x2 := x, 0
	for k := range p1 {
		if x1|x2 >= 0 {
			e1 := int(trans[x1+int(cls[p1[k]])])
			e2 := int(trans[x2+int(cls[p2[k]])])
			if e1|e2 >= 0 {
				x1, x2 = e1, e2
				continue
			}
		}
		x1 = mw.step(p, k, x1, base, false)
		x2 = mw.step(p, half+k, x2, base, true)
	}
	i := half
	for ; int(m.depth[m.dec(x1)]) > i-half; i++ {
		x1 = mw.step(p, i, x1, base, false)
	}
	for _, h := range mw.hits {
		if h.i >= i {
			mw.match(base+int64(h.i), h.o, h.d, p, base)
		}
	}
	mw.hits = mw.hits[:0]
	return mw.walk(p, 2*half, x2, base, false)
}

// walk steps from encoded state x through p[i:] and returns the encoded
// state at the end: while the state is dense and has no output, a step is
// one load from the table, whose entry is already the offset of the next
// row.
func (mw *MaskWriter) walk(p []byte, i, x int, base int64, keep bool) int {
	trans, cls := mw.m.trans, &mw.m.cls
	for ; i < len(p); i++ {
		if x >= 0 {
			if e := int(trans[x+int(cls[p[i]])]); e >= 0 {
				x = e
				continue
			}
		}
		x = mw.step(p, i, x, base, keep)
	}
	return x
}

// step takes the automaton from encoded state x through p[i], records a
// match if the new state has an output, and returns the new encoded state.
// With keep, the match is held in hits for scan to sort out. The common
// cases come first: a plain dense step, and, beyond the table, the step to
// the next state along a value, which needs no search.
func (mw *MaskWriter) step(p []byte, i, x int, base int64, keep bool) int {
	m := mw.m
	c := m.cls[p[i]]
	if x >= 0 {
		if e := int(m.trans[x+int(c)]); e >= 0 {
			return e
		}
	} else if s := ^x; s >= int(m.ndense) && m.kid[s] == int16(c) && m.out[s+1] < 0 {
		return x - 1 // ^(s+1)
	}
	return mw.stepSlow(p, i, x, c, base, keep)
}

// stepSlow is step for the rest: a state with an output, or a search of the
// goto edges and failure links.
func (mw *MaskWriter) stepSlow(p []byte, i, x int, c uint8, base int64, keep bool) int {
	m := mw.m
	var t int32
	if x >= 0 {
		t = m.dec(int(m.trans[x+int(c)]))
	} else {
		t = m.next(^int32(x), c)
	}
	if o := m.out[t]; o >= 0 {
		if keep {
			mw.hits = append(mw.hits, hit{i, o, m.depth[t]})
		} else {
			mw.match(base+int64(i), o, m.depth[t], p, base)
		}
	}
	return int(m.enc(t))
}

// match records the longest value ending at stream position g, merging it
// with the pending regions it overlaps, and writes the regions no later
// match can reach.
func (mw *MaskWriter) match(g int64, pat int32, depth int32, p []byte, base int64) {
	r := region{s: g + 1 - int64(mw.m.plen[pat]), e: g + 1, lab: pat}
	r.labS = r.s
	k := len(mw.regions)
	for k > 0 && mw.regions[k-1].e > r.s {
		k--
	}
	for _, q := range mw.regions[k:] {
		r.s = min(r.s, q.s)
		if l, rl := mw.m.plen[q.lab], mw.m.plen[r.lab]; l > rl || l == rl && q.labS < r.labS {
			r.lab, r.labS = q.lab, q.labS
		}
	}
	mw.regions = append(mw.regions[:k], r)
	mw.finish(g+1-int64(depth), p, base)
}

// finish writes the regions that end at or before safe, with the bytes
// before each. A match found later starts at safe or after, so cannot
// overlap them.
func (mw *MaskWriter) finish(safe int64, p []byte, base int64) {
	n := 0
	for _, r := range mw.regions {
		if r.e > safe {
			break
		}
		mw.out = mw.appendRaw(mw.out, mw.emit, r.s, p, base)
		mw.out = append(mw.out, mw.m.labels[r.lab]...)
		mw.emit = r.e
		n++
	}
	if n > 0 {
		mw.regions = append(mw.regions[:0], mw.regions[n:]...)
	}
}

// settle writes what no later match can touch: a match ending after pos
// starts at pos-depth or later. Then it keeps the rest in tail, leaving out
// the inside of the first pending region (the only one that may be long).
func (mw *MaskWriter) settle(p []byte, base, depth int64) {
	safe := mw.pos - depth
	mw.finish(safe, p, base)
	limit := safe
	if len(mw.regions) > 0 {
		limit = min(limit, mw.regions[0].s)
	}
	if limit > mw.emit {
		mw.out = mw.appendRaw(mw.out, mw.emit, limit, p, base)
		mw.emit = limit
	}
	t := mw.spare[:0]
	if len(mw.regions) > 0 {
		r := mw.regions[0]
		t = mw.appendRaw(t, mw.emit, r.s, p, base)
		t = mw.appendRaw(t, r.e, mw.pos, p, base)
		mw.gapS, mw.gapE = r.s, r.e
	} else {
		t = mw.appendRaw(t, mw.emit, mw.pos, p, base)
		mw.gapS, mw.gapE = mw.pos, mw.pos
	}
	mw.spare, mw.tail, mw.tailAt = mw.tail, t, mw.emit
}

// appendRaw appends the input bytes at stream positions [a, b): those before
// base from tail, the rest from p.
func (mw *MaskWriter) appendRaw(dst []byte, a, b int64, p []byte, base int64) []byte {
	if a >= b {
		return dst
	}
	if a < base {
		end := min(b, base)
		if a < mw.gapS {
			e := min(end, mw.gapS)
			dst = append(dst, mw.tail[a-mw.tailAt:e-mw.tailAt]...)
			a = e
		}
		if a < end {
			off := mw.gapS - mw.tailAt + a - mw.gapE
			dst = append(dst, mw.tail[off:off+end-a]...)
			a = end
		}
	}
	if a < b {
		dst = append(dst, p[a-base:b-base]...)
	}
	return dst
}

// flushLocked releases everything held, as at the end of the stream, and
// starts matching afresh.
func (mw *MaskWriter) flushLocked() error {
	mw.finish(mw.pos, nil, mw.pos)
	mw.out = mw.appendRaw(mw.out, mw.emit, mw.pos, nil, mw.pos)
	mw.emit, mw.state = mw.pos, 0
	mw.tail, mw.tailAt, mw.gapS, mw.gapE = mw.tail[:0], mw.pos, mw.pos, mw.pos
	_, err := mw.writeOut(mw.out, 0)
	return err
}

// Flush releases everything held now.
func (mw *MaskWriter) Flush() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.err != nil {
		return mw.err
	}
	return mw.flushLocked()
}

// Close releases everything held and stops the timer. It does not close the
// underlying writer. Writing after Close fails.
func (mw *MaskWriter) Close() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.timer != nil {
		mw.timer.Stop()
	}
	if mw.err != nil {
		if mw.err == errClosed {
			return nil
		}
		return mw.err
	}
	err := mw.flushLocked()
	if mw.err == nil {
		mw.err = errClosed
	}
	return err
}

// writeOut writes b to w and clears the output buffer; n is what Write
// reports on success.
func (mw *MaskWriter) writeOut(b []byte, n int) (int, error) {
	mw.out = mw.out[:0]
	if len(b) == 0 {
		return n, nil
	}
	if _, err := mw.w.Write(b); err != nil {
		mw.err = err
		return 0, err
	}
	return n, nil
}

// arm starts or pushes back the flush timer while bytes are held.
func (mw *MaskWriter) arm() {
	if mw.delay <= 0 || mw.emit == mw.pos {
		return
	}
	mw.last = time.Now()
	if mw.timer == nil {
		mw.timer = time.AfterFunc(mw.delay, mw.onTimer)
		return
	}
	mw.timer.Reset(mw.delay)
}

func (mw *MaskWriter) onTimer() {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.err != nil || mw.emit == mw.pos {
		return
	}
	if wait := mw.delay - time.Since(mw.last); wait > 0 {
		mw.timer.Reset(wait)
		return
	}
	_ = mw.flushLocked()
}
