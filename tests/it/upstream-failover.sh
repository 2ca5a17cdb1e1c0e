#!/bin/bash
# Failover between two remote backends (127.0.0.2, 127.0.0.3), each a
# porter of its own, with http health checks (interval 500ms, rise 2,
# fall 2) and the default passive checks (max_fails 1):
#  1. While a curl loop runs (one request at a time, a new connection
#     each), backend A is killed (SIGKILL) between two requests: no
#     request fails (a refused connect goes to B, unseen), A is marked
#     down at once; restarted, it is up again within rise x interval of
#     serving, and gets traffic again.
#  2. With no traffic at all, the checks alone notice a killed backend
#     within fall x interval.
# Prints the figures (requests, failures, times to detect down and up).
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/lib-upstream.sh"

IV=500
RISE=2
FALL=2
pick_backend_port 127.0.0.2 127.0.0.3
A=127.0.0.2:$BPORT
B=127.0.0.3:$BPORT
start_backend a "$A"
start_backend b "$B"
write_conf "workers 0" "upstream $A" "upstream $B" \
    "health_check http / interval ${IV}ms rise $RISE fall $FALL timeout 400ms" \
    "connect_timeout 1s"
start_porter
wait_for '[ "$(status_get "[.targets[] | select(.health == \"up\")] | length")" = 2 ]' ||
    fail "the two targets are not up"

curl_loop &
LOOP=$!
STARTED="$STARTED $LOOP"
wait_for '[ "$(loop_n)" -ge 20 ]' || fail "the loop does not run"
[ "$(loop_failed)" = 0 ] || fail "requests failed before any kill"

# 1. Kill A between two requests of the loop.
skip=$(wc -l < "$WORK/porter.log")
echo "kill_backend a; now_ms > $WORK/t.kill" > "$WORK/loop.do"
wait_for "[ -s $WORK/t.kill ]" || fail "the loop did not kill A"
wait_for '[ "$(target_get "$A" health)" = down ]' 10 ||
    fail "A not marked down"
t_down=$(log_ms "upstream: $A: up -> down" "$skip") ||
    fail "no log line for A going down"
n0=$(loop_n)
wait_for '[ "$(loop_n)" -ge $((n0 + 20)) ]' || fail "the loop stalls"
# Down by "failures" (the next request to it was refused) or, when the
# loop is slow on a busy machine, by "checks" (fall x interval first).
ok "A down by $(target_get "$A" down_by), $((t_down - $(cat "$WORK/t.kill"))) ms after the kill; loop at $(loop_n), $(loop_failed) failed"

start_backend a "$A"
wait_for "serves $A" || fail "A does not serve again"
t_alive=$(now_ms)
total=$(target_get "$A" total)
wait_for '[ "$(target_get "$A" health)" = up ]' 10 || fail "A not up again"
t_up=$(log_ms "upstream: $A: down -> up" "$skip") ||
    fail "no log line for A coming up"
wait_for '[ "$(target_get "$A" total)" -gt '"$total"' ]' 10 ||
    fail "no traffic on A again"
t_traffic=$(now_ms)
touch "$WORK/loop.stop"
wait "$LOOP"
n=$(loop_n)
f=$(loop_failed)
[ "$f" = 0 ] || fail "$f of $n requests failed"
up_ms=$((t_up - t_alive))
# Serving (seen by polling) to up (porter's log): rise x interval, and
# two intervals of slack for a busy machine (1,340 ms has been seen).
[ "$up_ms" -le $(((RISE + 2) * IV)) ] ||
    fail "A up $up_ms ms after it serves (rise x interval: $((RISE * IV)) ms)"
ok "failover: $n requests, $f failed; A up $up_ms ms after it served again (rise x interval $((RISE * IV)) ms), traffic on it after $((t_traffic - t_alive)) ms"

# 2. No traffic: only the checks see B go.
wait_for '[ "$(status_get .master.active_connections)" = 0 ]' ||
    fail "connections still live"
skip=$(wc -l < "$WORK/porter.log")
t_kill=$(now_ms)
kill_backend b
wait_for '[ "$(target_get "$B" health)" = down ]' 10 ||
    fail "B not marked down by the checks"
down_ms=$(($(log_ms "upstream: $B: up -> down" "$skip") - t_kill)) ||
    fail "no log line for B going down"
[ "$(target_get "$B" down_by)" = checks ] ||
    fail "B down by $(target_get "$B" down_by), not by the checks"
# fall x interval, and two intervals of slack, as above.
[ "$down_ms" -le $(((FALL + 2) * IV)) ] ||
    fail "B down $down_ms ms after the kill (fall x interval: $((FALL * IV)) ms)"
ok "checks alone: B down $down_ms ms after the kill (fall x interval $((FALL * IV)) ms)"
for i in 1 2 3 4 5; do
	[ "$(code /)" = 200 ] || fail "request $i with B down failed"
done
grep -qE "upstream: $A: up -> down \((Connection refused|fall: checks failed)" \
    "$WORK/porter.log" || fail "no log line for A going down"
grep -qE "upstream: $A: down -> up \(rise" "$WORK/porter.log" ||
    fail "no log line for A coming up"
ok "log lines name the cause of each change"
