package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
)

// ErrReferenceRefused is CheckDotenv's answer when the reference reader
// refuses a file ParseDotenv read. Its message holds no part of the file.
var ErrReferenceRefused = errors.New("the reference dotenv reader (compose-go) refuses the file")

// expansionMarker is what CheckDotenv's reference reader gets for every
// variable it looks up: a NUL cannot come from the file (ParseDotenv
// refuses it), so a value holding one depends on expansion.
const expansionMarker = "\x00hush-expanded\x00"

// CheckDotenv reads src a second time with a parser that shares no code with
// ParseDotenv (compose-go's dotenv package, the one the docker compose tools
// read env files with) and compares what it reads with stored, the values
// hush stored for the file's keys. It returns a Dispute for every key the
// reference reader reads otherwise, reads with a variable expansion, or does
// not see, and for every key it sees that stored lacks. An empty result
// means both readings agree byte for byte, with no expansion involved.
//
// The reference gets the file as ParseDotenv does after its first two
// steps (BOM skipped, CRLF as LF), since compose-go alone keeps a CR inside
// quotes; every variable it looks up reads as a marker, never the
// environment.
func CheckDotenv(src []byte, stored map[string]string) ([]Dispute, error) {
	src = normalizeNewlines(bytes.TrimPrefix(src, utf8BOM))
	ref, err := composedotenv.UnmarshalWithLookup(string(src), func(string) (string, bool) {
		return expansionMarker, true
	})
	if err != nil {
		// compose-go's messages quote the line, which may hold a value.
		return nil, ErrReferenceRefused
	}
	var out []Dispute
	for _, k := range sortedKeys(stored) {
		rv, ok := ref[k]
		switch {
		case !ok:
			out = append(out, Dispute{Key: k, Reason: "the reference reader (compose-go) does not read this key"})
		case strings.Contains(rv, expansionMarker):
			out = append(out, Dispute{Key: k, Reason: "the reference reader (compose-go) expands a variable in this value"})
		case rv != stored[k]:
			out = append(out, Dispute{Key: k, Reason: "the reference reader (compose-go) reads another value"})
		}
	}
	for _, k := range sortedKeys(ref) {
		if _, ok := stored[k]; !ok {
			out = append(out, Dispute{Key: quoteName(k), Reason: "the reference reader (compose-go) reads a key hush did not import"})
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckSource reads src, a file imported in format, a second time by another
// path than the import's and compares its values with stored (what hush
// holds for the file's keys): dotenv with CheckDotenv; JSON with
// encoding/json's Unmarshal rather than the import's token stream. YAML has
// no second reader here: it is parsed again by ParseYAML, which catches a
// file changed since the import but not a misreading. Disputes name keys,
// never values.
func CheckSource(src []byte, format Format, stored map[string]string) ([]Dispute, error) {
	switch format {
	case FormatDotenv:
		return CheckDotenv(src, stored)
	case FormatJSON:
		var raw map[string]any
		dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(src, utf8BOM)))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("json: the file no longer decodes")
		}
		ref := map[string]string{}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				ref[k] = v
			case json.Number:
				ref[k] = v.String()
			case bool:
				ref[k] = strconv.FormatBool(v)
			default:
				ref[k] = "\x00not a scalar"
			}
		}
		return compareRef(ref, stored, "encoding/json"), nil
	case FormatYAML:
		imp, err := ParseYAML(bytes.NewReader(src))
		if err != nil {
			return nil, errors.New("yaml: the file no longer parses")
		}
		ref := map[string]string{}
		for _, s := range imp.Secrets {
			ref[s.Name] = s.Value.Reveal()
		}
		return compareRef(ref, stored, "ParseYAML, again"), nil
	}
	return nil, fmt.Errorf("inject: no check for format %q", format)
}

func compareRef(ref, stored map[string]string, reader string) []Dispute {
	var out []Dispute
	for _, k := range sortedKeys(stored) {
		if rv, ok := ref[k]; !ok || rv != stored[k] {
			out = append(out, Dispute{Key: k, Reason: "read again (" + reader + ") it gives another value"})
		}
	}
	for _, k := range sortedKeys(ref) {
		if _, ok := stored[k]; !ok {
			out = append(out, Dispute{Key: quoteName(k), Reason: "read again (" + reader + ") it has a key hush did not import"})
		}
	}
	return out
}
