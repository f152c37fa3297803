package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

// The test binary doubles as a writer process: with HUSH_STORE_HELPER set
// it opens the project named by the environment and performs writes, so
// tests can run many of them at once or kill them mid-write.
func TestMain(m *testing.M) {
	if mode := os.Getenv("HUSH_STORE_HELPER"); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

func helper(mode string) int {
	id, err := crypt.ParseIdentity([]byte(os.Getenv("HUSH_IDENTITY")), "env")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := Open(os.Getenv("HUSH_ROOT"), os.Getenv("HUSH_DATA"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	key := os.Getenv("HUSH_KEY")
	switch mode {
	case "set-once":
		err = p.Update("dev", Team, id, func(d *Document) error {
			d.Secrets[key] = &Secret{Value: Value("v-" + key)}
			return nil
		})
	case "loop":
		// Count up forever; the parent kills us at a random moment.
		for i := 0; err == nil; i++ {
			err = p.Update("dev", Team, id, func(d *Document) error {
				n := 0
				if s, ok := d.Secrets["COUNTER"]; ok {
					n, _ = strconv.Atoi(s.Value.Reveal())
				}
				d.Secrets["COUNTER"] = &Secret{Value: Value(strconv.Itoa(n + 1))}
				// Grow the document so writes take long enough to be hit.
				d.Secrets[fmt.Sprintf("PAD_%d", n%50)] = &Secret{Value: Value(strings.Repeat("p", 2000))}
				return nil
			})
			if i == 0 {
				os.Stdout.Write([]byte("w")) // tell the parent the loop runs
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func helperCmd(t *testing.T, p *Project, id *crypt.Identity, mode, key string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HUSH_STORE_HELPER="+mode, "HUSH_ROOT="+p.Root, "HUSH_DATA="+p.DataDir,
		"HUSH_IDENTITY="+id.SecretText(), "HUSH_KEY="+key)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("helper %s %s: %s", mode, key, stderr.String())
		}
	})
	return cmd
}

// TestConcurrentWriters: 16 processes setting different keys at once keep
// all 16, because every read-modify-write holds the project lock.
func TestConcurrentWriters(t *testing.T) {
	p, id := newProject(t)
	const n = 16
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = helperCmd(t, p, id, "set-once", fmt.Sprintf("KEY_%02d", i))
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	d, err := p.Read("dev", Team, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Secrets) != n {
		t.Fatalf("%d keys survived, want %d: %v", len(d.Secrets), n, d.Names())
	}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("KEY_%02d", i)
		if s := d.Secrets[k]; s == nil || s.Value.Reveal() != "v-"+k {
			t.Errorf("%s lost or wrong", k)
		}
	}
}

// TestKillDuringWrites SIGKILLs a process that writes in a loop, at random
// moments, many times. After every kill the store must decrypt to a
// complete document whose counter never goes backwards, and no lock is
// left held.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	p, id := newProject(t)
	rng := rand.New(rand.NewPCG(1, 2))
	last, writes := 0, 0
	for round := 0; round < 40 || writes < 200; round++ {
		if round > 400 {
			t.Fatalf("only %d writes in %d rounds", writes, round)
		}
		cmd := helperCmd(t, p, id, "loop", "")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		out.Read(b[:]) // the first write is done; kill during the next ones
		time.Sleep(time.Duration(rng.IntN(30000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		d, err := p.Read("dev", Team, id)
		if err != nil {
			t.Fatalf("round %d: store unreadable after SIGKILL: %v", round, err)
		}
		n := 0
		if s, ok := d.Secrets["COUNTER"]; ok {
			n, _ = strconv.Atoi(s.Value.Reveal())
		}
		if n < last {
			t.Fatalf("round %d: counter went back from %d to %d", round, last, n)
		}
		writes += n - last
		last = n
	}
	t.Logf("%d writes survived random SIGKILLs", writes)
}
