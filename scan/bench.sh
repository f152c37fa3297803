#!/usr/bin/env bash
# scan/bench.sh — hush's scanner against gitleaks on one generated corpus.
#
# Makes an ~80 MB corpus of source-like files with planted fake secrets and
# decoys (deterministic from SEED), runs both scanners under /usr/bin/time -v,
# and prints throughput, recall on the planted secrets, false positives
# (findings on lines where nothing was planted) and peak memory.
#
#   scan/bench.sh                 # SIZE=80 (MB) SEED=1
#   HUSH_CMD="hush scan --format json" scan/bench.sh   # once the CLI is wired
#
# Everything goes under .cache/ (git-ignored): the corpus, its manifest,
# the reports and the built tools.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache
SIZE=${SIZE:-80}
SEED=${SEED:-1}
GITLEAKS_VERSION=${GITLEAKS_VERSION:-v8.30.1}
CORPUS=$CACHE/scan-corpus
OUT=$CACHE/scan-bench
mkdir -p "$CACHE/bin" "$OUT"

if [ ! -x /usr/bin/time ]; then
	apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
if [ ! -x "$CACHE/bin/gitleaks" ]; then
	echo "bench: building gitleaks $GITLEAKS_VERSION" >&2
	(cd /tmp && GOBIN=$CACHE/bin GOFLAGS= go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION")
fi
go build -o "$CACHE/bin/hush-scanbench" ./scan/cmd/hush-scanbench
HUSH_CMD=${HUSH_CMD:-"$CACHE/bin/hush-scanbench -format json"}

go run ./scan/cmd/hush-corpus gen -dir "$CORPUS" -seed "$SEED" -size "$SIZE"
# The corpus is a work tree of its own, as a user's repository would be:
# hush lists files through git there, gitleaks walks the directory.
git -C "$CORPUS" init -q
MB=$(find "$CORPUS" -type f -not -path '*/.git/*' -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')

# run NAME CMD...: time a scanner, report on stdout to $OUT/NAME.json
run() {
	local name=$1
	shift
	# Scanners exit non-zero when they find something (hush 7, gitleaks
	# 1): only other codes are failures.
	local rc=0
	/usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" || rc=$?
	case $rc in 0 | 1 | 7) ;; *)
		echo "bench: $name failed (exit $rc):" >&2
		tail -5 "$OUT/$name.stderr" >&2
		exit 1
		;;
	esac
}
# Warm the page cache so that neither tool pays for the first read.
cat $(find "$CORPUS" -type f -not -path '*/.git/*') >/dev/null

cd "$CORPUS"
# shellcheck disable=SC2086 # HUSH_CMD is a command line
run hush $HUSH_CMD .
cp "$OUT/hush.stdout" "$OUT/hush.json"
run gitleaks "$CACHE/bin/gitleaks" dir . --no-banner --log-level error --exit-code 0 \
	--report-format json --report-path "$OUT/gitleaks.json"
cd "$ROOT"

field() { sed -n "s/^[[:space:]]*$2: //p" "$OUT/$1.time"; }
seconds() { # h:mm:ss or m:ss.ss → seconds
	echo "$1" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
echo
echo "corpus: $MB MiB, seed $SEED; machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-10s %9s %9s %9s %11s\n" tool wall-s cpu-s MiB/s peak-RSS
for t in hush gitleaks; do
	wall=$(seconds "$(field $t 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")
	cpu=$(awk -v u="$(field $t 'User time (seconds)')" -v s="$(field $t 'System time (seconds)')" 'BEGIN { print u + s }')
	rss=$(field $t 'Maximum resident set size (kbytes)')
	awk -v t=$t -v w="$wall" -v c="$cpu" -v mb="$MB" -v r="$rss" \
		'BEGIN { printf "%-10s %9.2f %9.2f %9.1f %8.1f MiB\n", t, w, c, mb / w, r / 1024 }'
done
echo
go run ./scan/cmd/hush-corpus score -dir "$CORPUS" -hush "$OUT/hush.json" -gitleaks "$OUT/gitleaks.json"
