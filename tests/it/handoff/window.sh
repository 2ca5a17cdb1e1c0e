#!/bin/bash
# Handoff windows: a worker that stops acknowledging is skipped, then
# killed, and the sockets it held go to another worker; with every window
# full the master stops accepting and drops nothing.
export MODE=handoff
. "${srcdir:-.}/tests/lib.sh"

# 6 concurrent requests; their status codes end up in $WORK/codes.
burst() {
	local i pids=""
	: > "$WORK/codes"
	for i in 1 2 3 4 5 6; do
		curl -s -m 15 -o /dev/null -w '%{http_code}\n' \
		    "http://127.0.0.1:$LPORT/" >> "$WORK/codes" &
		pids="$pids $!"
		sleep 0.05	# staggered: one after the other, as they come
	done
	BURST="$pids"
}

write_conf "workers 2" "handoff_window 2" "connect_timeout 1s"
start_porter
set -- $(worker_pids)
stuck=$1
kill -STOP "$stuck"
burst
wait $BURST
n=$(grep -c '^200$' "$WORK/codes")
[ "$n" = 6 ] || fail "$n of 6 clients served with a stopped worker"
grep -q "killed by signal 9 .*porter sent it (no acknowledgement in connect_timeout)" \
    "$WORK/porter.log" || fail "the exit line does not say porter killed it, and why"
grep -q "did not acknowledge a socket" "$WORK/porter.log" ||
    fail "the stopped worker was not found out"
grep -q "go to other workers" "$WORK/porter.log" ||
    fail "its sockets were not handed to another worker"
wait_ready 2
set -- $(worker_pids)
[ "$1" != "$stuck" ] || fail "the stuck worker was not replaced"
r=$(status_get .master.refused)
[ "$r" = 0 ] || fail "refused $r"
ok "stopped worker: killed after connect_timeout, 6/6 clients served"

kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# Both workers stopped, one socket each in flight: the third waits in the
# master, the rest in the kernel backlog, until the workers come back.
write_conf "workers 2" "handoff_window 1" "connect_timeout 10s"
start_porter
set -- $(worker_pids)
kill -STOP "$1" "$2"
burst
# All six connected (three accepted, three in the backlog)...
wait_for '[ "$(conns_to $LPORT)" -ge 6 ]' || fail "the clients did not connect"
took_three() {
	[ "$(status_get '.master | .accepted >= 3 and .pending >= 1')" = true ]
}
wait_for took_three || fail "the master did not take its three"
# ...then half a second for a master that does not pause to accept more:
# this wait is the test, for something that must not happen.
sleep 0.5
s=$(status)
p=$(jq -r .master.pending <<< "$s")
a=$(jq -r .master.accepted <<< "$s")
h=$(jq -r .master.handed_off <<< "$s")
echo "while stopped: accepted $a, handed_off $h, pending $p"
[ "$p" = 1 ] && [ "$a" = 3 ] && [ "$h" = 0 ] ||
    fail "expected 3 accepted, 1 pending, 0 handed off"
kill -CONT "$1" "$2"
wait $BURST
n=$(grep -c '^200$' "$WORK/codes")
[ "$n" = 6 ] || fail "$n of 6 clients served after the workers came back"
s=$(status)
[ "$(jq -r .master.handed_off <<< "$s")" = 6 ] || fail "handed_off != 6"
[ "$(jq -r .master.refused <<< "$s")" = 0 ] || fail "a client was refused"
ok "every window full: accepting paused, 6/6 served once workers resumed"
