package audit

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkAppend1000(b *testing.B) {
	l := &Log{Path: filepath.Join(b.TempDir(), "a.jsonl"), AnchorKey: []byte("k")}
	es := make([]Entry, 1000)
	for i := range es {
		es[i] = Entry{Time: time.Now(), Action: SecretRead, Path: fmt.Sprintf("p/dev/KEY_%05d", i), Identity: "age1qvkeqtugrfvagrq9reczh0slykhgqgsyr9xy64jkj45fv47acerqcca8ds", User: "root", PID: 1, Command: "hush run", Success: true}
	}
	for b.Loop() {
		if err := l.Append(es...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	e := Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev/KEY_00001", Identity: "age1qvkeqtugrfvagrq9reczh0slykhgqgsyr9xy64jkj45fv47acerqcca8ds", User: "root", PID: 1, Command: "hush run", Success: true}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		sealTo(&buf, e, genesis)
	}
}

// BenchmarkAppendRun is what hush run writes today: one line naming 1,000
// keys, anchored and witnessed.
func BenchmarkAppendRun(b *testing.B) {
	dir := b.TempDir()
	l := &Log{Path: filepath.Join(dir, "a.jsonl"), AnchorKey: []byte("k"), Witnesses: []Witness{FileWitness{Path: filepath.Join(dir, "data", "w")}}}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("KEY_%05d", i)
	}
	e := Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev", Keys: keys, Identity: "age1qvkeqtugrfvagrq9reczh0slykhgqgsyr9xy64jkj45fv47acerqcca8ds", User: "root", PID: 1, Command: "hush run", Success: true, Host: "h", Version: "dev"}
	for b.Loop() {
		if err := l.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}
