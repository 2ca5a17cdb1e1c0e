#!/bin/bash
# Limits: idle_timeout closes silent connections (every mode),
# max_connections holds new clients in the backlog until a slot frees
# (proxy, handoff: where the master accepts), and a refused connect is
# retried on the next worker without the client noticing (proxy).
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2" "idle_timeout 1s"
start_porter

# idle_timeout: a silent connection is closed after about 1 s. The upper
# limit is generous (1.1 s here, 1.3 s under ASan, more on a busy machine):
# what it tells apart is a timeout that fires from one that does not, and
# then tcpclient gives up after 5 s.
t0=$(date +%s%N)
: | $TCPCLIENT send "$LPORT" 5 > /dev/null || fail "idle connection kept"
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -ge 900 ] && [ $ms -lt 4000 ] || fail "idle close after $ms ms"
ok "idle connection closed after $ms ms"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
[ "$MODE" = shared ] && exit 0

write_conf "workers 2" "max_connections 4"
start_porter

# max_connections 4: four held connections, the fifth waits.
mkfifo "$WORK/hold"
$TCPCLIENT hold "$LPORT" 4 30 request < "$WORK/hold" > "$WORK/c.out" &
cpid=$!
STARTED="$STARTED $cpid"
exec 7> "$WORK/hold"
wait_log '^ready 4$' "" "$WORK/c.out" || fail "4 clients not connected"
# Not served within 0.5 s: that wait is the test (one served would be
# answered in a few ms).
code=$(curl -s -m 0.5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/")
[ "$code" = 000 ] || fail "a fifth client was served past max_connections"
curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/" \
    > "$WORK/fifth" 7>&- &
f=$!
# The fifth is connected (in the backlog) before the four go.
wait_for '[ "$(conns_to $LPORT)" -ge 5 ]' || fail "the fifth did not connect"
exec 7>&-		# release the four
wait $f
[ "$(cat "$WORK/fifth")" = 200 ] || fail "the waiting client was not served"
ok "max_connections: the fifth client waited, then got 200"
wait $cpid
[ "$MODE" = proxy ] || exit 0

# A worker that refuses connections: SIGQUIT it directly while it holds a
# slow request, so it stops listening but stays alive and "ready". Every
# client must still be served, by the other worker.
curl -s -m 10 -o /dev/null "http://127.0.0.1:$LPORT/delay/3000" &
c=$!
holder='.workers[] | select(.state == "ready" and .active == 1)'
# One reading of /status gives both: two could see different moments.
wait_for 'read -r busy bport < <(status_get "$holder | [.pid, .port] | @tsv")
    [ -n "$busy" ] && [ -n "$bport" ]' ||
    fail "no worker holds the slow request"
kill -QUIT "$busy"
wait_for "port_free $bport" || fail "worker $busy still listens on $bport"
kill -0 "$busy" || fail "worker $busy did not wait for its slow request"
for i in $(seq 1 10); do
	body=$(get /) || fail "request $i failed while a worker refused"
	echo "$body" | grep -q "pid $busy," && fail "refusing worker answered"
done
ok "refused connects retried on the other worker (10/10 served)"
wait $c
