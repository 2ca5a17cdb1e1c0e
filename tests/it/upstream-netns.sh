#!/bin/bash
# A backend on another "host": a network namespace of its own behind a
# veth pair (created here, removed at the end). Its cable is pulled (its
# end of the veth goes down): no reset, no refusal, packets just vanish,
# as when a machine dies. Connects to it time out; clients still get
# their answers (after connect_timeout, from the other backend), the
# checks (timeout 250ms) mark it down, and once the cable is back it is
# up within timeout + rise x interval. Needs root and ip netns: skipped
# otherwise.
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/lib-upstream.sh"

NS=porter-up-$$
VH=pu$$h		# the host's end
VN=pu$$n		# the namespace's
NET=10.$((200 + RANDOM % 50)).$((RANDOM % 250))
[ "$(id -u)" = 0 ] && command -v ip > /dev/null &&
    ip netns add "$NS" 2> /dev/null || {
	echo "SKIP: needs root and ip netns"
	exit 77
}
netns_down() {
	[ -f "$WORK/ns.pid" ] && kill -KILL "$(cat "$WORK/ns.pid")" 2> /dev/null
	ip link del "$VH" 2> /dev/null
	ip netns del "$NS" 2> /dev/null
}
trap 'rc=$?; netns_down; (exit $rc); cleanup' EXIT
ip link add "$VH" type veth peer name "$VN" &&
    ip link set "$VN" netns "$NS" &&
    ip addr add "$NET.1/30" dev "$VH" && ip link set "$VH" up &&
    ip netns exec "$NS" ip addr add "$NET.2/30" dev "$VN" &&
    ip netns exec "$NS" ip link set "$VN" up &&
    ip netns exec "$NS" ip link set lo up || fail "cannot set up $NS"

pick_backend_port 127.0.0.3
R=$NET.2:$BPORT
L=127.0.0.3:$BPORT
start_backend local "$L"
# The remote backend runs in the namespace: "ip netns exec" execs it.
cat > "$WORK/ns.conf" <<EOC
listen $R
mode shared
workers 1
pidfile $WORK/ns.pid
EOC
(cd "$WORK" && exec ip netns exec "$NS" timeout -s KILL 300 "$PORTER" \
    -c "$WORK/ns.conf" > "$WORK/ns.log" 2>&1) &
STARTED="$STARTED $!"
disown $!
wait_for "serves $R" 10 || fail "the backend in $NS does not serve on $R"

IV=300
write_conf "workers 0" "upstream $R" "upstream $L" "connect_timeout 500ms" \
    "health_check http / interval ${IV}ms rise 2 fall 2 timeout 250ms"
start_porter
wait_for '[ "$(target_get "$R" last_check.ok)" = true ]' ||
    fail "$R is not checked"

curl_loop &
LOOP=$!
STARTED="$STARTED $LOOP"
wait_for '[ "$(target_get "$R" total)" -ge 5 ]' || fail "no traffic to $R"
skip=$(wc -l < "$WORK/porter.log")
# Between two requests: one in flight to R when its cable goes is lost
# whatever the front does (it was sent; nothing answers, and a relay
# cannot send it again), so its curl would time out. What is tested is
# what comes after: connects that time out, and answers from L.
loop_pause
t_cut=$(now_ms)
ip netns exec "$NS" ip link set "$VN" down || fail "cannot pull the cable"
loop_resume
wait_for '[ "$(target_get "$R" health)" = down ]' 10 ||
    fail "$R not marked down"
t_down=$(log_ms "upstream: $R: up -> down" "$skip") ||
    fail "no log line for $R going down"
why=$(sed -n "$((skip + 1)),\$s/.*upstream: $R: up -> down (\(.*\))/\1/p" \
    "$WORK/porter.log" | head -n 1)
n0=$(loop_n)
wait_for '[ "$(loop_n)" -ge $((n0 + 10)) ]' || fail "the loop stalls"

ip netns exec "$NS" ip link set "$VN" up || fail "cannot put the cable back"
# From when the backend answers again: the link itself takes a while
# (its neighbour entry failed while it was down), which is not porter's.
wait_for "curl -s -m 0.2 -o /dev/null http://$R/" 10 ||
    fail "$R does not answer with the cable back"
t_back=$(now_ms)
total=$(target_get "$R" total)
wait_for '[ "$(target_get "$R" health)" = up ]' 10 || fail "$R not up again"
t_up=$(log_ms "upstream: $R: down -> up" "$skip") ||
    fail "no log line for $R coming up"
wait_for '[ "$(target_get "$R" total)" -gt '"$total"' ]' 10 ||
    fail "no traffic to $R again"
touch "$WORK/loop.stop"
wait "$LOOP"
[ "$(loop_failed)" = 0 ] || fail "$(loop_failed) of $(loop_n) requests failed"
# A check under way when the backend answers again may time out first:
# the bound is timeout + rise x interval, and two intervals of slack.
[ $((t_up - t_back)) -le $((250 + (2 + 2) * IV)) ] ||
    fail "up $((t_up - t_back)) ms after the backend answered again (timeout + rise x interval: $((250 + 2 * IV)) ms)"
ok "cable pulled: down after $((t_down - t_cut)) ms ($why); back: up $((t_up - t_back)) ms after it answered (timeout + rise x interval $((250 + 2 * IV)) ms); $(loop_n) requests, 0 failed"
