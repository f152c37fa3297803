#!/bin/sh
# initcost.sh A B [RUNS]: compare the package-init cost of two hush builds.
# Runs `BIN --version` under GODEBUG=inittrace=1, interleaving A and B, and
# prints for each the median and minimum of the summed init clock times, the
# number of packages initialised, and the wall time of the whole command.
# Build the two with the same flags, e.g. go build -trimpath -tags
# urfave_cli_no_docs, one of them from a tree without the SOPS code.
set -eu
a=$1 b=$2 n=${3:-41}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$n" ]; do
	for bin in "$a" "$b"; do
		k=$(printf %s "$bin" | tr / _)
		GODEBUG=inittrace=1 "$bin" --version 2>&1 >/dev/null |
			awk '/^init /{ms+=$5; n++} END{printf "%.3f %d\n", ms, n}' >>"$tmp/init$k"
		s=$(date +%s%N)
		"$bin" --version >/dev/null 2>&1
		e=$(date +%s%N)
		echo $(((e - s) / 1000)) >>"$tmp/wall$k"
	done
	i=$((i + 1))
done
for bin in "$a" "$b"; do
	k=$(printf %s "$bin" | tr / _)
	sort -n "$tmp/init$k" | awk -v name="$bin" '{a[NR]=$1; p=$2} END{printf "%s: init median %.2f ms, min %.2f ms, %d packages", name, a[int((NR+1)/2)], a[1], p}'
	sort -n "$tmp/wall$k" | awk '{a[NR]=$1} END{printf "; wall median %.1f ms, min %.1f ms\n", a[int((NR+1)/2)]/1000, a[1]/1000}'
done
