#!/bin/bash
# The control socket and "porter -s COMMAND", with a local worker beside
# two remote backends (one a backup): the socket's mode; show; a target
# drained takes no new connection while its live one finishes; weights;
# scale 0 (only the upstreams serve) and back; with no primary up the
# backup serves; add and del at run time; bad commands, garbage and a
# crowd of clients get one-line errors and leave porter serving; reload
# goes back to the conf file.
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/lib-upstream.sh"

pick_backend_port 127.0.0.2 127.0.0.3 127.0.0.4
U=127.0.0.2:$BPORT
BK=127.0.0.3:$BPORT
X=127.0.0.4:$BPORT
start_backend back "$U" "$BK" "$X"
SOCK=$WORK/control.sock
write_conf "workers 1" "upstream $U" "upstream $BK backup" \
    "control $SOCK" "reload_probation 0" "graceful_timeout 10s"
start_porter

[ -S "$SOCK" ] || fail "no control socket"
[ "$(stat -c '%a %u' "$SOCK")" = "600 $(id -u)" ] ||
    fail "control socket: mode and owner $(stat -c '%a %u' "$SOCK")"
ok "control socket: mode 600, owned by uid $(id -u)"

out=$(ctl show workers) || fail "show workers: $out"
echo "$out" | grep -qE '^0 0 [0-9]+ [0-9]+ ready up ' ||
    fail "show workers: $out"
out=$(ctl show upstreams) || fail "show upstreams: $out"
echo "$out" | grep -qE "^$U $U $U 1 no ready up " || fail "show upstreams: $out"
echo "$out" | grep -qE "^$BK $BK $BK 1 yes ready up " ||
    fail "show upstreams: $out"
echo "$out" | grep -qE "^worker-0 127.0.0.1:[0-9]+ - 1 no ready up " ||
    fail "show upstreams: $out"
get_many 10
[ $VIA_PROXY = 5 ] && [ $VIA_SHARED = 5 ] ||
    fail "worker and upstream: $VIA_PROXY and $VIA_SHARED of 10"
[ "$(target_get "$BK" total)" = 0 ] || fail "the backup got traffic"
ok "show workers, show upstreams; the worker and the upstream share 10 requests, the backup none"

# Drain: a slow request on the upstream finishes; nothing new goes there.
slow=""
for i in 1 2; do
	curl -s -m 20 -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$LPORT/delay/1500" > "$WORK/slow$i.code" &
	slow="$slow $!"
done
wait_for '[ "$(target_get "$U" active)" = 1 ]' || fail "no slow request on $U"
[ "$(ctl set upstream "$U" drain)" = ok ] || fail "set drain"
[ "$(target_get "$U" state)" = drain ] || fail "not drain in /status"
[ "$(target_get "$U" runtime)" = true ] || fail "runtime change not shown"
get_many 6
[ $VIA_PROXY = 6 ] || fail "drained: $VIA_SHARED of 6 went to a backend"
wait $slow
[ "$(cat "$WORK/slow1.code") $(cat "$WORK/slow2.code")" = "200 200" ] ||
    fail "slow requests: $(cat "$WORK"/slow*.code)"
grep -qE "upstream: $U: ready -> drain \(control\)" "$WORK/porter.log" ||
    fail "the change is not logged"
ok "drain: the live request finished (200), 6 new ones went to the worker; logged"

[ "$(ctl set upstream "$U" ready)" = ok ] || fail "set ready"
[ "$(ctl set weight "$U" 3)" = ok ] || fail "set weight"
[ "$(target_get "$U" weight)" = 3 ] || fail "weight not 3 in /status"
get_many 8
[ $VIA_SHARED = 6 ] || fail "weight 3 against 1: $VIA_SHARED of 8"
ok "weight 3: 6 of 8 requests to the upstream"

# scale 0: the upstreams alone; the worker retires.
[ "$(ctl scale 0)" = ok ] || fail "scale 0"
wait_for '[ "$(status_get ".workers | length")" = 0 ]' ||
    fail "the worker does not retire"
get_many 5
[ $VIA_SHARED = 5 ] || fail "scale 0: $VIA_PROXY of 5 via a worker"
# No primary up (the one upstream in maint): the backup takes them.
[ "$(ctl set upstream "$U" maint)" = ok ] || fail "set maint"
get_many 5
[ "$(target_get "$BK" total)" = 5 ] || fail "the backup got $(target_get "$BK" total) of 5"
ok "scale 0: the upstream serves; in maint, the backup takes 5 of 5"

