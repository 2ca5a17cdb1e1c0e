#!/bin/bash
# DNS discovery against a real DNS server (dnsmasq on a high port, its
# own records, TTL 1 s), through c-ares: "upstream NAME:PORT resolve"
# follows A records, "upstream _SVC._tcp.NAME resolve srv" SRV records
# (ports, weights, the lowest priority primary, the others backups).
#  1. What DNS says becomes the targets.
#  2. A record changes: porter follows within a few TTLs; the target that
#     left is drained: its live connections finish (slow requests).
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

# 2. web.test moves to 127.0.0.3 while 5 slow requests run: weights
# 1, 1 and 3 give 127.0.0.2 one of them.
slow=""
for i in 1 2 3 4 5; do
	curl -s -m 20 -o "$WORK/slow$i.out" -w '%{http_code}' \
	    "http://127.0.0.1:$LPORT/delay/2000" > "$WORK/slow$i.code" &
	slow="$slow $!"
done
wait_for '[ "$(target_get 127.0.0.2:$P active)" = 1 ]' ||
    fail "no slow request on 127.0.0.2"
t0=$(now_ms)
printf '127.0.0.3 web.test\n127.0.0.5 a.svc.test\n127.0.0.6 b.svc.test\n127.0.0.7 c.svc.test\n' \
    > "$WORK/hosts"
kill -HUP "$(cat "$WORK/dns.pid")"
wait_for '[ "$(targets_of web.test:$P)" = "127.0.0.3:$P/1/false" ]' ||
    fail "web.test: $(targets_of web.test:$P)"
t1=$(now_ms)
[ "$(target_get 127.0.0.2:$P state)" = removed ] ||
    fail "127.0.0.2 is $(target_get 127.0.0.2:$P state), not removed and finishing"
[ "$(target_get 127.0.0.2:$P active)" = 1 ] ||
    fail "127.0.0.2's live connection is gone"
wait $slow
for i in 1 2 3 4 5; do
	[ "$(cat "$WORK/slow$i.code")" = 200 ] ||
	    fail "slow request $i: $(cat "$WORK/slow$i.code")"
done
wait_for '[ -z "$(target_get 127.0.0.2:$P name)" ]' ||
    fail "127.0.0.2 stays after its last connection"
ok "web.test moved to 127.0.0.3 (seen in $((t1 - t0)) ms); 127.0.0.2 drained: its slow request answered 200, then it went"

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
