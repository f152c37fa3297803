package pebbletest

import (
	"testing"
	"time"
)

// TestStart checks the helper itself: pebble serves its directory and
// root, and both processes are gone after Stop.
func TestStart(t *testing.T) {
	p := Start(t, Options{Validity: time.Hour})
	if !p.Root.IsCA {
		t.Fatalf("root %s is not a CA", p.Root.Subject)
	}
	if _, err := p.get("/intermediates/0"); err != nil {
		t.Fatal(err)
	}
	procs := p.procs
	p.Stop()
	for _, pr := range procs {
		select {
		case <-pr.done:
		default:
			t.Fatalf("%s still runs after Stop", pr.name)
		}
	}
}
