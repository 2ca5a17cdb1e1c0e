#!/bin/bash
# Workers that fork: a worker is a process group, and porter a child
# subreaper. Killing a worker takes what it forked with it, a port still
# held by a stray process is not reused, and nothing outlives porter.
. "${srcdir:-.}/tests/lib.sh"

command -v python3 > /dev/null || fail "python3 is not installed"

# The python child of worker pid $1.
child() {
	pgrep -P "$1" -f http.server | head -n 1
}

# A shell that forks the server and waits: the worker's pid is the shell.
write_conf "workers 1" "mode proxy" \
    'worker exec sh -c "python3 -m http.server $PORT --bind 127.0.0.1 & wait"'
start_porter
wait_for '[ "$(code /)" = 200 ]' || fail "the forking worker does not serve"
w=$(worker_pids)
wait_for '[ -n "$(child '"$w"')" ]' 5 || fail "no python child of $w"
c=$(child "$w")
kill -9 "$w"
_poll 2 "! kill -0 $c 2>/dev/null" ||
    fail "worker $w killed, its child $c lives on"
wait_for '[ "$(worker_pids)" != "'"$w"'" ]' || fail "no new worker"
wait_ready 1
wait_for '[ "$(code /)" = 200 ]' || fail "the replacement does not serve"
port=$(status_get '.workers[0].port')
[ "$port" = "$WPORT" ] || fail "the replacement is on $port, not $WPORT"
ok "kill -9 of a forking worker: its child went too, the replacement binds $WPORT"

# A child that leaves the group (setsid) is porter's, by the subreaper:
# its port is not reused while it holds it, and it dies with porter.
write_conf "workers 1" "mode proxy" \
    'worker exec sh -c "setsid python3 -m http.server $PORT --bind 127.0.0.1 & wait"'
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
start_porter
wait_for '[ "$(code /)" = 200 ]' || fail "the setsid worker does not serve"
w=$(worker_pids)
stray=$(pgrep -f "^python3 -m http.server $WPORT " | head -n 1)
[ -n "$stray" ] || fail "no python on $WPORT"
kill -9 "$w"
wait_for '[ "$(worker_pids)" != "'"$w"'" ]' || fail "no new worker"
wait_ready 1
port=$(status_get '.workers[0].port')
[ "$port" != "$WPORT" ] || fail "the replacement reused $WPORT, held by $stray"
grep -q "port $WPORT is held by another process" \
    "$WORK/porter.log" || fail "the held port was not noticed"
[ "$(code /)" = 200 ] || fail "the replacement does not serve"
ppid=$(awk '{ print $4 }' "/proc/$stray/stat")
[ "$ppid" = "$(master_pid)" ] ||
    fail "the stray's parent is $ppid, not porter (no subreaper?)"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
_poll 2 "! kill -0 $stray 2>/dev/null" ||
    { kill -9 "$stray"; fail "stray $stray outlived porter"; }
pgrep -f "^python3 -m http.server ($WPORT|$((WPORT + 1))) " > /dev/null &&
    fail "a python server outlived porter"
ok "a child that left the group: port $WPORT skipped, killed with porter"
