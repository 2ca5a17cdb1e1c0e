#!/bin/bash
# Stopping: SIGQUIT lets an in-flight request finish, SIGTERM is fast, a
# killed master leaves no worker behind, and workers that keep dying make
# the master give up with exit 3.
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2"
start_porter

# A request is in flight: a worker has it (workers report theirs within
# 100 ms), or in proxy mode the master relays it.
in_flight() {
	[ "$(status_get .master.active_connections)" -ge 1 ]
}

# SIGQUIT with /delay/1500 in flight: the request completes with 200.
curl -s -m 10 -o "$WORK/slow.out" -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/delay/1500" > "$WORK/slow.code" &
c=$!
wait_for in_flight || fail "the slow request is not in flight"
kill -QUIT "$(master_pid)"
# Draining: nothing listens on the port any more (in shared mode, not the
# workers either), while the slow request goes on.
wait_for 'port_free $LPORT' || fail "still listening while draining"
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/")
[ "$code" = 000 ] || fail "new connections still accepted while draining"
wait $c
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "in-flight request got $(cat "$WORK/slow.code")"
wait_exit "$PORTER_PID" 10 || fail "porter did not exit after SIGQUIT"
[ "$RC" = 0 ] || fail "exit status $RC after SIGQUIT"
grep -E "killed by signal|stopped by signal|exited with status" \
    "$WORK/porter.log" && fail "a worker did not stop cleanly on SIGQUIT"
ok "SIGQUIT: in-flight /delay/1500 got 200, exit 0"

# SIGTERM: fast, even with a request in flight: porter does not wait for
# it (a graceful stop would: 20 s here). Fast is about 0.1 s, but up to
# 4 s under ASan on a busy machine, where every exiting process runs
# LeakSanitizer: the limit is half the request's delay. A worker that
# ignores SIGTERM is killed after 5 s (STOP_TIMEOUT): the log shows that.
write_conf "workers 2" "graceful_timeout 60s"
start_porter
DELAY=20000
curl -s -m 30 -o /dev/null "http://127.0.0.1:$LPORT/delay/$DELAY" &
c=$!
wait_for in_flight || fail "the slow request is not in flight"
t0=$(date +%s%N)
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 15 || fail "porter did not exit after SIGTERM"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$RC" = 0 ] || fail "exit status $RC after SIGTERM"
grep -q "fast stop" "$WORK/porter.log" || fail "SIGTERM: no fast stop logged"
[ $ms -lt $((DELAY / 2)) ] || fail "SIGTERM took $ms ms"
grep -E "killed by signal|stopped by signal|exited with status" \
    "$WORK/porter.log" && fail "a worker did not stop cleanly on SIGTERM"
wait $c
ok "SIGTERM: stopped in $ms ms"

# SIGKILL of the master: the workers die with it.
start_porter
pids=$(worker_pids)
kill -KILL "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "the killed master is still there"
alive() {
	local p
	for p in $pids; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}
wait_for '! alive' 5 || fail "workers $pids outlived the master"
ok "killed master: no worker left behind"

# A worker port held by another program: porter starts the worker on
# the next port of its pool instead. Only proxy-mode workers have one.
[ "$MODE" = proxy ] || exit 0
write_conf "workers 1"
cat > "$WORK/block.conf" <<CONF
listen 127.0.0.1:$WPORT
worker_ports 127.0.0.1:$((WPORT + 3))
workers 1
CONF
timeout -s KILL 60 $PORTER -c "$WORK/block.conf" > "$WORK/block.log" 2>&1 &
blocker=$!
STARTED="$STARTED $blocker"
wait_for '! port_free $WPORT' || fail "the blocking porter does not listen"
start_porter
port=$(status_get '.workers[0].port')
[ "$port" = $((WPORT + 1)) ] || fail "worker on $port, not $((WPORT + 1))"
grep -q "port $WPORT is held" "$WORK/porter.log" ||
    fail "the held port was not noticed"
[ "$(code /)" = 200 ] || fail "no answer from the worker on $port"
ok "worker port $WPORT held by another program: the worker took $port"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# Workers that cannot start: exit 3, no busy loop.
write_conf "workers 1" "restart_limit 3 30s" "worker exec sh -c \"exit 1\""
t0=$(date +%s%N)
timeout -s KILL 60 $PORTER -c "$WORK/porter.conf" > "$WORK/porter.log" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc = 3 ] || fail "exit $rc when workers keep dying, expected 3"
grep -q "giving up" "$WORK/porter.log" || fail "no 'giving up' in the log"
n=$(grep -c "exited with status" "$WORK/porter.log")
[ "$n" = 4 ] || fail "$n worker deaths logged, expected 4 (3 restarts + 1)"
[ $ms -ge 300 ] || fail "gave up in $ms ms: no back-off between restarts"
ok "restart_limit 3: exit 3 after $n deaths in $ms ms, with back-off"
