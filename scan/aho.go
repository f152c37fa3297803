package scan

// This file holds the keyword prefilter: an Aho-Corasick automaton compiled to
// a dense DFA over byte equivalence classes, the layout the Rust aho-corasick
// crate and Hyperscan use for small pattern sets.
//
// Why not a library: the Go modules reachable here (BobuSumisu/aho-corasick,
// coregx/ahocorasick) match case-sensitively over a whole []byte and return
// slices of matches. The scanner needs three things they lack: ASCII
// case-insensitive matching without lower-casing a copy of the input (gitleaks
// copies every fragment for that), a state that carries across the chunks of
// a streamed file, and a hot loop that allocates nothing. A dense DFA does
// that in one table lookup per byte, in well under two hundred lines.

import "slices"

// automaton is an immutable, ASCII case-folding Aho-Corasick DFA. It is safe
// for concurrent use.
type automaton struct {
	class  [256]uint8 // byte → equivalence class; upper-case folded to lower
	stride int32      // number of classes; row length in trans
	// trans holds one row per state; a state is named by the offset of its
	// row (its index times stride), so a step is a single load. States are
	// numbered so that every state with an output comes last: a state is a
	// match state exactly when it is >= firstMatch.
	trans      []int32
	firstMatch int32
	outs       [][]int32 // outputs of match state (s-firstMatch)/stride
	patLen     []int     // length of each pattern
}

// newAutomaton compiles the patterns, which are matched ASCII
// case-insensitively. Empty patterns are ignored. Pattern i is reported as i.
func newAutomaton(patterns []string) *automaton {
	a := &automaton{patLen: make([]int, len(patterns))}
	// Equivalence classes: one per distinct folded byte used by a pattern,
	// class 0 for every other byte.
	var used [256]bool
	for i, p := range patterns {
		a.patLen[i] = len(p)
		for j := 0; j < len(p); j++ {
			used[fold(p[j])] = true
		}
	}
	n := uint8(1)
	for b := 0; b < 256; b++ {
		if used[b] {
			a.class[b] = n
			n++
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		a.class[b] = a.class[b+'a'-'A']
	}
	stride := int(n)
	a.stride = int32(stride)

	// Trie: goto[s*stride+c] = child or -1.
	goTo := []int32{}
	newState := func() int32 {
		for i := 0; i < stride; i++ {
			goTo = append(goTo, -1)
		}
		return int32(len(goTo)/stride - 1)
	}
	newState()
	out := [][]int32{nil}
	for i, p := range patterns {
		if p == "" {
			continue
		}
		s := int32(0)
		for j := 0; j < len(p); j++ {
			c := int32(a.class[p[j]])
			if goTo[s*int32(stride)+c] < 0 {
				t := newState()
				out = append(out, nil)
				goTo[s*int32(stride)+c] = t
			}
			s = goTo[s*int32(stride)+c]
		}
		out[s] = append(out[s], int32(i))
	}
	states := len(out)

	// Breadth-first: fail links, inherited outputs, and full transitions.
	fail := make([]int32, states)
	delta := make([]int32, states*stride)
	queue := make([]int32, 0, states)
	for c := 0; c < stride; c++ {
		if t := goTo[c]; t >= 0 {
			delta[c] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		out[s] = append(out[s], out[fail[s]]...)
		for c := 0; c < stride; c++ {
			t := goTo[int(s)*stride+c]
			if t < 0 {
				delta[int(s)*stride+c] = delta[int(fail[s])*stride+c]
				continue
			}
			delta[int(s)*stride+c] = t
			fail[t] = delta[int(fail[s])*stride+c]
			queue = append(queue, t)
		}
	}

	// Renumber so that match states come last, then premultiply.
	order := make([]int32, 0, states)
	for s := 0; s < states; s++ {
		if len(out[s]) == 0 {
			order = append(order, int32(s))
		}
	}
	firstMatch := len(order)
	for s := 0; s < states; s++ {
		if len(out[s]) > 0 {
			order = append(order, int32(s))
		}
	}
	// The start state must stay 0: it never has outputs, so it is order[0].
	newID := make([]int32, states)
	for i, s := range order {
		newID[s] = int32(i)
	}
	a.trans = make([]int32, states*stride)
	a.outs = make([][]int32, states-firstMatch)
	for i, s := range order {
		for c := 0; c < stride; c++ {
			a.trans[i*stride+c] = newID[delta[int(s)*stride+c]] * int32(stride)
		}
		if i >= firstMatch {
			o := slices.Clone(out[s])
			slices.Sort(o)
			a.outs[i-firstMatch] = slices.Compact(o)
		}
	}
	a.firstMatch = int32(firstMatch * stride)
	return a
}

func fold(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// hit is one pattern occurrence: end is the offset just past its last byte.
type hit struct {
	end int64
	pat int32
}

// scan feeds data to the DFA from state s and appends every pattern
// occurrence to hits, with end offsets counted from base. It returns the state
// to resume from with the next chunk.
func (a *automaton) scan(data []byte, s int32, base int64, hits []hit) (int32, []hit) {
	trans, class, first := a.trans, &a.class, a.firstMatch
	for i, b := range data {
		s = trans[s+int32(class[b])]
		if s >= first {
			for _, p := range a.outs[(s-first)/a.stride] {
				hits = append(hits, hit{end: base + int64(i) + 1, pat: p})
			}
		}
	}
	return s, hits
}
