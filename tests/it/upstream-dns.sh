#!/bin/bash
# DNS discovery against a real DNS server (dnsmasq on a high port, its
# own records, TTL 1 s), through c-ares: "upstream NAME:PORT resolve"
# follows A records, "upstream _SVC._tcp.NAME resolve srv" SRV records
# (ports, weights, the lowest priority primary, the others backups).
#  1. What DNS says becomes the targets.
#  2. A record changes: porter follows within a few TTLs; the target that
#     left is drained: its live connection (keep-alive) still works, and
#     it goes once that is closed.
#  3. SRV records change (dnsmasq restarted with others): porter follows.
#  4. The resolver dies: porter keeps the last good set and says why in
#     /status; it serves on. The resolver is back: porter follows again.
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/lib-upstream.sh"

pick_backend_port 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 \
    127.0.0.7
P=$BPORT
start_backend back 127.0.0.2:$P 127.0.0.3:$P 127.0.0.4:$P 127.0.0.5:$P \
    127.0.0.6:$P 127.0.0.7:$P
printf '127.0.0.2 web.test\n127.0.0.5 a.svc.test\n127.0.0.6 b.svc.test\n127.0.0.7 c.svc.test\n' \
    > "$WORK/hosts"
SRV1="--srv-host=_web._tcp.svc.test,a.svc.test,$P,0,1
--srv-host=_web._tcp.svc.test,b.svc.test,$P,0,3
--srv-host=_web._tcp.svc.test,c.svc.test,$P,1,1"
start_dns $SRV1
write_conf "workers 0" "resolver 127.0.0.1:$DPORT" "resolve_min 200ms" \
    "resolve_max 1s" "upstream web.test:$P resolve" \
    "upstream _web._tcp.svc.test resolve srv"
start_porter

# "ADDR/weight/backup ..." of a line's targets, sorted, not removed.
targets_of() {
	status_get --arg u "$1" '[.targets[] | select(.upstream == $u and
	    .state != "removed") | "\(.address)/\(.weight)/\(.backup)"] |
	    sort | join(" ")'
}
srv="_web._tcp.svc.test"

# 1. The first answers.
wait_for '[ "$(targets_of web.test:$P)" = "127.0.0.2:$P/1/false" ]' ||
    fail "web.test: $(targets_of web.test:$P)"
want="127.0.0.5:$P/1/false 127.0.0.6:$P/3/false 127.0.0.7:$P/1/true"
wait_for '[ "$(targets_of $srv)" = "$want" ]' ||
    fail "$srv: $(targets_of $srv)"
for i in $(seq 1 10); do
	[ "$(code /)" = 200 ] || fail "request $i failed"
done
ok "A: web.test -> 127.0.0.2; SRV: a weight 1, b weight 3, c (priority 1) a backup"

# 2. web.test moves to 127.0.0.3 while 5 keep-alive connections are
# held open: weights 1, 1 and 3 give 127.0.0.2 one of them.
mkfifo "$WORK/hold.in"
"$TCPCLIENT" hold "$LPORT" 5 60 request < "$WORK/hold.in" > "$WORK/hold.out" &
hold=$!
exec 6> "$WORK/hold.in"
wait_for 'grep -q "^ready 5" "$WORK/hold.out"' || fail "5 connections not up"
[ "$(target_get 127.0.0.2:$P active)" = 1 ] ||
    fail "$(target_get 127.0.0.2:$P active) connections on 127.0.0.2, not 1"
t0=$(now_ms)
printf '127.0.0.3 web.test\n127.0.0.5 a.svc.test\n127.0.0.6 b.svc.test\n127.0.0.7 c.svc.test\n' \
    > "$WORK/hosts"
kill -HUP "$(cat "$WORK/dns.pid")"
wait_for '[ "$(targets_of web.test:$P)" = "127.0.0.3:$P/1/false" ]' ||
    fail "web.test: $(targets_of web.test:$P)"
t1=$(now_ms)
[ "$(target_get 127.0.0.2:$P state) $(target_get 127.0.0.2:$P active)" = \
    "removed 1" ] ||
    fail "127.0.0.2 is \"$(target_get 127.0.0.2:$P state)\" with $(target_get 127.0.0.2:$P active) connections, not removed with its 1"
# Its live connection still works: one more request on each.
echo request >&6
wait_for 'grep -q "^answered 5" "$WORK/hold.out"' 10 ||
    fail "the held connections: $(tail -n 1 "$WORK/hold.out")"
exec 6>&-
wait "$hold"
wait_for '[ -z "$(target_get 127.0.0.2:$P name)" ]' ||
    fail "127.0.0.2 stays after its last connection"
ok "web.test moved to 127.0.0.3 (seen in $((t1 - t0)) ms); 127.0.0.2 drained: its live connection still answered, then it went"

printf '127.0.0.3 web.test\n127.0.0.4 web.test\n127.0.0.5 a.svc.test\n127.0.0.6 b.svc.test\n127.0.0.7 c.svc.test\n' \
    > "$WORK/hosts"
kill -HUP "$(cat "$WORK/dns.pid")"
wait_for '[ "$(targets_of web.test:$P)" = "127.0.0.3:$P/1/false 127.0.0.4:$P/1/false" ]' ||
    fail "web.test: $(targets_of web.test:$P)"
ok "a second A record: two targets"

# 3. Other SRV records: a goes, b weighs 1, c is of priority 0 now.
stop_dns
start_dns "--srv-host=_web._tcp.svc.test,b.svc.test,$P,0,1" \
    "--srv-host=_web._tcp.svc.test,c.svc.test,$P,0,2"
want="127.0.0.6:$P/1/false 127.0.0.7:$P/2/false"
wait_for '[ "$(targets_of $srv)" = "$want" ]' ||
    fail "$srv: $(targets_of $srv)"
ok "SRV records changed: $want"

# 4. No resolver: the last good set stays, porter says why and serves.
stop_dns
wait_for '[ "$(status_get "[.upstreams[] | select(.error != null)] | length")" = 2 ]' ||
    fail "no resolver error in /status"
[ "$(targets_of $srv)" = "$want" ] || fail "$srv changed: $(targets_of $srv)"
[ "$(targets_of web.test:$P)" = "127.0.0.3:$P/1/false 127.0.0.4:$P/1/false" ] ||
    fail "web.test changed: $(targets_of web.test:$P)"
for i in $(seq 1 10); do
	[ "$(code /)" = 200 ] || fail "request $i without a resolver failed"
done
grep -qE "resolve: web.test:$P: .*; keeping the targets it had" \
    "$WORK/porter.log" || fail "no log line for the failing resolver"
ok "resolver gone: $(status_get '.upstreams[0].error'); targets kept, 10 requests served"
start_dns "--srv-host=_web._tcp.svc.test,b.svc.test,$P,0,1"
wait_for '[ "$(targets_of $srv)" = "127.0.0.6:$P/1/false" ]' ||
    fail "$srv: $(targets_of $srv)"
wait_for '[ "$(status_get "[.upstreams[] | select(.error != null)] | length")" = 0 ]' ||
    fail "resolver errors stay in /status"
ok "resolver back: followed again"
