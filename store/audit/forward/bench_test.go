package forward

import (
	"context"
	"net"
	"testing"

	"github.com/hush-secrets/hush/store"
)

// What forwarding adds to one command: spool the batch (one fsync), then
// send it and record the progress.
func BenchmarkSpoolAndSend(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	t := &testing.T{}
	line := sealed(t, b.TempDir(), entry("secret.read", "app/prod/DB", true))
	for _, c := range []struct {
		name string
		send bool
	}{{"spool", false}, {"spool+udp", true}} {
		b.Run(c.name, func(b *testing.B) {
			f, err := New(store.AuditConfig{Forward: []store.AuditSink{{Syslog: "udp://" + pc.LocalAddr().String()}}}, b.TempDir(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := f.Spool(line); err != nil {
					b.Fatal(err)
				}
				if c.send {
					if _, err := f.Send(context.Background(), false); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
