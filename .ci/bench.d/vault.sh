# Sourced by .ci/bench: hush vault push and pull against a real `vault
# server -dev`: 1,000 keys with the fields layout (wall time by hyperfine)
# and 10,000 with the tree layout (wall, hush's and Vault's CPU time, the
# idle-machine estimate), with the HTTP requests per command counted from
# Vault's own audit log.
printf '\n== hush vault push / pull, 1,000 keys, fields layout ==\n'
"$root/.ci/vault"
vdir="$work/vault"
mkdir -p "$vdir/home"
vport=$((20000 + RANDOM % 20000))
export VAULT_ADDR="http://127.0.0.1:$vport" VAULT_TOKEN="bench-root-$RANDOM$RANDOM"
HOME="$vdir/home" "$root/.cache/bin/vault" server -dev -dev-root-token-id="$VAULT_TOKEN" \
	-dev-listen-address="127.0.0.1:$vport" -dev-no-store-token >"$vdir/server.log" 2>&1 &
vpid=$!
trap 'kill $vpid 2>/dev/null; wait $vpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do vault status >/dev/null 2>&1 && break; sleep 0.2; done
vault audit enable file file_path="$vdir/audit.log" >/dev/null

# The stores are written through hush (hush import), not by age directly:
# a store age wrote carries no lineage, which hush refuses to overwrite
# (exit 5).
"$hush" init -C "$vdir/p" --name bench1000 -q
# Personal data is keyed by the project id hush init wrote, not the name.
state="$HOME/.local/share/hush/projects/$(sed -n 's/^id: //p' "$vdir/p/.hush/hush.yaml")/vault-state.json"
cp "$vdir/p/.hush/dev.age" "$vdir/empty.age"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "KEY_%05d=v%031d\n", i, i }' >"$vdir/p1000.env"
"$hush" -C "$vdir/p" import -q "$vdir/p1000.env"
cp "$vdir/p/.hush/dev.age" "$vdir/full.age"
# Each push starts from a remote without the environment and no sync
# state, so it writes all 1,000 keys; each pull from an empty local store.
cat >"$vdir/reset-push" <<SH
#!/bin/sh
rm -f "$state"; vault kv metadata delete -mount=secret bench1000/dev >/dev/null
SH
cat >"$vdir/reset-pull" <<SH
#!/bin/sh
rm -f "$state"; cp "$vdir/empty.age" "$vdir/p/.hush/dev.age"
SH
chmod +x "$vdir/reset-push" "$vdir/reset-pull"

requests() { # requests Vault served while running "$@"
	local before after
	before=$(grep -c '"type":"request"' "$vdir/audit.log" || true)
	"$@" >/dev/null 2>&1
	after=$(grep -c '"type":"request"' "$vdir/audit.log" || true)
	echo $((after - before))
}
"$vdir/reset-push"
push_req=$(requests "$hush" -C "$vdir/p" vault push -q)
"$vdir/reset-pull"
pull_req=$(requests "$hush" -C "$vdir/p" vault pull -q)
cp "$vdir/full.age" "$vdir/p/.hush/dev.age"

hyperfine -N -w 2 -m 10 --export-csv "$vdir/push.csv" --prepare "$vdir/reset-push" \
	"$hush -C $vdir/p vault push -q" >/dev/null
hyperfine -N -w 2 -m 10 --export-csv "$vdir/pull.csv" --prepare "$vdir/reset-pull" \
	"$hush -C $vdir/p vault pull -q" >/dev/null
printf '%-22s %10s %10s\n' command "ms" requests
printf '%-22s %10s %10s\n' "vault push (1,000)" "$(mean_ms "$vdir/push.csv" 1)" "$push_req"
printf '%-22s %10s %10s\n' "vault pull (1,000)" "$(mean_ms "$vdir/pull.csv" 1)" "$pull_req"

