//go:build !unix

package session

import "io/fs"

// sysState is empty where stat has no inode: size and time decide.
func sysState(fs.FileInfo) string { return "" }
