#!/bin/bash
# The master's descriptor cost: N idle keep-alive clients cost the master
# two fds each in proxy mode (client + worker side), and nothing in handoff
# and shared mode, where the workers hold the clients.
. "${srcdir:-.}/tests/lib.sh"

N=${N:-200}
write_conf "workers 2"
start_porter

before=$(status_get .master.open_fds)
mkfifo "$WORK/hold"
$TCPCLIENT hold "$LPORT" "$N" 60 request < "$WORK/hold" > "$WORK/clients.out" &
cpid=$!
STARTED="$STARTED $cpid"
exec 7> "$WORK/hold"		# holds the clients until closed
wait_log "^ready $N\$" "" "$WORK/clients.out" || fail "clients not connected"

# Workers report their load at most every 100 ms.
wait_for '[ "$(status_get .master.active_connections)" = "$N" ]'
s=$(status)
active=$(jq -r .master.active_connections <<< "$s")
during=$(jq -r .master.open_fds <<< "$s")
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
peak=$(jq -r .master.peak_fds <<< "$s")
[ "$peak" -ge "$during" ] || fail "peak_fds $peak < open_fds $during"

exec 7>&-			# let the clients go
wait $cpid
wait_for '[ "$(status_get .master.open_fds)" -le $((before + 1)) ]' ||
    fail "open_fds stayed at $(status_get .master.open_fds)"
after=$(status_get .master.open_fds)
ok "open_fds back to $after when the clients left"
