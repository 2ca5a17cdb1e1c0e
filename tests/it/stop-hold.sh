#!/bin/bash
# Stops that must not cut a request an exec or node worker is serving, in
# proxy mode, where porter sees every connection to a worker:
#  1. porter's graceful stop (SIGQUIT) with a request under way on an exec
#     worker whose stop signal (TERM) ends it at once: the worker gets TERM
#     only once that relay is done; the request gets its 200.
#  2. the same with a node worker (`worker node`), which porter stops with
#     Node's disconnect message (before the cluster work: SIGTERM, on
#     which Node exits at once).
#  3. a stop signal held over a live relay until just before
#     graceful_timeout still leaves the app STOP_TIMEOUT (5 s) to finish:
#     it is not killed at graceful_timeout in the middle of its shutdown.
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || fail "$PY is not installed"
command -v node > /dev/null || fail "node is not installed"
examples

# server.py (tests/apps/tag_server.py) TAG [term_ms=MS]: answers "TAG ID
# PID" on $PORT; /wait/NAME answers once the file NAME appears beside it
# (the test says when). With term_ms, SIGTERM starts a shutdown that takes
# MS ms, then exits 0; without, SIGTERM ends it at once (Python's default),
# cutting what it serves.
cp "${srcdir:-.}/tests/apps/tag_server.py" "$WORK/server.py"
chmod a+r "$WORK/server.py"

# slow PATH: a request in the background; its status code goes to
# $WORK/slow.code, its body to $WORK/slow.out; SLOW its curl's pid. Waits
# until porter relays it.
slow() {
	rm -f "$WORK/slow.code" "$WORK/slow.out"
	curl -s -m 60 -o "$WORK/slow.out" -w '%{http_code}' \
	    "http://127.0.0.1:$LPORT$1" > "$WORK/slow.code" &
	SLOW=$!
	wait_for '[ "$(status_get "[.workers[].active] | add")" -ge 1 ]' ||
	    fail "the slow request $1 is not relayed"
}

# graceful_stop WHAT: SIGQUIT to porter with the slow request under way.
# Whether porter held the stop signal shows in the request's answer: the
# worker ends at once on it, cutting the request (no 200), so it must not
# come before the answer is out.
graceful_stop() {
	kill -QUIT "$(master_pid)"
	wait_log "graceful stop" || fail "$1: no graceful stop"
	kill -0 "$SLOW" 2> /dev/null && return 0
	wait "$SLOW"
	[ "$(cat "$WORK/slow.code")" = 200 ] ||
	    fail "$1: the request under way was cut at the graceful stop:" \
	    "$(cat "$WORK/slow.code")"
	fail "$1: the request was over before the graceful stop: nothing tested"
}

# 1. exec: Python's http.server, TERM ends it at once.
write_conf "workers 2" "mode proxy" "graceful_timeout 30s" \
    "worker exec $PY $WORK/server.py A"
start_porter
slow /wait/go1
busy=$(status_get '.workers[] | select(.active > 0) | .pid')
graceful_stop exec
# Not a wait for a condition: the request stays under way 1.5 s into the
# graceful stop (before, porter sent TERM at once).
sleep 1.5
touch "$WORK/go1"
wait "$SLOW"
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "exec: the request under way was cut: $(cat "$WORK/slow.code")"
grep -q "^A [01] $busy$" "$WORK/slow.out" ||
    fail "exec: answer $(cat "$WORK/slow.out"), not from $busy"
wait_exit "$PORTER_PID" 20 || fail "exec: porter did not stop"
[ "$RC" = 0 ] || fail "exec: porter exited $RC"
grep -qE "\(pid $busy, generation 0\) stopped by signal 15 .*porter sent it \(porter stops\)" \
    "$WORK/porter.log" || fail "exec: worker $busy did not get TERM from porter"
ok "graceful stop, exec worker: TERM held until the request under way was answered (200), exit 0"

# 2. node: conf/examples/node-proxy.js, which Node ends at once on TERM.
write_conf "workers 2" "mode proxy" "graceful_timeout 30s" \
    "worker node $EX/node-proxy.js"
start_porter
slow /delay/8000
busy=$(status_get '.workers[] | select(.active > 0) | .pid')
graceful_stop node
wait "$SLOW"
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "node: the request under way was cut: $(cat "$WORK/slow.code")"
grep -q "^delayed 8000 ms by node worker" "$WORK/slow.out" ||
    fail "node: answer $(cat "$WORK/slow.out")"
wait_exit "$PORTER_PID" 20 || fail "node: porter did not stop"
[ "$RC" = 0 ] || fail "node: porter exited $RC"
grep -qE "\(pid $busy, generation 0\) (finished|stopped)" "$WORK/porter.log" ||
    fail "node: no exit line for worker $busy"
ok "graceful stop, node worker: its stop (Node's disconnect) held until the 8 s request was answered (200), exit 0"

# 3. An app that takes 3.5 s to shut down on TERM. A reload retires it
# with a request under way; the request ends 3 s after "reload: done",
# 3 s before graceful_timeout (6 s): porter sends TERM then, and the app
# must get its STOP_TIMEOUT (5 s) to finish, not a SIGKILL at
# graceful_timeout, 3 s later, in the middle of its shutdown.
write_conf "workers 2" "mode proxy" "graceful_timeout 6s" \
    "reload_probation 200ms" \
    "worker exec $PY $WORK/server.py C term_ms=3500"
start_porter
slow /wait/go3
busy=$(status_get '.workers[] | select(.active > 0) | .pid')
sed -i "s|server.py C term_ms|server.py D term_ms|" "$WORK/porter.conf"
kill -HUP "$(master_pid)"
wait_log "reload: done" || fail "the reload was not done"
t_done=$(now_ms)
wait_for 'get / | grep -q "^D "' || fail "D does not answer"
# Not a wait for a condition: the request ends 3 s after the reload.
sleep "$(awk -v ms=$((3000 - ($(now_ms) - t_done))) \
    'BEGIN { print (ms > 0 ? ms / 1000 : 0) }')"
touch "$WORK/go3"
t_go=$(now_ms)
wait "$SLOW"
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "the request under way was cut: $(cat "$WORK/slow.code")"
grep -q "still open at graceful_timeout" "$WORK/porter.log" &&
    fail "the relay outlived graceful_timeout: released $((t_go - t_done)) ms after the reload, too late for this test"
wait_log "server $busy: SIGTERM, shutting down" ||
    fail "old worker $busy did not get TERM"
wait_log "\(pid $busy, generation 0\) (finished|stopped)" 15 ||
    fail "old worker $busy did not leave"
grep -E "\(pid $busy, generation 0\) (finished|stopped)" "$WORK/porter.log" |
    grep -q "finished, status 0" ||
    fail "old worker $busy was killed in its shutdown: $(grep "(pid $busy," "$WORK/porter.log")"
ok "a stop signal held $((t_go - t_done)) ms over a relay: the app still had its 3.5 s shutdown (graceful_timeout 6 s), exit 0"
"$PORTER" -c "$WORK/porter.conf" -s stop || fail "-s stop failed"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
