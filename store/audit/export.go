package audit

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is an audit line in the shape the team view and a SIEM read:
// the seed's fields (timestamp, action, path, identity, source_ip,
// success) and what hush adds. SourceIP is the address of the remote hush
// talked to (a Vault); a local access has none, its machine is Host.
type Record struct {
	Timestamp time.Time `json:"timestamp"`
	Action    string    `json:"action"`
	Path      string    `json:"path"`
	Identity  string    `json:"identity"`
	SourceIP  string    `json:"source_ip"`
	Success   bool      `json:"success"`
	Host      string    `json:"host"`
	Version   string    `json:"version"`
	Lease     string    `json:"lease"`
	User      string    `json:"user"`
	Command   string    `json:"command"`
	Keys      []string  `json:"keys,omitempty"`
	Error     string    `json:"error,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Hash      string    `json:"hash"`
	// Log names the exported log a merged line came from.
	Log string `json:"log,omitempty"`
}

// ToRecord is e in the team view's shape.
func ToRecord(e Entry) Record {
	return Record{Timestamp: e.Time, Action: e.Action, Path: e.Path, Identity: e.Identity, SourceIP: e.Source, Success: e.Success,
		Host: e.Host, Version: e.Version, Lease: e.Lease, User: e.User, Command: e.Command, Keys: e.Keys, Error: e.Error, Detail: e.Detail, Hash: e.Hash}
}

// ExportLines verifies the whole log (the anchor too when key is set) and
// then writes its lines, every segment in order, exactly as written: the
// JSON-lines export, a chain anyone can verify again (hush audit merge).
func (l *Log) ExportLines(key []byte, w io.Writer) (Report, error) {
	rep, err := l.VerifyAll(key, nil)
	if err != nil {
		return rep, err
	}
	segs, err := l.segments()
	if err != nil {
		return rep, err
	}
	left := rep.Lines // lines appended after the check are not exported
	for i, s := range segs {
		var r io.ReadCloser
		if i == len(segs)-1 {
			r, err = l.Open()
		} else {
			r, err = os.Open(s)
		}
		if err != nil {
			return rep, err
		}
		br := bufio.NewReaderSize(r, 64<<10)
		for left > 0 {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				if _, werr := w.Write(line); werr != nil {
					r.Close()
					return rep, werr
				}
				left--
			}
			if err != nil {
				break
			}
		}
		r.Close()
	}
	return rep, nil
}

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"timestamp", "action", "path", "identity", "source_ip", "success", "host", "version", "lease", "user", "command", "keys", "error", "hash", "log"}

// CSVRow is r as a CSV row. A cell a spreadsheet would run as a formula
// (=, +, -, @, tab, CR first) gets a leading quote: paths, errors and
// commands can come from a repository.
func CSVRow(r Record) []string {
	row := []string{r.Timestamp.UTC().Format(time.RFC3339Nano), r.Action, r.Path, r.Identity, r.SourceIP, strconv.FormatBool(r.Success),
		r.Host, r.Version, r.Lease, r.User, r.Command, strings.Join(r.Keys, " "), r.Error, r.Hash, r.Log}
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}

// WriteRecords writes records as "jsonl" (one object a line), "json" (an
// array) or "csv" (CSVHeader, then a row each).
func WriteRecords(w io.Writer, format string, records func(yield func(Record) error) error) error {
	switch format {
	case "jsonl":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return records(func(r Record) error { return enc.Encode(r) })
	case "json":
		// One write per element, so a writer that escapes for a terminal
		// sees whole JSON values.
		sep := "[\n  "
		err := records(func(r Record) error {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			_, err = w.Write(append([]byte(sep), b...))
			sep = ",\n  "
			return err
		})
		if err != nil {
			return err
		}
		if sep == "[\n  " {
			_, err = io.WriteString(w, "[]\n")
		} else {
			_, err = io.WriteString(w, "\n]\n")
		}
		return err
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return err
		}
		if err := records(func(r Record) error { return cw.Write(CSVRow(r)) }); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("unknown format %q: use json, jsonl or csv", format)
}

// MergeInput is one member's exported log.
type MergeInput struct {
	Name string
	R    io.Reader
}

// Merge verifies each input's chain from its first line (an export of a
// whole log), then returns every line of all of them as one timeline,
// ordered by time (then by input, then by line). A line in several
// inputs (the same log exported twice, an older and a newer export) is
// kept once: its hash names it. A broken chain fails the merge with an
// error wrapping ErrChain that names the input.
func Merge(inputs []MergeInput) ([]Record, error) {
	type keyed struct {
		r          Record
		in, lineNo int
	}
	var all []keyed
	seen := map[string]bool{}
	for i, in := range inputs {
		n := 0
		err := Scan(in.R, func(lineNo int, e Entry) error {
			n = lineNo
			if seen[e.Hash] {
				return nil
			}
			seen[e.Hash] = true
			r := ToRecord(e)
			r.Log = in.Name
			all = append(all, keyed{r, i, lineNo})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: %s holds no audit lines", ErrChain, in.Name)
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if !all[a].r.Timestamp.Equal(all[b].r.Timestamp) {
			return all[a].r.Timestamp.Before(all[b].r.Timestamp)
		}
		if all[a].in != all[b].in {
			return all[a].in < all[b].in
		}
		return all[a].lineNo < all[b].lineNo
	})
	out := make([]Record, len(all))
	for i, k := range all {
		out[i] = k.r
	}
	return out, nil
}
