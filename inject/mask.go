package inject

import (
	"io"
	"time"
)

// MinMaskLen is the shortest value NewMasker masks. Shorter values would
// blank out ordinary words and numbers all over the output; NewMasker reports
// them so the caller can warn.
const MinMaskLen = 6

// FlushDelay is how long a MaskWriter holds back a possible partial match
// when no more output arrives.
const FlushDelay = 100 * time.Millisecond

// denseDepth is the depth below which automaton states get a full transition
// row. Text spends nearly all its time in these shallow states; the deep ones
// (a long run of a value matching) fall back to failure links.
const denseDepth = 3

// Masker is a compiled set of values to mask: an Aho-Corasick automaton over
// bytes, with full transition rows for the shallow states. It is immutable
// and safe for concurrent use; Writer makes a streaming redactor.
//
// The replacement is defined on the whole stream: every occurrence of every
// value is found, occurrences that overlap are merged into one region, and
// each region is replaced by [hush:KEY], KEY naming the longest value in it
// (the earliest of equal length). No byte of any occurrence is ever shown,
// whatever the overlaps, and how the stream is cut into writes does not
// change the result, except for what FlushDelay releases (see MaskWriter).
type Masker struct {
	labels [][]byte // per pattern: "[hush:KEY]"
	plen   []int32  // per pattern: length in bytes

	cls    [256]int32 // byte → class; 0 for bytes in no value
	nclass int32
	ndense int32   // states [0, ndense) have rows in dense
	dense  []int32 // ndense × nclass transitions
	out    []int32 // per state: longest pattern ending here, or -1
	depth  []int32 // per state: length of its string
	fail   []int32 // per state: failure link
	estart []int32 // per state: its goto edges are ecls/eto[estart[s]:estart[s+1]]
	ecls   []int32
	eto    []int32
	// Bit b0<<8|b1 of pair is set when some value starts with bytes b0 b1.
	pair [1 << 10]uint64
	// States [0, nshallow) have depth 0 or 1; rootStep[b] is the state
	// after byte b read in the root.
	nshallow int32
	rootStep [256]int32
}

// NewMasker compiles the values of secrets for masking. Values shorter than
// MinMaskLen are skipped and their names returned in skipped. When two names
// share a value, the first names the mask.
func NewMasker(secrets []Secret) (m *Masker, skipped []string) {
	m = &Masker{}
	seen := map[string]bool{}
	var pats []string
	for _, s := range secrets {
		v := s.Value.s
		if len(v) < MinMaskLen {
			skipped = append(skipped, s.Name)
			continue
		}
		if seen[v] {
			continue
		}
		seen[v] = true
		pats = append(pats, v)
		m.labels = append(m.labels, []byte("[hush:"+s.Name+"]"))
		m.plen = append(m.plen, int32(len(v)))
	}
	m.build(pats)
	return m, skipped
}

// Len is the number of distinct values masked.
func (m *Masker) Len() int { return len(m.labels) }

// build makes the automaton: a trie in breadth-first order (so the dense
// states are a prefix of the numbering), failure links, outputs, rows.
func (m *Masker) build(pats []string) {
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			if m.cls[p[i]] == 0 {
				m.nclass++
				m.cls[p[i]] = m.nclass
			}
		}
	}
	m.nclass++

	// The trie, with states numbered as created.
	type edge struct {
		from int32
		c    int32
	}
	child := map[edge]int32{}
	term := []int32{-1}
	kids := [][]int32{nil}
	for pi, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.cls[p[i]]
			next, ok := child[edge{s, c}]
			if !ok {
				next = int32(len(term))
				child[edge{s, c}] = next
				term = append(term, -1)
				kids = append(kids, nil)
				kids[s] = append(kids[s], c)
			}
			s = next
		}
		term[s] = int32(pi)
	}

	// Renumber breadth-first.
	n := len(term)
	order := make([]int32, 0, n)
	order = append(order, 0)
	for i := 0; i < len(order); i++ {
		s := order[i]
		for _, c := range kids[s] {
			order = append(order, child[edge{s, c}])
		}
	}
	newID := make([]int32, n)
	for i, s := range order {
		newID[s] = int32(i)
	}

	m.out = make([]int32, n)
	m.depth = make([]int32, n)
	m.fail = make([]int32, n)
	m.estart = make([]int32, n+1)
	for i, old := range order {
		m.estart[i] = int32(len(m.ecls))
		for _, c := range kids[old] {
			m.ecls = append(m.ecls, c)
			m.eto = append(m.eto, newID[child[edge{old, c}]])
		}
		if d := m.depth[i]; d < denseDepth {
			m.ndense = int32(i) + 1
		}
		if m.depth[i] <= 1 {
			m.nshallow = int32(i) + 1
		}
		for e := m.estart[i]; e < int32(len(m.ecls)); e++ {
			m.depth[m.eto[e]] = m.depth[i] + 1
		}
	}
	m.estart[n] = int32(len(m.ecls))

	// Failure links and outputs, breadth-first: a state's failure target is
	// shallower, so it is complete when the state is reached.
	for s := int32(0); s < int32(n); s++ {
		m.out[s] = term[order[s]]
		if s > 0 && m.out[s] < 0 {
			m.out[s] = m.out[m.fail[s]]
		}
		for e := m.estart[s]; e < m.estart[s+1]; e++ {
			t, c := m.eto[e], m.ecls[e]
			if s == 0 {
				m.fail[t] = 0
			} else {
				m.fail[t] = m.step(m.fail[s], c)
			}
		}
	}
	m.dense = make([]int32, int(m.ndense)*int(m.nclass))
	for s := int32(0); s < m.ndense; s++ {
		row := m.dense[s*m.nclass : (s+1)*m.nclass]
		for c := int32(0); c < m.nclass; c++ {
			row[c] = m.step(s, c)
		}
	}
	for b := 0; b < 256; b++ {
		m.rootStep[b] = m.step(0, m.cls[b])
	}
	for _, p := range pats {
		x := uint32(p[0])<<8 | uint32(p[1])
		m.pair[x>>6] |= 1 << (x & 63)
	}
}

// goTo follows a trie edge, or returns -1.
func (m *Masker) goTo(s, c int32) int32 {
	for e := m.estart[s]; e < m.estart[s+1]; e++ {
		if m.ecls[e] == c {
			return m.eto[e]
		}
	}
	return -1
}

// step is the automaton's transition from goto and failure links alone, for
// building the rows; next is the fast version for matching.
func (m *Masker) step(s, c int32) int32 {
	for {
		if t := m.goTo(s, c); t >= 0 {
			return t
		}
		if s == 0 {
			return 0
		}
		s = m.fail[s]
	}
}

// next is step for the hot loop: a dense row when there is one.
func (m *Masker) next(s, c int32) int32 {
	for s >= m.ndense {
		if t := m.goTo(s, c); t >= 0 {
			return t
		}
		s = m.fail[s]
	}
	return m.dense[s*m.nclass+c]
}

// Writer returns a MaskWriter that writes the masked stream to w.
func (m *Masker) Writer(w io.Writer) *MaskWriter {
	return m.newWriter(w, FlushDelay)
}

// Mask returns b with every value masked: the replacement a MaskWriter makes
// of a stream holding b and then closed.
func (m *Masker) Mask(b []byte) []byte {
	var out sliceWriter
	mw := m.newWriter(&out, 0)
	_, _ = mw.Write(b)
	_ = mw.Close()
	return out
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) {
	*s = append(*s, p...)
	return len(p), nil
}
