# Sourced by .ci/bench: hush vault push and pull of 1,000 keys with the
# fields layout against a real `vault server -dev`: wall time (hyperfine)
# and HTTP requests per command (counted from Vault's own audit log).
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
# remote empty, no state: a LIST and 10,000 writes) and a first pull (a
# LIST and 10,000 reads) on the bounded pool. The audit device is off for
# it: writing two audit entries a request would be timed as hush.
printf '\n== hush vault push / pull, 10,000 keys, tree layout (audit device off) ==\n'
vault audit disable file >/dev/null
# Written through hush (hush import), not by age directly: a store age
# wrote carries no lineage, which hush refuses to overwrite (exit 5).
"$hush" init -C "$vdir/t" --name tree10000 -q
tstate="$HOME/.local/share/hush/projects/$(sed -n 's/^id: //p' "$vdir/t/.hush/hush.yaml")/vault-state.json"
printf 'vault:\n  layout: tree\n' >>"$vdir/t/.hush/hush.yaml"
"$hush" -C "$vdir/t" ack --yes -q >/dev/null 2>&1
cp "$vdir/t/.hush/dev.age" "$vdir/tempty.age"
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "KEY_%05d=v%031d\n", i, i }' >"$vdir/t10000.env"
"$hush" -C "$vdir/t" import -q "$vdir/t10000.env"
cp "$vdir/t/.hush/dev.age" "$vdir/tfull.age"
cat >"$vdir/treset-push" <<SH
#!/bin/sh
rm -f "$tstate"; cp "$vdir/tfull.age" "$vdir/t/.hush/dev.age"
vault secrets disable tmount >/dev/null 2>&1; vault secrets enable -path=tmount -version=2 kv >/dev/null
SH
cat >"$vdir/treset-pull" <<SH
#!/bin/sh
rm -f "$tstate"; cp "$vdir/tempty.age" "$vdir/t/.hush/dev.age"
SH
chmod +x "$vdir/treset-push" "$vdir/treset-pull"
"$vdir/treset-push"
hyperfine -N -w 1 -m 5 --export-csv "$vdir/tpush.csv" --prepare "$vdir/treset-push" \
	"$hush -C $vdir/t vault push -q --mount tmount" >/dev/null
hyperfine -N -w 1 -m 5 --export-csv "$vdir/tpull.csv" --prepare "$vdir/treset-pull" \
	"$hush -C $vdir/t vault pull -q --mount tmount" >/dev/null
printf '%-22s %10s %10s\n' command "ms" "load (1 min)"
printf '%-22s %10s %10s\n' "vault push (10,000)" "$(mean_ms "$vdir/tpush.csv" 1)" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-22s %10s %10s\n' "vault pull (10,000)" "$(mean_ms "$vdir/tpull.csv" 1)" "$(cut -d' ' -f1 /proc/loadavg)"
kill $vpid 2>/dev/null; wait $vpid 2>/dev/null || true
trap - EXIT
unset VAULT_ADDR VAULT_TOKEN
