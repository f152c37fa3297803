//go:build unix

package session

import (
	"io/fs"
	"strconv"
	"syscall"
)

// sysState is a file's device and inode: a file replaced by a rename has a
// new inode whatever its size and time.
func sysState(st fs.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(s.Dev), 10) + ":" + strconv.FormatUint(uint64(s.Ino), 10)
	}
	return ""
}
