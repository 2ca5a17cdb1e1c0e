#!/bin/bash
# Local workers go through the same health machine as remote upstreams:
# a worker that hangs (SIGSTOP: its port still takes connections, it
# answers nothing) fails its http checks and is taken out; with no
# primary up, the remote backup serves; the worker resumed (SIGCONT)
# passes rise checks and takes the traffic back.
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/lib-upstream.sh"

pick_backend_port 127.0.0.2
BK=127.0.0.2:$BPORT
start_backend back "$BK"
write_conf "workers 1" "upstream $BK backup" \
    "health_check http / interval 300ms rise 2 fall 2 timeout 200ms"
start_porter
wait_for '[ "$(target_get "worker 0" last_check.ok)" = true ]' ||
    fail "worker 0 is not checked"
get_many 4
[ $VIA_PROXY = 4 ] || fail "the backup served $VIA_SHARED of 4 with the worker up"
ok "worker 0 checked and up; the backup idle"

pid=$(worker_pids)
kill -STOP "$pid"
wait_for '[ "$(target_get "worker 0" health)" = down ]' 10 || {
	kill -CONT "$pid"
	fail "a hung worker is not taken out"
}
why=$(target_get "worker 0" last_check.result)
get_many 4
kill -CONT "$pid"
[ $VIA_SHARED = 4 ] || fail "worker down: only $VIA_SHARED of 4 to the backup"
ok "worker 0 hung: down by its checks ($why); the backup served 4 of 4"

wait_for '[ "$(target_get "worker 0" health)" = up ]' 10 ||
    fail "worker 0 not up again"
[ "$(worker_pids)" = "$pid" ] || fail "the worker was replaced"
get_many 4
[ $VIA_PROXY = 4 ] || fail "worker 0 back: $VIA_SHARED of 4 to the backup"
grep -qE "upstream: worker 0: up -> down \(fall: checks failed in a row" \
    "$WORK/porter.log" || fail "no log line for worker 0 going down"
ok "worker 0 resumed: up again (rise), serves 4 of 4; the same process"
