package corpusgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options says what corpus to make.
type Options struct {
	Dir  string // created; must not exist or be empty
	Seed uint64
	Size int64 // approximate total bytes
	// Every is the mean number of bytes between planted secrets, and
	// between decoys; 0 means 24 KiB.
	Every int
}

// Plant is a secret put in the corpus: where its first line is, and which
// rule of hush's should find it.
type Plant struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Rule   string `json:"rule"`
}

// Decoy is a line that looks secret and is not.
type Decoy struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Kind int    `json:"kind"` // index into the decoy list
}

// Manifest records a corpus: it is written next to the corpus, never inside.
type Manifest struct {
	Seed   uint64  `json:"seed"`
	Bytes  int64   `json:"bytes"`
	Files  int     `json:"files"`
	Plants []Plant `json:"plants"`
	Decoys []Decoy `json:"decoys"`
}

// RuleIDs is every rule with a token recipe, sorted.
func RuleIDs() []string {
	ids := make([]string, 0, len(Tokens))
	for id := range Tokens {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Generate writes a corpus and returns its manifest. The same options make
// the same bytes.
func Generate(o Options) (Manifest, error) {
	if o.Every <= 0 {
		o.Every = 24 << 10
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	m := Manifest{Seed: o.Seed}
	rules := RuleIDs()
	next := 0
	for n := 0; m.Bytes < o.Size; n++ {
		lang := languages[r.IntN(len(languages))]
		// Log-uniform sizes from 2 KiB to 256 KiB; now and then a big file
		// so that chunked reading is exercised.
		size := int64(2048 * math.Pow(128, r.Float64()))
		if r.IntN(150) == 0 {
			size = 4 << 20
		}
		size = min(size, o.Size-m.Bytes+1)
		dir := fmt.Sprintf("%s/%s", words[r.IntN(len(words))], words[r.IntN(len(words))])
		rel := fmt.Sprintf("%s/%s_%d%s", dir, words[r.IntN(len(words))], n, lang.ext)
		written, err := writeFile(o, r, &m, rel, lang, size, rules, &next)
		if err != nil {
			return Manifest{}, err
		}
		m.Bytes += written
		m.Files++
	}
	return m, nil
}

func writeFile(o Options, r *rand.Rand, m *Manifest, rel string, lang language, size int64,
	rules []string, next *int) (int64, error) {
	path := filepath.Join(o.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	var n int64
	line := 1
	put := func(s string) {
		w.WriteString(s)
		w.WriteByte('\n')
		n += int64(len(s)) + 1
		line += strings.Count(s, "\n") + 1
	}
	// A line is ~30 bytes: plant and decoy with probability 30/Every each.
	p := 30.0 / float64(o.Every)
	for n < size {
		switch x := r.Float64(); {
		case x < p:
			rule := rules[*next%len(rules)]
			*next++
			text, dl, col := plantLine(r, lang, rule)
			m.Plants = append(m.Plants, Plant{File: rel, Line: line + dl, Column: col, Rule: rule})
			put(text)
		case x < 2*p:
			k := r.IntN(len(decoys))
			m.Decoys = append(m.Decoys, Decoy{File: rel, Line: line, Kind: k})
			put(fill(r, Expand(r, decoys[k])))
		default:
			put(fill(r, lang.filler[r.IntN(len(lang.filler))]))
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return n, f.Close()
}

// plantLine returns the text holding a fresh secret of rule in a file of
// lang, and the line (counted from 0) and column where the secret starts.
func plantLine(r *rand.Rand, lang language, rule string) (string, int, int) {
	tok := Tokens[rule]
	secret := Expand(r, tok.Template)
	var ctx string
	switch {
	case tok.Context != "":
		ctx = Expand(r, tok.Context)
	case tok.Multi && lang.ext == ".yaml":
		// A key in a YAML block scalar: indented lines under a key.
		ctx = "  private_key: |\n    %s"
		secret = strings.ReplaceAll(secret, "\n", "\n    ")
	case tok.Multi:
		ctx = "%s"
	default:
		ctx = fill(r, lang.plant[r.IntN(len(lang.plant))])
	}
	before, after, _ := strings.Cut(ctx, "%s")
	text := before + secret + after
	// The secret's first line is the line recorded: for a block scalar the
	// key line comes first.
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		return text, strings.Count(before, "\n"), len(before) - i
	}
	return text, 0, len(before) + 1
}

// WriteManifest writes m as JSON.
func WriteManifest(path string, m Manifest) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// ReadManifest reads a manifest written by WriteManifest.
func ReadManifest(path string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}
