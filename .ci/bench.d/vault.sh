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

mkstore 1000 "$vdir/p"
# Personal data is keyed by the project id hush init wrote, not the name.
state="$HOME/.local/share/hush/projects/$(sed -n 's/^id: //p' "$vdir/p/.hush/hush.yaml")/vault-state.json"
cp "$vdir/p/.hush/dev.age" "$vdir/full.age"
printf '{"version":1,"environment":"dev","secrets":{}}\n' | age -e -a -i "$work/key.txt" -o "$vdir/empty.age"
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
kill $vpid 2>/dev/null; wait $vpid 2>/dev/null || true
trap - EXIT
unset VAULT_ADDR VAULT_TOKEN
