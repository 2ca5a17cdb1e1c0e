#!/bin/bash
# A worker killed with SIGKILL is replaced by a new process while requests
# keep succeeding.
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2"
start_porter

set -- $(worker_pids)
old=$1
other=$2
kill -9 "$old"

# Requests right after the kill: every one must succeed.
for i in $(seq 1 30); do
	[ "$(code /)" = 200 ] || fail "request $i after the kill failed"
done
ok "30 requests succeeded across the kill"

wait_for '[ "$(status_get ".workers[0].pid")" != "$old" ]' ||
    fail "worker 0 keeps the killed pid $old"
wait_ready 2
set -- $(worker_pids)
[ "$1" != "$old" ] || fail "worker 0 still has the killed pid $old"
[ "$2" = "$other" ] || fail "the other worker changed pid: $other -> $2"
kill -0 "$1" 2>/dev/null || fail "new worker $1 is not running"
restarts=$(status_get '.workers[0].restarts')
[ "$restarts" = 1 ] || fail "restarts is $restarts, expected 1"
get / > /dev/null || fail "no answer after restart"
grep -qE "worker 0 \(pid $old, generation 0\) killed by signal 9 .*: not from porter" \
    "$WORK/porter.log" || fail "the exit line does not name the generation and the killer"
ok "worker 0: pid $old -> $1, restarts 1"

# Kill a worker under load: porter keeps serving on the other one and
# brings the killed one back. (Clients that were on the killed worker
# lose their connection; wrk counts those as read errors.)
command -v wrk > /dev/null || fail "wrk is not installed"
# The kill comes once wrk's 8 connections are up (and 3 s of load is
# far from over).
wrk -t1 -c8 -d3s "http://127.0.0.1:$LPORT/" > "$WORK/wrk.out" 2>&1 &
w=$!
wait_for '[ "$(status_get .master.active_connections)" -ge 8 ]' 2 ||
    fail "wrk's connections are not up"
kill -9 "$1"
wait $w
grep -E "requests in|Socket errors|Non-2xx" "$WORK/wrk.out"
n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")
[ "${n:-0}" -gt 1000 ] || fail "only ${n:-0} requests under load"
grep -q "Non-2xx" "$WORK/wrk.out" && fail "non-2xx answers under load"
wait_ready 2
[ "$(code /)" = 200 ] || fail "no answer after the second restart"
ok "kill under load: $n requests served, worker back"
