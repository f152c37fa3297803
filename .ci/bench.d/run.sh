# Sourced by .ci/bench: hush run -- true against /bin/true, the stock
# age -d of the same store (the floor: one process decrypting the same
# file), sops exec-env of the same secrets in an age-encrypted SOPS dotenv
# file, and dotenvx run of the same secrets encrypted with dotenvx.
printf '\n== hush run -- true vs age -d, sops exec-env, dotenvx run ==\n'
sops_bin=$(command -v sops || true)
dotenvx="$root/.cache/npm/node_modules/.bin/dotenvx"
if [ ! -x "$dotenvx" ] && command -v npm >/dev/null; then
	mkdir -p "$root/.cache/npm"
	(cd "$root/.cache/npm" && npm install --silent --no-audit --no-fund @dotenvx/dotenvx@1 >/dev/null 2>&1) || true
fi
recipient=$(HUSH_IDENTITY_FILE="$work/key.txt" "$hush" whoami 2>/dev/null)
printf '%-8s %9s %9s %9s %12s %12s %10s %12s\n' secrets "true ms" "age -d" "hush run" "sops exec" "dotenvx run" "vs sops" "vs dotenvx"
declare -A runms
for n in 10 1000 10000; do
	dir="$work/p$n"
	# The same secrets as a dotenv file, for the peers.
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "KEY_%05d=v%031d\n", i, i }' > "$work/plain$n.env"
	cmds=("true" "age -d -i $work/key.txt $dir/.hush/dev.age" "$hush -C $dir run -- true")
	if [ -n "$sops_bin" ]; then
		SOPS_AGE_RECIPIENTS="$recipient" sops encrypt --input-type dotenv --output-type dotenv "$work/plain$n.env" > "$work/sops$n.env"
		cmds+=("sops exec-env $work/sops$n.env true")
	fi
	dx=""
	if [ -x "$dotenvx" ] && [ "$n" -le 1000 ]; then
		mkdir -p "$work/dx$n" && cp "$work/plain$n.env" "$work/dx$n/.env"
		(cd "$work/dx$n" && "$dotenvx" encrypt -f .env >/dev/null 2>&1)
		cmds+=("$dotenvx run -f $work/dx$n/.env -- true")
		dx=1
	fi
	SOPS_AGE_KEY_FILE="$work/key.txt" DOTENV_PRIVATE_KEY="$(sed -n 's/^DOTENV_PRIVATE_KEY="\(.*\)"/\1/p' "$work/dx$n/.env.keys" 2>/dev/null)" \
		hyperfine -N -w 2 -m 5 -M 15 --export-csv "$work/run$n.csv" "${cmds[@]}" >/dev/null 2>&1 || true
	t=$(mean_ms "$work/run$n.csv" 1); a=$(mean_ms "$work/run$n.csv" 2); h=$(mean_ms "$work/run$n.csv" 3)
	s="-"; d="-"; rs="-"; rd="-"
	[ -n "$sops_bin" ] && s=$(mean_ms "$work/run$n.csv" 4) && rs=$(awk -v s="$s" -v h="$h" 'BEGIN{printf "%.1fx", s/h}')
	if [ -n "$dx" ]; then
		col=4; [ -n "$sops_bin" ] && col=5
		d=$(mean_ms "$work/run$n.csv" $col); rd=$(awk -v d="$d" -v h="$h" 'BEGIN{printf "%.0fx", d/h}')
	fi
	runms[$n]=$h
	printf '%-8s %9s %9s %9s %12s %12s %10s %12s\n' "$n" "$t" "$a" "$h" "$s" "$d" "$rs" "$rd"
done
printf 'hush run: 10,000 secrets cost %.1fx of 1,000 (goal: at most 10x); ratios are peer time / hush time\n' \
	"$(awk -v a="${runms[10000]}" -v b="${runms[1000]}" 'BEGIN{print a/b}')"
printf 'package init of hush (GODEBUG=inittrace=1, --version): %s ms\n' \
	"$(GODEBUG=inittrace=1 "$hush" --version 2>&1 >/dev/null | awk '{s+=$5} END {printf "%.2f", s}')"
