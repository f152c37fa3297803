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

// maxTable caps the memory of the transition table, in bytes. Rows go to the
// shallowest states, where text spends nearly all its time; the deeper ones,
// reached only while a long prefix of some value matches, take goto edges
// and failure links. A table holding every state would be no faster: for
// 1,000 values of ~40 bytes it is 10 MiB, and a walk through a value then
// touches a cold row at each byte, where the edges, laid out in order along
// the value (see kid), stay in cache; it measured slower on log-like output
// and on output full of values, and took four times as long to build in a
// fresh process, most of it faulting in the pages.
const maxTable = 1 << 20

// Masker is a compiled set of values to mask: an Aho-Corasick automaton over
// byte classes, with full transition rows for as many of the shallowest
// states as fit in maxTable. It is immutable and safe for concurrent use;
// Writer makes a streaming redactor.
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
	maxLen int32    // the longest pattern's length

	// cls maps a byte to its class: bytes in no value share one class, the
	// others get one each. Rows are nclass wide instead of 256, which keeps
	// the table small and its shallow rows in cache.
	cls    [256]uint8
	nclass int

	// trans holds the rows of states [0, ndense), breadth-first, so the
	// shallow states the text lives in come first. An entry is what the hot
	// loop needs to take the next step at once: for a dense state without
	// an output, the offset of its row (state × nclass); for any other
	// state t, ^t (negative), which sends the loop to the slow path.
	trans  []int32
	ndense int32

	out   []int32 // per state: longest pattern ending here, or -1
	depth []int32 // per state: length of its string
	fail  []int32 // per state: failure link
	// Goto edges of state s: ecls/eto[estart[s]:estart[s+1]]. Matching
	// uses them only for states beyond ndense.
	estart []int32
	ecls   []uint8
	eto    []int32
	// kid[s] is the class of the edge from s to s+1, or -1. States beyond
	// ndense are numbered depth-first, so along a value each state's
	// successor is the next one: a walk through a value takes that edge
	// without searching, and the CPU can run ahead on the guess.
	kid []int16
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
		m.maxLen = max(m.maxLen, int32(len(v)))
	}
	m.build(pats)
	return m, skipped
}

// Len is the number of distinct values masked.
func (m *Masker) Len() int { return len(m.labels) }

// build makes the automaton: a trie renumbered breadth-first (so the dense
// states are a prefix of the numbering, and every failure link points to
// an earlier state), then failure links, outputs and rows in one pass.
func (m *Masker) build(pats []string) {
	var used [256]bool
	size := 1
	for _, p := range pats {
		size += len(p)
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	k := 0
	for b := range used {
		if used[b] {
			k++
		}
	}
	// Class 0 is for bytes in no value, unless there are none: 256 classes
	// must still fit in a uint8.
	c := 1
	if k == 256 {
		c = 0
	}
	for b := range used {
		if used[b] {
			m.cls[b] = uint8(c)
			c++
		}
	}
	m.nclass = c

	// The trie, states numbered as created, children in linked lists: no
	// map and no allocation per state, which made building slow.
	first := make([]int32, 1, size)
	sib := make([]int32, 1, size)
	lab := make([]uint8, 1, size)
	term := make([]int32, 1, size)
	first[0], sib[0], term[0] = -1, -1, -1
	for pi, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.cls[p[i]]
			t := first[s]
			for t >= 0 && lab[t] != c {
				t = sib[t]
			}
			if t < 0 {
				t = int32(len(term))
				first = append(first, -1)
				sib = append(sib, first[s])
				lab = append(lab, c)
				term = append(term, -1)
				first[s] = t
			}
			s = t
		}
		term[s] = int32(pi)
	}

	// Number the states: breadth-first for those with rows, so they are
	// the shallowest; depth-first for the rest, so that the states along a
	// value are consecutive and a walk through it reads memory in order.
	n := len(term)
	order := make([]int32, 1, n) // breadth-first, in trie numbers
	for i := 0; i < len(order); i++ {
		for t := first[order[i]]; t >= 0; t = sib[t] {
			order = append(order, t)
		}
	}
	nc := m.nclass
	nd := min(n, max(1, maxTable/4/nc))
	m.ndense = int32(nd)
	id := make([]int32, n)
	for i, s := range order {
		id[s] = int32(i)
		if i >= nd {
			id[s] = -1
		}
	}
	free, stack := int32(nd), []int32{0}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id[s] < 0 {
			id[s] = free
			free++
		}
		for t := first[s]; t >= 0; t = sib[t] {
			stack = append(stack, t)
		}
	}

	m.out = make([]int32, n)
	m.estart = make([]int32, n+1)
	for s := range n {
		m.out[id[s]] = term[s]
		for t := first[s]; t >= 0; t = sib[t] {
			m.estart[id[s]+1]++
		}
	}
	for i := 1; i <= n; i++ {
		m.estart[i] += m.estart[i-1]
	}
	m.ecls = make([]uint8, n-1)
	m.eto = make([]int32, n-1)
	for s := range n {
		e := m.estart[id[s]]
		for t := first[s]; t >= 0; t = sib[t] {
			m.ecls[e], m.eto[e] = lab[t], id[t]
			e++
		}
	}

	m.kid = make([]int16, n)
	for s := range m.kid {
		m.kid[s] = -1
		for e := m.estart[s]; e < m.estart[s+1]; e++ {
			if m.eto[e] == int32(s)+1 {
				m.kid[s] = int16(m.ecls[e])
			}
		}
	}

	// Failure links, outputs and rows, breadth-first. A state's failure
	// target is shallower, so its link, row and output are complete when
	// the state is reached. A state's row is its failure target's with its
	// own goto edges written over.
	m.trans = make([]int32, nd*nc)
	m.depth = make([]int32, n)
	m.fail = make([]int32, n)
	for _, s := range order {
		s = id[s]
		var row []int32
		if s < m.ndense {
			row = m.trans[int(s)*nc : (int(s)+1)*nc]
			if s > 0 {
				f := int(m.fail[s])
				copy(row, m.trans[f*nc:(f+1)*nc])
			}
		}
		for e := m.estart[s]; e < m.estart[s+1]; e++ {
			c, u := m.ecls[e], m.eto[e]
			f := int32(0)
			if s > 0 {
				f = m.next(m.fail[s], c)
			}
			m.fail[u], m.depth[u] = f, m.depth[s]+1
			if m.out[u] < 0 {
				m.out[u] = m.out[f]
			}
			if row != nil {
				row[c] = m.enc(u)
			}
		}
	}
}

// enc is the table entry for a step into state t.
func (m *Masker) enc(t int32) int32 {
	if t < m.ndense && m.out[t] < 0 {
		return t * int32(m.nclass)
	}
	return ^t
}

// dec is the state a table entry or an encoded state stands for.
func (m *Masker) dec(x int) int32 {
	if x < 0 {
		return int32(^x)
	}
	return int32(x / m.nclass)
}

// goTo follows a trie edge, or returns -1.
func (m *Masker) goTo(s int32, c uint8) int32 {
	for e := m.estart[s]; e < m.estart[s+1]; e++ {
		if m.ecls[e] == c {
			return m.eto[e]
		}
	}
	return -1
}

// next is the automaton's transition from state s on class c: the row when
// s has one, goto edges and failure links beyond.
func (m *Masker) next(s int32, c uint8) int32 {
	for s >= m.ndense {
		if m.kid[s] == int16(c) {
			return s + 1
		}
		if t := m.goTo(s, c); t >= 0 {
			return t
		}
		s = m.fail[s]
	}
	return m.dec(int(m.trans[int(s)*m.nclass+int(c)]))
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
