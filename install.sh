#!/usr/bin/env bash
# Builds hush from this checkout and installs it.
#   ./install.sh [--prefix DIR]
# Default: ~/.local/bin, or /usr/local/bin as root. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"

prefix=""
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) prefix="${2:?--prefix needs a directory}"; prefix_given=1; shift 2 ;;
	--prefix=*) prefix="${1#--prefix=}"; prefix_given=1; shift ;;
	-h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$prefix" ]; then
	if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
bindir="$prefix/bin"

command -v go >/dev/null || { echo "install.sh: Go is not installed (need Go 1.26 or newer: https://go.dev/dl/)" >&2; exit 1; }
gov=$(go env GOVERSION | sed 's/^go//')
major=${gov%%.*}; rest=${gov#*.}; minor=${rest%%.*}
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 26 ]; }; then
	echo "install.sh: Go $gov is too old; hush needs Go 1.26 or newer" >&2
	exit 1
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
mkdir -p "$bindir"
# Both built before either is replaced, so a failed build leaves the
# installed pair as it was. Static (no cgo): see the Makefile. hush-sops
# holds the sops library and goes beside hush, where hush looks for it.
tmp=$(mktemp "$bindir/.hush.XXXXXX")
tmpsops=$(mktemp "$bindir/.hush-sops.XXXXXX")
trap 'rm -f "$tmp" "$tmpsops"' EXIT
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w -X main.version=$version" -o "$tmp" ./cmd/hush
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmpsops" ./cmd/hush-sops
chmod 755 "$tmp" "$tmpsops"
mv -f "$tmpsops" "$bindir/hush-sops"
mv -f "$tmp" "$bindir/hush"
trap - EXIT

"$bindir/hush" --version
echo "installed $bindir/hush and $bindir/hush-sops"

# The completion for the user's shell, where that shell looks for it.
data="${XDG_DATA_HOME:-$HOME/.local/share}"
case "$(basename "${SHELL:-}")" in
bash) dest="$data/bash-completion/completions/hush"; [ "$(id -u)" -eq 0 ] && [ -z "${prefix_given:-}" ] && dest=/usr/share/bash-completion/completions/hush ;;
zsh) dest="$data/zsh/site-functions/_hush"; [ "$(id -u)" -eq 0 ] && [ -z "${prefix_given:-}" ] && dest=/usr/local/share/zsh/site-functions/_hush ;;
fish) dest="${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/hush.fish" ;;
*) dest="" ;;
esac
if [ -n "$dest" ]; then
	mkdir -p "$(dirname "$dest")"
	"$bindir/hush" completion "$(basename "$SHELL")" > "$dest.tmp" && mv -f "$dest.tmp" "$dest"
	echo "installed $(basename "$SHELL") completion: $dest"
	case "$(basename "$SHELL")" in zsh) echo "hint: make sure $(dirname "$dest") is in your fpath" ;; esac
fi
case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "hint: $bindir is not on your PATH; add it: export PATH=\"$bindir:\$PATH\"" ;;
esac
