#!/bin/bash
# Stopping: SIGQUIT lets an in-flight request finish, SIGTERM is fast, a
# killed master leaves no worker behind, and workers that keep dying make
# the master give up with exit 3.
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2"
start_porter

# SIGQUIT with /delay/1500 in flight: the request completes with 200.
curl -s -m 10 -o "$WORK/slow.out" -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/delay/1500" > "$WORK/slow.code" &
c=$!
sleep 0.5
kill -QUIT "$(master_pid)"
sleep 0.2
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

# SIGTERM: fast, even with a request in flight.
start_porter
curl -s -m 10 -o /dev/null "http://127.0.0.1:$LPORT/delay/5000" &
c=$!
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 5 || fail "porter did not exit after SIGTERM"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$RC" = 0 ] || fail "exit status $RC after SIGTERM"
[ $ms -lt 2000 ] || fail "SIGTERM took $ms ms"
grep -E "killed by signal|stopped by signal|exited with status" \
    "$WORK/porter.log" && fail "a worker did not stop cleanly on SIGTERM"
wait $c
ok "SIGTERM: stopped in $ms ms"

# SIGKILL of the master: the workers die with it.
start_porter
pids=$(worker_pids)
kill -KILL "$(master_pid)"
for i in $(seq 1 50); do
	alive=0
	for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && break
	sleep 0.1
done
[ $alive = 0 ] || fail "workers $pids outlived the master"
ok "killed master: no worker left behind"

# Workers that cannot start (their port is taken): exit 3, no busy loop.
# Only proxy-mode workers bind a port of their own.
[ "$MODE" = proxy ] || exit 0
write_conf "workers 1" "restart_limit 3 30s"
# Occupy the worker port with another porter's listener.
cat > "$WORK/block.conf" <<CONF
listen 127.0.0.1:$WPORT
worker_ports 127.0.0.1:$((WPORT + 3))
workers 1
CONF
timeout -s KILL 60 $PORTER -c "$WORK/block.conf" > "$WORK/block.log" 2>&1 &
blocker=$!
STARTED="$STARTED $blocker"
for i in $(seq 1 50); do port_free $WPORT || break; sleep 0.1; done
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
