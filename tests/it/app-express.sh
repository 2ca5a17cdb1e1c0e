#!/bin/bash
# An Express app (express from npm, in the source tree's .deps/npm, put
# there by scripts/setup.sh's need_express) under `worker exec node ...`
# in proxy mode: tests/apps/express-app.js, which stops on SIGTERM as a
# real app should (closes its server and its idle connections).
#  1. Requests through porter reach both workers.
#  2. kill -9 of a worker: the replacement binds the same port.
#  3. 4 reloads under wrk (Connection: close), then one under wrk with
#     keep-alive: no socket error, no non-2xx; the old workers' keep-alive
#     connections are not cut: porter sends them their stop_signal (TERM)
#     once their relays are gone. (app-nginx.sh's part 3, a connection
#     held across a reload, is not repeated here: node starts slowly.)
#  4. A bad reload (an app that throws 1 s after it listened) fails in
#     reload_probation; the old workers serve on, 0 failed requests.
#  5. ready_check http /ready: an app that listens at once but is not
#     warm for 1.5 s gets no traffic before; /status says "http".
#  6. After porter -s stop, no process of the test is left.
# node and nginx start slowly on a loaded machine (node with express took
# 10 s there): generous waits; they only cost time when the test fails.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-60}
. "${srcdir:-.}/tests/lib.sh"

for t in node wrk curl jq; do
	command -v $t > /dev/null || fail "$t is not installed"
done
NODE=$(command -v node)
MODULES=$NODE_MODULES
if [ ! -f "$MODULES/express/package.json" ]; then
	echo "SKIP: express is not installed in $MODULES" \
	    "(scripts/setup.sh's need_express installs it from npm)"
	exit 77
fi
# The workers run as nobody when porter is root: they must read it.
if [ "$(id -u)" = 0 ] &&
    ! su -s /bin/sh nobody -c "test -r '$MODULES/express/index.js'"; then
	fail "nobody cannot read $MODULES (chmod -R a+rX .deps)"
fi

mkdir -p "$WORK/apps"
cp "${srcdir:-.}/tests/apps/express-app.js" "$WORK/apps/"
chmod -R a+rX "$WORK/apps"
APP="$NODE $WORK/apps/express-app.js"

# The worker ids that answer 8 requests through porter, on one line.
ids_seen() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		get /
	done | sed -n 's/^express worker \([0-9]*\), pid [0-9]*, .*/\1/p' |
	    sort -u | tr '\n' ' '
}

# The pid of worker $1 (its id) of the newest generation in /status.
worker_pid() {
	status_get "[.workers[] | select(.id == $1)] | last | .pid"
}
worker_port() {
	status_get "[.workers[] | select(.id == $1)] | last | .port"
}

# The app says on stderr (porter's log) when it got SIGTERM.
got_term() {	# PID
	grep -q "(pid $1): SIGTERM after" "$WORK/porter.log"
}


# stop_signal is TERM, the default. A short probation keeps the reloads
# quick (part 4 uses the default); graceful_timeout long enough that no
# wait below reaches it, even on a loaded machine.
write_conf "workers 2" "mode proxy" "worker exec $APP" \
    "env NODE_PATH=$MODULES" "reload_probation 1s" "graceful_timeout 90s" \
    "ready_timeout 60s"
start_porter
MP=$(master_pid)

# 1. Both workers answer.
got=$(ids_seen)
[ "$got" = "0 1 " ] || fail "answers from workers '$got', not 0 and 1"
for p in $(worker_pids); do
	get / | grep -q "pid $p," && continue
	get / | grep -q "pid $p," || fail "no answer from pid $p"
done
ok "express, 2 exec workers: answers from workers $got"

# 2. kill -9 of a worker: the replacement binds the same port.
m=$(worker_pid 1)
port=$(worker_port 1)
kill -9 "$m"
wait_for '[ "$(worker_pid 1)" != "'"$m"'" ]' || fail "no new worker 1"
wait_ready 2
m2=$(worker_pid 1)
[ "$(worker_port 1)" = "$port" ] || fail "the replacement is not on $port"
wait_for '[ "$(ids_seen)" = "0 1 " ]' ||
    fail "after kill -9: answers from workers $(ids_seen)"
ok "kill -9 of express $m: $m2 serves on $port, 2 ready"

# 3a. 4 reloads under wrk with Connection: close: no error.
reloads_under_wrk 4 200
[ "$(log_count "reload: done")" = 4 ] ||
    fail "$(log_count "reload: done") reloads done, not 4"
for o in $OLDS; do
	got_term "$o" || fail "retired express $o: no SIGTERM"
done
ok "4 reloads under wrk (-H Connection: close): $WRK_N requests, 0 errors"

# 3b. With keep-alive: wrk's 8 connections stay on the workers they
# started on; those are retired but not signalled until wrk closes them.
OLDS=$(worker_pids | tr '\n' ' ')
wrk_start
reload
for o in $OLDS; do
	kill -0 "$o" 2>/dev/null ||
	    fail "old worker $o gone while wrk's connections were open"
	got_term "$o" &&
	    fail "old worker $o signalled while wrk's connections were open"
