//go:build !linux

package forward

import "net"

// writeJournal sends one entry as a datagram (journald runs on Linux
// only; there is no memfd to pass a larger one in).
func writeJournal(conn *net.UnixConn, m []byte) error {
	_, err := conn.Write(m)
	return err
}