[ "$(ctl scale 2)" = ok ] || fail "scale 2"
wait_ready 2
[ "$(ctl add upstream "$X" weight 2)" = ok ] || fail "add upstream"
[ "$(target_get "$X" runtime)" = true ] || fail "added: not shown as runtime"
out=$(ctl add upstream "$X" 2>&1) && fail "added twice: $out"
echo "$out" | grep -q "^error: .* is there already" || fail "add twice: $out"
out=$(ctl add upstream web.test:80 2>&1) && fail "a name without resolve: $out"
echo "$out" | grep -q "^error: upstream: \"web.test:80\" is a name: add resolve" ||
    fail "a name without resolve: $out"
[ "$(ctl del upstream "$X")" = ok ] || fail "del upstream"
[ -z "$(target_get "$X" name)" ] || fail "deleted, still there"
ok "scale 2; add upstream, twice (refused), a name without resolve (refused); del"

# Bad input: one line of error each, porter unharmed.
for cmd in "bogus" "set weight $U -3" "set upstream 10.9.9.9:1 drain" \
    "del upstream nothing:1" "scale 500" "show"; do
	out=$(ctl "$cmd" 2>&1)	# one word: "-3" is no option
	rc=$?
	[ $rc = 1 ] || fail "\"$cmd\": exit $rc"
	[ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "^error: " ||
	    fail "\"$cmd\": $out"
done
head -c 3000 /dev/urandom | tr '\n' x | "$TCPCLIENT" send-unix "$SOCK" 5 > "$WORK/garbage.out" 2>&1
grep -q "^error: line too long" "$WORK/garbage.out" ||
    fail "a long line: $(head -c 200 "$WORK/garbage.out")"
printf 'show\0workers\nhelp\n' | "$TCPCLIENT" send-unix "$SOCK" 5 half > "$WORK/nul.out"
grep -q "^error: NUL byte" "$WORK/nul.out" && grep -q "^scale N" "$WORK/nul.out" ||
    fail "NUL byte, then help: $(cat "$WORK/nul.out")"
# 20 clients that say nothing: 16 are taken, 4 told "too many"; when
# they go, the places are free again.
out=$(python3 - "$SOCK" <<'PY'
import socket, sys, time
socks = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
import select
told, end, left = 0, time.time() + 10, list(socks)
while told < 4 and left and time.time() < end:
    for s in select.select(left, [], [], 0.2)[0]:
        if b"too many control clients" in s.recv(100):
            told += 1
        left.remove(s)
time.sleep(0.3)     # a fifth would have been told by now
for s in left:
    s.setblocking(False)
    try:
        if s.recv(100):
            told += 1
    except BlockingIOError:
        pass
print(told)
PY
) || fail "a crowd of clients: $out"
[ "$out" = 4 ] || fail "a crowd of 20 clients: $out told too many, not 4"
[ "$(code /)" = 200 ] || fail "porter does not serve after bad input"
ok "bad commands: one line each, exit 1; garbage, NUL, a crowd of clients: porter serves"

# reload: back to the conf file (weight 1, ready, one worker, no X).
wait_for 'ctl help > /dev/null' 5 || fail "the crowd's places are not free"
[ "$(ctl add upstream "$X")" = ok ] || fail "add upstream before reload"
out=$(ctl reload) || fail "reload: $out"
wait_log "reload: done" || fail "reload not done"
wait_for '[ "$(target_get "$U" state) $(target_get "$U" weight) $(target_get "$U" runtime)" = "ready 1 false" ]' ||
    fail "after reload: $(target_get "$U" state) $(target_get "$U" weight)"
wait_for '[ "$(status_get "[.workers[] | select(.state != \"draining\")] | length")" = 1 ]' ||
    fail "after reload: not 1 worker"
wait_for '[ "$(target_get "$X" state)" != ready ]' ||
    fail "after reload: the runtime upstream $X stays"
get_many 4
[ $VIA_PROXY = 2 ] && [ $VIA_SHARED = 2 ] ||
    fail "after reload: $VIA_PROXY via the worker, $VIA_SHARED upstream"
ok "reload: back to the conf file's truth (weight, state, 1 worker, the added upstream gone)"
