#!/bin/bash
# Reloads that must not cost a request, with a real program as the worker
# (Python's http.server, a few lines): a new generation that dies in its
# probation leaves the running one serving; one that dies later, past
# restart_limit, makes porter roll back to the configuration before; an
# old worker in proxy mode gets its stop signal (stop_signal) only once
# its relays are gone, or at graceful_timeout.
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || fail "$PY is not installed"

# server.py (tests/apps/tag_server.py) TAG [life=S]: answers "TAG ID PID"
# on $PORT; /wait/NAME answers once the file NAME appears beside it (the
# test says when); with life, exits with status 3 after S seconds. SIGTERM
# or SIGQUIT end it at once, cutting what it serves.
cp "${srcdir:-.}/tests/apps/tag_server.py" "$WORK/server.py"
chmod a+r "$WORK/server.py"

# conf TAG [LIFE] [MORE DIRECTIVES...]: the conf, rewritten in place (the
# ports stay: write_conf picked them once).
conf() {
	local tag=$1 life=$2
	shift 2
	sed -i '/^worker /d; /^reload_probation/d; /^restart_limit/d; /^stop_signal/d' \
	    "$WORK/porter.conf"
	echo "worker exec $PY $WORK/server.py $tag${life:+ life=$life}" \
	    >> "$WORK/porter.conf"
	for line in "$@"; do
		echo "$line" >> "$WORK/porter.conf"
	done
}

# hammer SECONDS: requests one after another (a new connection each);
# each failed one is a line in $WORK/failed.
hammer() {
	local end=$(($(now_ms) + $1 * 1000))
	: > "$WORK/failed"
	: > "$WORK/served"
	while [ "$(now_ms)" -lt $end ]; do
		curl -s -m 5 "http://127.0.0.1:$LPORT/" >> "$WORK/served" ||
		    echo "curl $?" >> "$WORK/failed"
	done
}

write_conf "workers 2" "mode proxy" "graceful_timeout 10s"
conf A ""
start_porter

# 1. A new generation that opens its port, then dies within a second:
# the reload fails in probation, generation A keeps serving, no request
# lost.
conf B 1 "reload_probation 3s"
hammer 6 &
h=$!
kill -HUP "$(master_pid)"
wait_log "reload failed: worker [0-9] of the new generation exited in its probation.*keeping the running configuration" 30 ||
    fail "the bad reload was not refused"
wait $h
n=$(wc -l < "$WORK/served")
[ ! -s "$WORK/failed" ] ||
    fail "$(wc -l < "$WORK/failed") requests failed: $(sort "$WORK/failed" | uniq -c)"
grep -v "^A " "$WORK/served" | head -n 3 | grep . &&
    fail "answers not from generation A"
[ "$(log_count "reload: done")" = 0 ] || fail "the bad reload was committed"
wait_ready 2
ok "a generation that dies in its probation: refused, $n requests, 0 failed"

# 2. One that lives through its probation and dies later, again and
# again: at restart_limit porter goes back to A, and keeps serving.
conf B 2 "reload_probation 1s" "restart_limit 4 60s"
kill -HUP "$(master_pid)"
wait_log "reload: done" 30 || fail "reload to B not done"
wait_for 'get / | grep -q "^B "' || fail "B does not answer"
wait_log "rolling back to the configuration before the last reload" 60 ||
    fail "no rollback"
wait_log "rollback: done" 30 || fail "the rollback did not finish"
wait_for 'get / | grep -q "^A "' || fail "A does not answer after rollback"
for i in 1 2 3 4 5 6; do
	get / | grep -q "^A " || fail "request $i after the rollback not from A"
done
grep -q "giving up" "$WORK/porter.log" && fail "porter gave up"
kill -0 "$PORTER_PID" || fail "porter exited"
wait_ready 2
ok "a generation that keeps dying after its probation: rolled back to A"

# 3. stop_signal, and no relay cut: a request is under way when the
# reload retires its worker; the worker gets SIGQUIT only once the answer
# is out.
conf C "" "reload_probation 200ms" "stop_signal QUIT"
kill -HUP "$(master_pid)"
wait_log "reload: done" 30 || fail "reload to C not done"
wait_for 'get / | grep -q "^C "' || fail "C does not answer"
curl -s -m 60 -o "$WORK/slow.out" -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/wait/go3" > "$WORK/slow.code" &
c=$!
wait_for '[ "$(status_get "[.workers[].active] | add")" -ge 1 ]' ||
    fail "the slow request is not relayed"
done_before=$(log_count "reload: done")
cpids=$(worker_pids)
busy=$(status_get '.workers[] | select(.active > 0) | .pid')
conf D "" "reload_probation 200ms" "stop_signal QUIT"
kill -HUP "$(master_pid)"
wait_for "[ \$(log_count 'reload: done') -gt $done_before ]" ||
    fail "reload to D not done"
wait_for 'get / | grep -q "^D "' || fail "D does not answer"
kill -0 $c 2> /dev/null || fail "the request under way ended before its answer"
grep -q "(pid $busy, generation [0-9]*) stopped" "$WORK/porter.log" &&
    fail "old worker $busy was stopped with a relay open"
touch "$WORK/go3"
wait $c
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "the slow request was cut: $(cat "$WORK/slow.code")"
grep -q "^C " "$WORK/slow.out" || fail "slow answer: $(cat "$WORK/slow.out")"
for p in $cpids; do
	wait_log "\(pid $p, generation [0-9]+\) stopped by signal 3 .*porter sent it \(retired\)" ||
	    fail "old worker $p did not get SIGQUIT"
done
ok "reload with a request under way: its worker waited for it (200), then SIGQUIT"

# 4. A relay that outlives graceful_timeout: the signal goes then.
sed -i 's/^graceful_timeout .*/graceful_timeout 1s/' "$WORK/porter.conf"
wait_for 'get / | grep -q "^D "' || fail "D does not answer"
curl -s -m 60 -o /dev/null "http://127.0.0.1:$LPORT/wait/never" &
c=$!
wait_for '[ "$(status_get "[.workers[].active] | add")" -ge 1 ]' ||
    fail "the slow request is not relayed"
done_before=$(log_count "reload: done")
kill -HUP "$(master_pid)"
wait_for "[ \$(log_count 'reload: done') -gt $done_before ]" ||
    fail "the last reload not done"
wait_log "relay still open at graceful_timeout; stopping it" ||
    fail "no stop at graceful_timeout"
wait $c || true
ok "a relay past graceful_timeout: the stop signal went then"

"$PORTER" -c "$WORK/porter.conf" -s stop || fail "-s stop failed"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
