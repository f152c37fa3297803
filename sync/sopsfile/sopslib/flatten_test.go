package sopslib

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/getsops/sops/v3"

	"github.com/hush-secrets/hush/store"
)

// plainEntries flattens a plaintext file as Decrypt flattens a decrypted one.
func plainEntries(f Format, src string) ([]Entry, error) {
	st := storeFor(f)
	branches, err := st.LoadPlainFile([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(branches) != 1 {
		return nil, fmt.Errorf("parse: %d documents", len(branches))
	}
	return flatten(branches[0], f, st)
}

func TestFlattenNames(t *testing.T) {
	cases := []struct {
		f         Format
		src, want string // want: NAME=value lines, or "error: substring"
	}{
		{YAML, "db: {password: x}", "DB_PASSWORD=x"},
		{YAML, "hosts: [a, b]", "HOSTS_0=a HOSTS_1=b"},
		{YAML, "db-main: {user.name: x}", "DB_MAIN_USER_NAME=x"},
		{YAML, "lower: x\nMixed_Case: y", "lower=x Mixed_Case=y"},
		{YAML, "a: {b: [{c: 1}, {c: 2}]}", "A_B_0_C=1 A_B_1_C=2"},
		{YAML, "db-host: x", "DB_HOST=x"},
		{YAML, "1: x", "error: cannot be mapped to an environment name (it would be 1)"},
		{YAML, "2fa: {secret: x}", "error: [\"2fa\"][\"secret\"] cannot be mapped"},
		{YAML, "\"my key\": x", "error: [\"my key\"] cannot be mapped to an environment name: keys may hold only"},
		{YAML, "db: {\"\": x}", "error: an empty key"},
		{YAML, "DB_PASSWORD: x\ndb: {password: y}", "error: [\"DB_PASSWORD\"] and [\"db\"][\"password\"] both map to DB_PASSWORD"},
		{YAML, "db: {a: 1}\nDB: {a: 2}", "error: both map to DB_A"},
		{YAML, "db: {pass_word: 1, pass: {word: 2}}", "error: both map to DB_PASS_WORD"},
		{YAML, "a: null", "error: [\"a\"]: null value"},
		{YAML, "a: {}\nb: []\nc: x", "c=x"},
		{YAML, "é: x", "error: keys may hold only"},
		{JSON, `{"a": {"b": true}, "n": 1.50, "i": 10}`, "A_B=true n=1.5 i=10"},
		{Dotenv, "export FOO=bar", "error: [\"export FOO\"] cannot be mapped"},
		{Dotenv, "A=\"q\" # c", "A=\"q\" # c"},
		{INI, "X = 1\n[s]\nk = v\n", "X=1 S_K=v"},
	}
	for _, c := range cases {
		entries, err := plainEntries(c.f, c.src)
		var got string
		if err != nil {
			got = "error: " + err.Error()
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s %q: error %v is not ErrInvalid", c.f, c.src, err)
			}
		} else {
			var parts []string
			for _, e := range entries {
				parts = append(parts, e.Name+"="+e.Value.Reveal())
			}
			got = strings.Join(parts, " ")
		}
		if strings.HasPrefix(c.want, "error: ") && strings.Contains(got, strings.TrimPrefix(c.want, "error: ")) {
			continue
		}
		if got != c.want {
			t.Errorf("%s %q:\n got %s\nwant %s", c.f, c.src, got, c.want)
		}
	}
}

// FuzzFlatten checks the mapping's promises on any tree sops parses:
// every leaf gets exactly one distinct, valid name or the file is refused;
// and what Encrypt would write for those names (a flat tree, through sops'
// own emitter and parser) maps back to the same names and values.
func FuzzFlatten(f *testing.F) {
	for _, s := range []string{
		"db: {password: x}", "hosts: [a, b, {c: d}]", "DB_PASSWORD: x\ndb: {password: y}", "a: 1.50\nb: 0x1F\nc: yes",
		"k: |\n  multi\n  line\n", "\"a b\": 1", "A: ''", "x: [[1, 2], [3]]", "é: 1", "_: {_: {_: 1}}",
	} {
		f.Add(s, uint8(0))
	}
	f.Add(`{"a": {"b": [1, "x"]}, "C": null}`, uint8(1))
	f.Add("A=1\nB=\"x\" # y\n#c\nC=a\\nb", uint8(2))
	f.Fuzz(func(t *testing.T, src string, which uint8) {
		format := []Format{YAML, JSON, Dotenv}[int(which)%3]
		st := storeFor(format)
		branches, err := loadPlain(st, []byte(src))
		if err != nil || len(branches) != 1 {
			return
		}
		leaves := 0
		_ = walk(branches[0], nil, func(path, any) error { leaves++; return nil })
		entries, err := flatten(branches[0], format, st)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if len(entries) != leaves {
			t.Fatalf("%d leaves, %d entries", leaves, len(entries))
		}
		seen := map[string]bool{}
		var secrets []Secret
		for _, e := range entries {
			if store.ValidKeyName(e.Name) != nil || seen[e.Name] {
				t.Fatalf("bad or repeated name %q", e.Name)
			}
			seen[e.Name] = true
			secrets = append(secrets, Secret{Name: e.Name, Value: e.Value})
		}
		// The reverse direction: hush's names written flat, as Encrypt does.
		for _, out := range []Format{YAML, JSON, Dotenv} {
			if checkWritable(secrets, out) != nil {
				continue
			}
			ost := storeFor(out)
			flat := make(sops.TreeBranch, 0, len(secrets))
			for _, s := range secrets {
				flat = append(flat, sops.TreeItem{Key: s.Name, Value: s.Value.Reveal()})
			}
			b, err := ost.EmitPlainFile(sops.TreeBranches{flat})
			if err != nil {
				t.Fatalf("%s: emit: %v", out, err)
			}
			back, err := loadPlain(ost, b)
			if err != nil || len(back) != 1 {
				t.Fatalf("%s: reparse: %v", out, err)
			}
			again, err := flatten(back[0], out, ost)
			if err != nil {
				t.Fatalf("%s: flatten of the flat file: %v", out, err)
			}
			if len(again) != len(entries) {
				t.Fatalf("%s: %d entries back, want %d", out, len(again), len(entries))
			}
			for i := range again {
				if again[i].Name != entries[i].Name || again[i].Value != entries[i].Value {
					t.Fatalf("%s: entry %d: %s=%q back, want %s=%q", out, i, again[i].Name, again[i].Value.Reveal(), entries[i].Name, entries[i].Value.Reveal())
				}
			}
		}
	})
}

// loadPlain guards the fuzzer against sops' parsers' own panics, which
// are not what this target tests.
func loadPlain(st sops.Store, b []byte) (br sops.TreeBranches, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return st.LoadPlainFile(b)
}
