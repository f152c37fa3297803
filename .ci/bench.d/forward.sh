# Sourced by .ci/bench: hush get and hush run -- true with audit
# forwarding off and on, against age -d of the same store, at 10 / 1,000
# / 10,000 secrets. "On" is a syslog sink over UDP to a local listener that
# discards: every command spools its line, formats and sends it, and cuts
# the spool, the whole path a real sink costs short of the network. (A
# port nobody listens on would not do: the second datagram of a split
# line gets "connection refused", the sink rests and lines pile up.)
printf '\n== audit forwarding off / on (syslog udp://127.0.0.1) ==\n'
fwdcfg="$work/fwd-config"
mkdir -p "$fwdcfg/hush"
cp -r "$XDG_CONFIG_HOME/hush/." "$fwdcfg/hush/" 2>/dev/null || true
fport=$((20000 + RANDOM % 20000))
# The listener exits by itself after 60 s without a datagram.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1]))); s.settimeout(60)
while True:
    try: s.recv(65536)
    except socket.timeout: break' "$fport" &
fpid=$!
printf 'audit:\n  forward:\n    - syslog: udp://127.0.0.1:%s\n' "$fport" > "$fwdcfg/hush/config.yaml"
printf '%-8s %-5s %10s %10s %10s %9s %9s %12s\n' secrets cmd "off ms" "on ms" "age -d ms" "off/age" "on/age" "on/off"
for n in 10 1000 10000; do
	dir="$work/p$n"
	[ -d "$dir" ] || mkstore "$n" "$dir"
	key=$(printf 'KEY_%05d' $((n / 2)))
	for c in get run; do
		if [ "$c" = get ]; then args="get $key"; else args="run -- true"; fi
		: > "$work/fwd$c$n.rounds"
		for r in $(seq "$rounds"); do
			csv="$work/fwd$c$n-$r.csv"
			hyperfine -N -w 3 -m 15 --export-csv "$csv" \
				"$hush -C $dir $args" \
				"env XDG_CONFIG_HOME=$fwdcfg $hush -C $dir $args" \
				"age -d -i $work/key.txt $dir/.hush/dev.age" >/dev/null 2>&1
			echo "$(mean_ms "$csv" 1) $(mean_ms "$csv" 2) $(mean_ms "$csv" 3)" >> "$work/fwd$c$n.rounds"
		done
		off=$(awk '{print $1}' "$work/fwd$c$n.rounds" | median)
		on=$(awk '{print $2}' "$work/fwd$c$n.rounds" | median)
		age=$(awk '{print $3}' "$work/fwd$c$n.rounds" | median)
		roff=$(awk '{print $1/$3}' "$work/fwd$c$n.rounds" | median)
		ron=$(awk '{print $2/$3}' "$work/fwd$c$n.rounds" | median)
		onoff=$(awk '{print $2/$1}' "$work/fwd$c$n.rounds" | median)
		printf '%-8s %-5s %10s %10s %10s %8sx %8sx %11sx\n' "$n" "$c" "$off" "$on" "$age" "$roff" "$ron" "$onoff"
	done
done
kill "$fpid" 2>/dev/null || true
wait "$fpid" 2>/dev/null || true