# The tree layout, one KV secret per key, 10,000 keys: a first push (the
# remote empty, no state: a LIST and 10,000 writes), a push of one changed
# key (a LIST, 10,000 reads for the three-way plan, one write) and a first
# pull (a LIST and 10,000 reads), on the bounded pool (sync/vault/parallel.go).
# On a shared machine wall time measures the load more than hush, so each
# run also reads the processor time hush (its user+sys, from the shell's
# `times`) and Vault (/proc/PID/stat) used; their sum over the cores is
# the wall time an idle machine would take (the pool keeps more requests
# in flight than there are cores: the work is processor-bound on
# loopback). Medians of $trees runs.
trees=${HUSH_BENCH_TREE_RUNS:-5}
printf '\n== hush vault push / pull, 10,000 keys, tree layout (medians of %d runs) ==\n' "$trees"
"$hush" init -C "$vdir/t" --name tree10000 -q
tstate="$HOME/.local/share/hush/projects/$(sed -n 's/^id: //p' "$vdir/t/.hush/hush.yaml")/vault-state.json"
printf 'vault:\n  layout: tree\n' >>"$vdir/t/.hush/hush.yaml"
"$hush" -C "$vdir/t" ack --yes -q >/dev/null 2>&1
cp "$vdir/t/.hush/dev.age" "$vdir/tempty.age"
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "KEY_%05d=v%031d\n", i, i }' >"$vdir/t10000.env"
# Written through hush (hush import), not by age directly: a store age
# wrote carries no lineage, which hush refuses to overwrite (exit 5).
"$hush" -C "$vdir/t" import -q "$vdir/t10000.env"
cp "$vdir/t/.hush/dev.age" "$vdir/tfull.age"
tmount=
treset() { # the state before each case's run
	case $1 in
	# A fresh mount for each first push, and the last one disabled
	# before it: Vault deletes its 10,000 keys within the call (about
	# 0.7 s, then it is idle again), before the clock starts. A server
	# left holding every run's keys spends more of each request in its
	# garbage collector as its heap grows (~20 MB a mount): with ten
	# such mounts a pull cost it ~30% more CPU and a first push up to
	# twice as much, which the table would have shown as hush's.
	first) rm -f "$tstate"; cp "$vdir/tfull.age" "$vdir/t/.hush/dev.age"
		[ -z "$tmount" ] || vault secrets disable "$tmount" >/dev/null
		tmount="t$RANDOM$RANDOM"; vault secrets enable -path="$tmount" -version=2 kv >/dev/null ;;
	one) printf 'changed-%s' "$RANDOM" | "$hush" -C "$vdir/t" set -q KEY_04242 >/dev/null ;;
	pull) rm -f "$tstate"; cp "$vdir/tempty.age" "$vdir/t/.hush/dev.age" ;;
	esac
}
tcmd() { # push or pull, in the mount of the last first push
	local way=push
	[ "$1" = pull ] && way=pull
	"$hush" -C "$vdir/t" vault "$way" -q --mount "$tmount"
}
vcpu() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print (f[12] + f[13]) * 10 }' "/proc/$vpid/stat"; }
# trun CASE: one run; prints wall, hush CPU and Vault CPU in ms.
trun() {
	local v0 v1 t0 t1 out
	treset "$1"
	v0=$(vcpu); t0=$(date +%s%N)
	# `times` in the subshell: the user and system time of its children.
	(tcmd "$1" >/dev/null 2>"$vdir/terr" || exit 1; times >"$vdir/times") ||
		{ printf 'tree %s failed: ' "$1" >&2; cat "$vdir/terr" >&2; return 1; }
	t1=$(date +%s%N); v1=$(vcpu)
	out=$(tail -1 "$vdir/times")
	awk -v o="$out" -v w=$(((t1 - t0) / 1000000)) -v v=$((v1 - v0)) 'BEGIN {
		split(o, f, " "); c = 0
		for (i = 1; i <= 2; i++) { split(f[i], p, /[ms]/); c += p[1] * 60000 + p[2] * 1000 }
		printf "%d %d %d\n", w, c, v }'
}
# The requests are counted from the audit device in a pass of their own.
declare -A treq
for c in first one pull; do
	treset "$c"
	before=$(wc -l <"$vdir/audit.log")
	tcmd "$c" >/dev/null 2>&1
	treq[$c]=$(tail -n +$((before + 1)) "$vdir/audit.log" | grep -c '"type":"request"' || true)
done
vault audit disable file >/dev/null
# Then each case is timed twice a round: against the dev server as it
# starts (no audit device: the goal's "dev server"), and with the file
# audit device on, as a production Vault has one (it HMACs and writes
# every request and answer: Vault's own cost, timed apart so it is not
# read as hush's). Interleaved, so the machine's drift falls on both.
for c in first one pull; do : >"$vdir/t-$c.runs"; : >"$vdir/t-$c-audit.runs"; done
for _ in $(seq "$trees"); do
	for c in first one pull; do
		trun "$c" >>"$vdir/t-$c.runs"
		: >"$vdir/audit.log"
		vault audit enable file file_path="$vdir/audit.log" >/dev/null
		trun "$c" >>"$vdir/t-$c-audit.runs"
		vault audit disable file >/dev/null
	done
done
cores=$(nproc)
for audit in "" -audit; do
	case $audit in
	"") printf 'dev server, no audit device (as `vault server -dev` starts):\n' ;;
	*) printf 'with a file audit device enabled (as a production Vault has):\n' ;;
	esac
	printf '%-24s %8s %9s %9s %11s %10s %9s %10s %8s %8s\n' command requests "wall ms" "hush cpu" "vault cpu" "vault us/req" "idle ms" "vault-only" "wall/idle" "hush/vault"
	for c in first one pull; do
		f="$vdir/t-$c$audit.runs"
		w=$(awk '{print $1}' "$f" | median); h=$(awk '{print $2}' "$f" | median)
		v=$(awk '{print $3}' "$f" | median)
		case $c in first) name="vault push (first)" ;; one) name="vault push (1 changed)" ;; pull) name="vault pull (first)" ;; esac
		awk -v n="$name" -v r="${treq[$c]}" -v w="$w" -v h="$h" -v v="$v" -v cores="$cores" 'BEGIN {
			idle = (h + v) / cores
			printf "%-24s %8d %9.0f %9.0f %11.0f %10.0f %9.0f %10.0f %8.1fx %8.2f\n", n, r, w, h, v, (r ? v * 1000 / r : 0), idle, v / cores, w / idle, h / v }'
	done
done
printf 'load (1 min) %s on %d cores; idle ms = (hush cpu + vault cpu) / cores; vault-only = vault cpu / cores, the floor with a client that cost nothing; goal: 10,000 keys in at most 3,000 ms against the dev server\n' "$(cut -d' ' -f1 /proc/loadavg)" "$cores"
kill $vpid 2>/dev/null; wait $vpid 2>/dev/null || true
trap - EXIT
unset VAULT_ADDR VAULT_TOKEN
