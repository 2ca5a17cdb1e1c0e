#!/bin/bash
# restart_limit while a reload is under way. The running generation keeps
# dying (a broken release), and the operator reloads to a fix, which is
# still starting or on probation when the old workers pass restart_limit:
#  1. porter waits for the new generation instead of giving up (exit 3);
#     it takes over and serves.
#  2. if that generation fails too, and there is nothing to roll back to,
#     porter gives up then: exit 3.
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || fail "$PY is not installed"

# worker TAG LIFE DELAY: server.py (tests/apps/tag_server.py) answers "TAG
# ID PID" on $PORT, once it has slept DELAY seconds (a slow start: its port
# opens then); with LIFE (not 0), exits with status 3 LIFE seconds after it
# listens.
cp "${srcdir:-.}/tests/apps/tag_server.py" "$WORK/server.py"
chmod a+r "$WORK/server.py"

worker() {
	sed -i '/^worker /d' "$WORK/porter.conf"
	echo "worker exec $PY $WORK/server.py $1 life=$2 delay=$3" \
	    >> "$WORK/porter.conf"
}

# 1. A dies 1.5 s after it listens, and restart_limit is 2: the third
# death (about 3.5 s after the start) is one too many. B, the fix, opens
# its port 5 s after it starts, then has its probation (3 s).
write_conf "workers 2" "mode proxy" "restart_limit 2 60s" "ready_timeout 30s"
worker A 1.5 0
start_porter
worker B 0 5
kill -HUP "$(master_pid)"
wait_log "workers keep dying" || fail "A did not reach restart_limit"
grep -q "reload: done" "$WORK/porter.log" &&
    fail "B took over before A reached restart_limit: nothing was tested"
wait_log "waiting for the new generation before giving up" ||
    fail "porter did not wait for the reload under way"
wait_log "reload: done" 30 || fail "B did not take over"
wait_for 'get / | grep -q "^B "' || fail "B does not answer"
for i in 1 2 3 4 5 6; do
	get / | grep -q "^B [01] " || fail "request $i: $(get /)"
done
grep -qE ": giving up$" "$WORK/porter.log" && fail "porter gave up"
kill -0 "$PORTER_PID" 2> /dev/null || fail "porter exited"
wait_ready 2
ok "restart_limit during a reload: porter waited, the new generation took over and serves"
"$PORTER" -c "$WORK/porter.conf" -s stop || fail "-s stop failed"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"

# 2. The same, but the new generation C dies too (in its probation):
# nothing works and there is nothing to roll back to: exit 3.
write_conf "workers 2" "mode proxy" "restart_limit 2 60s" "ready_timeout 30s"
worker A 1.5 0
start_porter
worker C 1 6
kill -HUP "$(master_pid)"
wait_log "waiting for the new generation before giving up" ||
    fail "porter did not wait for the reload under way"
wait_exit "$PORTER_PID" 30 || fail "porter did not give up"
[ "$RC" = 3 ] || fail "exit $RC, not 3"
grep -q "reload failed: .*keeping the running configuration" \
    "$WORK/porter.log" || fail "the reload to C did not fail"
grep -qE ": giving up$" "$WORK/porter.log" || fail "no 'giving up'"
ok "a reload that fails while the running generation is past restart_limit: exit 3"
