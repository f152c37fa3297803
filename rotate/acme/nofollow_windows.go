package acme

// Windows has no O_NOFOLLOW; O_EXCL alone refuses an existing file.
const noFollow = 0
