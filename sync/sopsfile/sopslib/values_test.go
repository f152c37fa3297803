package sopslib

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getsops/sops/v3"

	"github.com/hush-secrets/hush/store"
)

// TestValueTypesAgainstSops changes the (unauthenticated) type of each value
// of a file the real sops wrote to every type sops' cipher knows and some
// it does not, and holds hush to the real sops' verdict on each: where sops
// refuses (or crashes, as it does on type:bytes), hush refuses with a
// classified error; where sops decrypts, hush gives each value as sops
// decrypt prints it. Nothing panics.
func TestValueTypesAgainstSops(t *testing.T) {
	isolate(t)
	bin := sopsBin(t)
	key := newKey(t)
	plain := "N=42\nF=1.5\nB=true\nT=2026-01-02T03:04:05Z\nS=text\nZ=0\n"
	enc := string(runSops(t, bin, nil, []byte(plain), "encrypt", "--age", key.Recipient().String(), "--input-type", "dotenv", "--output-type", "dotenv", "/dev/stdin"))
	typ := regexp.MustCompile(`,type:str\]`)
	for _, name := range []string{"N", "F", "B", "T", "S", "Z"} {
		for _, to := range []string{"int", "float", "bool", "time", "bytes", "comment", "str", "weird", ""} {
			line := regexp.MustCompile(`(?m)^` + name + `=.*$`)
			changed := line.ReplaceAllStringFunc(enc, func(l string) string { return typ.ReplaceAllString(l, ",type:"+to+"]") })
			if to != "str" && changed == enc {
				t.Fatalf("%s → %s: the file did not change", name, to)
			}
			out, sopsErr := trySops(t, bin, key, []byte(changed), "decrypt", "--input-type", "dotenv", "--output-type", "dotenv", "/dev/stdin")
			got, err := Decrypt([]byte(changed), Dotenv, keysOf(key))
			switch {
			case sopsErr != nil && err == nil:
				t.Errorf("%s → type:%s: sops refuses (%v), hush accepts", name, to, firstLine(sopsErr.Error()))
			case sopsErr == nil && err != nil:
				t.Errorf("%s → type:%s: sops accepts, hush refuses: %v", name, to, err)
			case err != nil:
				if !errors.Is(err, store.ErrIntegrity) && !errors.Is(err, store.ErrInvalid) {
					t.Errorf("%s → type:%s: unclassified error %v", name, to, err)
				}
				if got != nil {
					t.Errorf("%s → type:%s: entries returned with the error", name, to)
				}
			default:
				want := map[string]string{}
				for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					k, v, _ := strings.Cut(l, "=")
					want[k] = strings.ReplaceAll(v, `\n`, "\n")
				}
				for _, e := range got.Entries {
					if want[e.Name] != e.Value.Reveal() {
						t.Errorf("%s → type:%s: %s is %q, sops decrypt prints %q", name, to, e.Name, e.Value.Reveal(), want[e.Name])
					}
				}
			}
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// FuzzLeafText: every value a tree can hold, in every format, converts to
// text or is refused with an error; none panics.
func FuzzLeafText(f *testing.F) {
	f.Add(uint8(0), "x", int64(1), 1.5, true)
	f.Add(uint8(3), "", int64(math.MaxInt64), math.Inf(1), false)
	f.Add(uint8(4), "", int64(math.MinInt64), math.NaN(), false)
	f.Add(uint8(5), "\xff\x00", int64(0), 1e308, false)
	f.Fuzz(func(t *testing.T, kind uint8, s string, n int64, fl float64, b bool) {
		values := []any{
			s, []byte(s), n, int(n), uint64(n), fl, b, nil,
			time.Unix(n%1e11, 0).UTC(), sops.Comment{Value: s},
			sops.TreeBranch{}, sops.TreeBranch{{Key: s, Value: sops.TreeBranch{}}}, []any{}, []any{[]any{}, nil},
			struct{}{}, map[string]any{s: n},
		}
		v := values[int(kind)%len(values)]
		for _, format := range []Format{YAML, JSON, Dotenv, INI} {
			text, err := leafText(v, format, storeFor(format))
			if err == nil {
				if str, ok := v.(string); ok && text != str {
					t.Fatalf("%s: string %q became %q", format, str, text)
				}
			} else if text != "" {
				t.Fatalf("%s: text returned with an error", format)
			}
		}
	})
}

// TestLeafTextTypes pins what the conversion gives for the types sops'
// cipher makes of a value's type in each format.
func TestLeafTextTypes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		v      any
		format Format
		want   string // "!" for a refusal
	}{
		{"a\x00\xff", YAML, "a\x00\xff"},
		{[]byte("a\x00\xff"), Dotenv, "a\x00\xff"},
		{42, Dotenv, "42"},
		{1.0, Dotenv, "1.0"},
		{1.5, YAML, "1.5"},
		{1e300, JSON, "1e+300"},
		{math.NaN(), JSON, "!"},
		{math.Inf(1), Dotenv, "+Inf"},
		{true, INI, "true"},
		{at, Dotenv, "2026-01-02T03:04:05Z"},
		{at, YAML, "2026-01-02T03:04:05Z"},
		{nil, YAML, "!"},
		{sops.Comment{Value: "x"}, Dotenv, "!"},
		{sops.TreeBranch{}, JSON, "!"},
		{[]any{}, YAML, "!"},
	} {
		got, err := leafText(c.v, c.format, storeFor(c.format))
		if c.want == "!" {
			if err == nil {
				t.Errorf("%s %T: %q, want a refusal", c.format, c.v, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %T: %q, %v; want %q", c.format, c.v, got, err, c.want)
		}
	}
}

// TestOddValuesAgainstSops: huge and special numbers, times, !!binary,
// nested empties, written by the real sops, read as sops decrypt --extract
// prints each; a null is refused naming its path. Nothing panics.
func TestOddValuesAgainstSops(t *testing.T) {
	isolate(t)
	bin := sopsBin(t)
	key := newKey(t)
	src := "big: 123456789012345678901234567890\nneg: -99999999999999999999\nf: 1.0e+300\ntiny: 1e-320\ninf: .inf\nnan: .nan\n" +
		"t: 2026-01-02T03:04:05Z\nd: 2026-01-02\nb: true\nbin: !!binary aGVsbG8=\nhex: 0x1F\noct: 0o17\ns: \"\"\n" +
		"emptymap: {}\nemptylist: []\nnested: {a: {b: {}}, c: [[], {}]}\n"
	enc := runSops(t, bin, nil, []byte(src), "encrypt", "--age", key.Recipient().String(), "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")
	got, err := Decrypt(enc, YAML, keysOf(key))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 13 {
		t.Errorf("%d entries, want 13 (empty mappings and lists hold no value)", len(got.Entries))
	}
	for _, e := range got.Entries {
		out := string(runSops(t, bin, key, enc, "decrypt", "--extract", e.Path, "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"))
		if v := e.Value.Reveal(); v != out && v+"\n" != out {
			t.Errorf("%s: hush %q, sops %q", e.Path, v, out)
		}
	}
	enc = runSops(t, bin, nil, []byte("a: x\nn: null\n"), "encrypt", "--age", key.Recipient().String(), "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")
	if _, err := Decrypt(enc, YAML, keysOf(key)); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), `["n"]: null value`) {
		t.Errorf("null: %v", err)
	}
}
