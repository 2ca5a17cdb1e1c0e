#!/bin/bash
# Node cluster apps at the edges of porter's cluster primary
# (tests/apps/late-cluster.js, which listens when the test says so).
#  1. listen(0, '127.0.0.1') is bound there and /status says where; a
#     queryServer for an address that does not parse is named in the log.
#  2. A worker that disconnects itself soon after it started, again and
#     again, is replaced with the back-off but not counted by
#     restart_limit (1 here), nor killed when its channel closes: each
#     exits 0.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-60}
. "${srcdir:-.}/tests/lib.sh"

for t in node curl jq; do
	command -v $t > /dev/null || fail "$t is not installed"
done
mkdir -p "$WORK/apps" "$WORK/go"
cp "${srcdir:-.}"/tests/apps/late-cluster.js "$WORK/apps/"
chmod -R a+rX "$WORK/apps" "$WORK/go"
APP=$WORK/apps/late-cluster.js

stop_porter() {
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
}

# 1. listen(0) on 127.0.0.1, and an address that does not parse.
write_conf "workers 2" "worker node $APP" "env ZERO=1" "env BAD_QUERY=1" \
    "ready_timeout 60s"
start_porter
zp=$(get /zero)
[ -n "$zp" ] && [ "$zp" -gt 0 ] || fail "GET /zero: '$zp'"
where=$(status_get ".servers[] | select(.key == \"127.0.0.1:0:4:undefined:0\") |
    .listen")
[ "$where" = "127.0.0.1:$zp" ] ||
    fail "/status: listen(0, '127.0.0.1') is at '$where', not 127.0.0.1:$zp"
curl -s -m 5 "http://127.0.0.1:$zp/" | grep -q "^late cluster worker" ||
    fail "nothing answers on 127.0.0.1:$zp"
[ "$(get /bad)" = -22 ] || fail "queryServer for [::zz]: errno $(get /bad)"
grep -q "listen on \[::zz\]:0: Invalid argument" "$WORK/porter.log" ||
    fail "the bad address is not named: $(grep -a "listen on" \
    "$WORK/porter.log" | cat -v)"
stop_porter
ok "$MODE: listen(0, '127.0.0.1') shown as 127.0.0.1:$zp; a bad address is named in the log"

# 2. Self-disconnect, young: replaced three times with restart_limit 1.
write_conf "workers 1" "worker node $APP" "env DISCONNECT_MS=100" \
    "restart_limit 1 60s" "ready_timeout 60s"
start_porter
wait_for '[ "$(log_count "replacing it.*it disconnected itself")" -ge 3 ]' ||
    fail "not replaced three times"
wait_ready 1
grep -q "giving up" "$WORK/porter.log" && fail "porter gave up"
grep -Eq "exited with status|killed by signal" "$WORK/porter.log" &&
    fail "a worker that disconnected itself counted as a crash:" \
    "$(grep -E "exited with|killed by" "$WORK/porter.log")"
stop_porter
ok "$MODE: a worker that disconnects itself young: replaced with the back-off, exits 0, not counted (restart_limit 1)"
