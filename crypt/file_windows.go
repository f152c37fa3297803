package crypt

// Windows has no O_NOFOLLOW; ReadKeyFile's Stat of the open file still
// refuses anything but a regular file.
const (
	oNoFollow = 0
	oNonBlock = 0
)

func isSymlinkErr(error) bool { return false }
