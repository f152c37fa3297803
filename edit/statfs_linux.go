package edit

import (
	"fmt"
	"syscall"
)

// File system magic numbers (linux/magic.h).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

var diskFS = map[uint32]string{
	0xef53:     "ext4",
	0x58465342: "xfs",
	0x9123683e: "btrfs",
	0x794c7630: "overlayfs",
	0x2fc12fc1: "zfs",
	0x6969:     "nfs",
	0x01021997: "9p",
}

// fsType names the file system dir is on and says whether it keeps its
// files in memory only.
func fsType(dir string) (name string, memory bool, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", false, fmt.Errorf("statfs: %w", err)
	}
	switch uint32(st.Type) {
	case tmpfsMagic:
		return "tmpfs", true, nil
	case ramfsMagic:
		return "ramfs", true, nil
	}
	if n, ok := diskFS[uint32(st.Type)]; ok {
		return n, false, nil
	}
	return fmt.Sprintf("a file system of type %#x", uint32(st.Type)), false, nil
}
