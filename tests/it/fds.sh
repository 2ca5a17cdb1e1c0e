#!/bin/bash
# The master's descriptor cost: N idle keep-alive clients cost the master
# two fds each in proxy mode (client + worker side), and nothing in handoff
# and shared mode, where the workers hold the clients.
. "${srcdir:-.}/tests/lib.sh"

N=${N:-200}
write_conf "workers 2"
start_porter

before=$(status | json_num open_fds)
mkfifo "$WORK/hold"
$TCPCLIENT hold "$LPORT" "$N" 60 request < "$WORK/hold" > "$WORK/clients.out" &
cpid=$!
STARTED="$STARTED $cpid"
exec 7> "$WORK/hold"		# holds the clients until closed
for i in $(seq 1 100); do
	grep -q "ready $N" "$WORK/clients.out" && break
	kill -0 $cpid 2>/dev/null || fail "tcpclient failed"
	sleep 0.1
done
grep -q "ready $N" "$WORK/clients.out" || fail "clients not connected"

# Workers report their load at most every 100 ms.
for i in $(seq 1 30); do
	s=$(status)
	active=$(echo "$s" | json_num active_connections)
	[ "$active" -eq "$N" ] && break
	sleep 0.1
done
during=$(echo "$s" | json_num open_fds)
echo "open_fds: $before before, $during with $N idle clients ($active active)"
[ "$active" -eq "$N" ] || fail "active_connections $active, expected $N"
case "$MODE" in
proxy)
	[ $((during - before)) -ge $((2 * N)) ] ||
	    fail "open_fds grew by $((during - before)), expected >= $((2 * N))"
	ok "proxy: open_fds grew by $((during - before)) for $N clients"
	;;
*)
	[ $((during - before)) -lt 10 ] ||
	    fail "open_fds grew by $((during - before)), expected < 10"
	ok "$MODE: open_fds grew by $((during - before)) for $N clients"
	;;
esac
peak=$(echo "$s" | json_num peak_fds)
[ "$peak" -ge "$during" ] || fail "peak_fds $peak < open_fds $during"

exec 7>&-			# let the clients go
wait $cpid
for i in $(seq 1 50); do
	after=$(status | json_num open_fds)
	[ "$after" -le $((before + 1)) ] && break
	sleep 0.1
done
[ "$after" -le $((before + 1)) ] || fail "open_fds stayed at $after"
ok "open_fds back to $after when the clients left"
