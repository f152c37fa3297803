#!/usr/bin/env bash
# Builds hush from this checkout and installs it, or installs a release
# archive (make release) without Go, checked against its SHA256SUMS.
#   ./install.sh [--prefix DIR] [--archive FILE|URL [--sha256 HEX]] [--no-completion]
# Default: ~/.local/bin, or /usr/local/bin as root. Idempotent.
set -euo pipefail

prefix=""
archive=""
want_sum=""
completion=1
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) prefix="${2:?--prefix needs a directory}"; prefix_given=1; shift 2 ;;
	--prefix=*) prefix="${1#--prefix=}"; prefix_given=1; shift ;;
	--archive) archive="${2:?--archive needs a file or URL}"; shift 2 ;;
	--archive=*) archive="${1#--archive=}"; shift ;;
	--sha256) want_sum="${2:?--sha256 needs a hex digest}"; shift 2 ;;
	--sha256=*) want_sum="${1#--sha256=}"; shift ;;
	--no-completion) completion=""; shift ;;
	-h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$prefix" ]; then
	if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
bindir="$prefix/bin"

# An archive: fetched (a URL) or read (a file), its digest checked against
# --sha256 or the SHA256SUMS beside it, never installed unchecked.
if [ -n "$archive" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	base=$(basename "$archive")
	case "$archive" in
	http://*|https://*|file://*)
		curl -fsSL --proto '=https,file' -o "$work/$base" "$archive" || { echo "install.sh: cannot download $archive" >&2; exit 1; }
		[ -n "$want_sum" ] || curl -fsSL --proto '=https,file' -o "$work/SHA256SUMS" "${archive%/*}/SHA256SUMS" 2>/dev/null || true ;;
	*)
		cp "$archive" "$work/$base"
		[ -n "$want_sum" ] || [ ! -f "$(dirname "$archive")/SHA256SUMS" ] || cp "$(dirname "$archive")/SHA256SUMS" "$work/SHA256SUMS" ;;
	esac
	if [ -z "$want_sum" ]; then
		[ -f "$work/SHA256SUMS" ] || { echo "install.sh: no SHA256SUMS beside $archive; pass --sha256 HEX" >&2; exit 1; }
		want_sum=$(awk -v f="$base" '$2 == f || $2 == "*"f { print $1 }' "$work/SHA256SUMS")
		[ -n "$want_sum" ] || { echo "install.sh: SHA256SUMS does not list $base" >&2; exit 1; }
	fi
	got=$(sha256sum "$work/$base" | awk '{print $1}')
	[ "$got" = "$want_sum" ] || { echo "install.sh: $base: checksum mismatch (got $got, want $want_sum); nothing installed" >&2; exit 1; }
	mkdir "$work/x"
	tar -C "$work/x" -xzf "$work/$base"
	found=$(find "$work/x" -type f \( -name hush -o -name hush.exe \) | head -1)
	src=$(dirname "${found:-$work/x/none}")
	exe=""
	case "$found" in *.exe) exe=.exe ;; esac
	[ -f "$src/hush$exe" ] && [ -f "$src/hush-sops$exe" ] && [ -f "$src/hush-cloud$exe" ] || { echo "install.sh: $base holds no hush, hush-sops and hush-cloud" >&2; exit 1; }
	mkdir -p "$bindir"
	# Both copied in before either is replaced.
	install -m 755 "$src/hush-sops$exe" "$bindir/.hush-sops.new"
	install -m 755 "$src/hush-cloud$exe" "$bindir/.hush-cloud.new"
	install -m 755 "$src/hush$exe" "$bindir/.hush.new"
	mv -f "$bindir/.hush-sops.new" "$bindir/hush-sops$exe"
	mv -f "$bindir/.hush-cloud.new" "$bindir/hush-cloud$exe"
	mv -f "$bindir/.hush.new" "$bindir/hush$exe"
	"$bindir/hush$exe" --version
	echo "installed $bindir/hush, $bindir/hush-sops and $bindir/hush-cloud from $base (sha256 $got)"
	exit 0
fi

cd "$(dirname "$0")"

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
tmpcloud=$(mktemp "$bindir/.hush-cloud.XXXXXX")
trap 'rm -f "$tmp" "$tmpsops" "$tmpcloud"' EXIT
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w -X main.version=$version" -o "$tmp" ./cmd/hush
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmpsops" ./cmd/hush-sops
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmpcloud" ./cmd/hush-cloud
chmod 755 "$tmp" "$tmpsops" "$tmpcloud"
mv -f "$tmpsops" "$bindir/hush-sops"
mv -f "$tmpcloud" "$bindir/hush-cloud"
mv -f "$tmp" "$bindir/hush"
trap - EXIT

"$bindir/hush" --version
echo "installed $bindir/hush, $bindir/hush-sops and $bindir/hush-cloud"

# The completion for the user's shell, where that shell looks for it.
data="${XDG_DATA_HOME:-$HOME/.local/share}"
case "$(basename "${SHELL:-}")" in
bash) dest="$data/bash-completion/completions/hush"; [ "$(id -u)" -eq 0 ] && [ -z "${prefix_given:-}" ] && dest=/usr/share/bash-completion/completions/hush ;;
zsh) dest="$data/zsh/site-functions/_hush"; [ "$(id -u)" -eq 0 ] && [ -z "${prefix_given:-}" ] && dest=/usr/local/share/zsh/site-functions/_hush ;;
fish) dest="${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/hush.fish" ;;
*) dest="" ;;
esac
if [ -n "$dest" ] && [ -n "$completion" ]; then
	mkdir -p "$(dirname "$dest")"
	"$bindir/hush" completion "$(basename "$SHELL")" > "$dest.tmp" && mv -f "$dest.tmp" "$dest"
	echo "installed $(basename "$SHELL") completion: $dest"
	case "$(basename "$SHELL")" in zsh) echo "hint: make sure $(dirname "$dest") is in your fpath" ;; esac
fi
case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "hint: $bindir is not on your PATH; add it: export PATH=\"$bindir:\$PATH\"" ;;
esac