done
wrk_stop
t1=$(now_ms)
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' 10 ||
    fail "old workers stay after wrk closed its connections"
t2=$(now_ms)
echo "a reload under wrk, keep-alive: $WRK_N requests in $WRK_T;" \
    "${WRK_ERRS:-no socket errors, no non-2xx}"
[ "${WRK_N:-0}" -gt 200 ] || fail "only ${WRK_N:-0} requests"
[ -z "$WRK_ERRS" ] || fail "errors during keep-alive reloads: $WRK_ERRS"
for o in $OLDS; do
	got_term "$o" || fail "express $o: no SIGTERM"
done
ok "a reload under wrk (keep-alive): $WRK_N requests, 0 errors; old workers" \
    "signalled only after wrk closed, gone $((t2 - t1)) ms later"

# 4. A bad release: an app that listens, serves, and throws 1 s later.
# The reload fails in probation (the default, 3 s), the old ones serve on.
sed -i -e "s|^worker exec .*|worker exec $APP crash|" \
    -e "/^reload_probation/d" "$WORK/porter.conf"
before=$(worker_pids | sort | tr '\n' ' ')
wrk_start -H "Connection: close"
kill -HUP "$MP"
wait_log "reload failed: .*keeping the running configuration" ||
    fail "the bad reload was not refused"
grep -q "of the new generation exited in its probation" \
    "$WORK/porter.log" || fail "the reload did not fail in probation"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "the new workers linger"
wrk_stop
echo "bad reload under wrk: $WRK_N requests in $WRK_T;" \
    "${WRK_ERRS:-no socket errors, no non-2xx}"
[ -z "$WRK_ERRS" ] || fail "errors during the bad reload: $WRK_ERRS"
[ "$(worker_pids | sort | tr '\n' ' ')" = "$before" ] ||
    fail "workers $before became $(worker_pids | tr '\n' ' ')"
[ "$(log_count "reload: done")" = 5 ] || fail "the bad reload was done"
grep -q "Error: boom" "$WORK/porter.log" || fail "the new app did not crash"
[ "$(ids_seen)" = "0 1 " ] || fail "not serving from both"
ok "bad reload (express throws after 1 s): refused, $WRK_N requests, 0" \
    "errors, workers $before serve on"

# 5. Readiness: an app that listens at once, but answers 503 (and says so
# on stderr) until it is warm, 2 s later. With ready_check http /ready
# porter sends it nothing before; a reload under wrk sees no non-2xx.
# Probation (0.5 s) is shorter than the warm-up: without ready_check, the
# new workers would take over before they are warm (tried without the
# ready_check line: 12 of 987 answers were 503).
# (ready_check and ready_by come with the "ready" branch: before it is in,
# this reload is refused, "unknown directive", and the test fails here.)
sed -i -e "s|^worker exec .*|worker exec $APP warmup|" \
    -e "/^reload_probation/d" "$WORK/porter.conf"
echo "ready_check http /ready" >> "$WORK/porter.conf"
echo "reload_probation 500ms" >> "$WORK/porter.conf"
wrk_start -H "Connection: close"
reload
wrk_stop
echo "reload to a warming app under wrk: $WRK_N requests in $WRK_T;" \
    "${WRK_ERRS:-no socket errors, no non-2xx}"
[ -z "$WRK_ERRS" ] || fail "errors during the reload: $WRK_ERRS"
grep -q "request before warm-up" "$WORK/porter.log" &&
    fail "porter sent a request to an app not ready"
by=$(status_get '[.workers[] | select(.state == "ready") | .ready_by] |
    unique | join(" ")')
[ "$by" = http ] || fail "ready_by: '$by', not http"
get / | grep -q ", warmup$" || fail "not the warmup app"
ok "ready_check http /ready: $WRK_N requests, 0 errors, none before" \
    "warm-up, ready_by $by"

# 6. No process of the test is left once porter has stopped.
pids="$(worker_pids | tr '\n' ' ') $(ps -e -o pid=,args= |
    grep -F "$WORK/apps/" | grep -v grep | awk '{ print $1 }' | tr '\n' ' ')"
set -- $pids
[ $# -ge 2 ] || fail "only $# processes: $pids"
"$PORTER" -c "$WORK/porter.conf" -s stop || fail "porter -s stop failed"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
left=""
for p in $pids; do
	kill -0 "$p" 2>/dev/null && left="$left $p"
done
[ -z "$left" ] || { ps -o pid=,pgid=,ppid=,args= -p "${left# }"
	kill -9 $left; fail "left after porter stopped:$left"; }
ps -e -o pid=,args= | grep -F "$WORK/apps/" | grep -v grep &&
    fail "an express app outlived porter"
ok "porter -s stop: none of the workers is left (exit $RC)"
