// Package scan finds secrets in files, in staged git changes and in git
// history, for `hush scan` and the pre-commit hook `hush hook install`
// writes.
//
// It works on plain values and imports nothing else of hush: the caller
// decrypts what the user may read and hands the values over in
// Config.Known, loads the allowlist (ParseAllowlist) and a baseline
// (ReadBaseline), builds a Scanner (New), scans (ScanPaths, ScanStaged,
// ScanHistory, ScanReader), and renders the findings (WriteFindings).
// InstallHook writes the git pre-commit hook.
//
// Two kinds of detector run over the same bytes:
//
//   - rules (Rules): ninety-nine formats (AWS, GitHub, GitLab,
//     Stripe, Slack, OpenAI, every PEM private key kind, database and
//     basic-auth URLs…) plus one generic rule for password/secret/token/
//     api_key assignments, gated by entropy and shape so that placeholders,
//     hashes, UUIDs and code references do not fire;
//   - known values: each value in Config.Known, verbatim and base64-,
//     URL- and hex-encoded. A finding names the key, never the value.
//
// Speed comes from a keyword prefilter: one Aho-Corasick automaton (aho.go)
// holds every rule's keywords and a prefix of every known form, and only
// the line around a keyword hit is given to the rule's regular expression.
// Files are scanned in parallel, each streamed in 1 MiB chunks that overlap
// by a few KiB, so a file of any size takes bounded memory and line and
// column numbers stay right across chunks.
//
// No output holds a whole secret: a Finding carries the first four
// characters (Redacted) and a Fingerprint, a hash of the secret under its
// rule (PBKDF2 for secrets people choose, so a committed baseline does not
// give weak passwords away).
package scan
