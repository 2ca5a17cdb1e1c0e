#!/bin/bash
# uvicorn (Debian's python3-uvicorn, 0.17) under `worker exec`: an asyncio
# app server that keeps connections alive and, on SIGTERM or SIGINT,
# stops accepting, finishes its requests and closes its idle keep-alive
# connections. In proxy mode on $PORT (porter expands it), and in shared
# mode on porter's listener (--fd 3). For each: both workers serve, 4
# reloads under wrk lose nothing, kill -9 brings the fleet back, porter's
# stop leaves no process. Proxy mode also: keep-alive connections are not
# cut by porter before graceful_timeout (and what uvicorn does then),
# a request under way holds its worker's stop signal back (stop_signal
# KILL), reloads to an app that cannot load and to one that dies 2 s
# after it came up keep the old workers serving with 0 errors, readiness
# by HTTP. Shared mode: readiness by sd_notify (the one line an ASGI app
# needs, in tests/apps/asgi_app.py).
# Python apps start slowly on a loaded machine: longer waits (upper bounds).
WAIT_TIMEOUT=${WAIT_TIMEOUT:-40}
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/apps/pyapps.sh"

PY=/usr/bin/python3
if ! $PY -c 'import uvicorn' 2> /dev/null; then
	echo "SKIP: uvicorn is not installed for $PY (Debian's python3-uvicorn)"
	exit 77
fi
command -v wrk > /dev/null || fail "wrk is not installed"
apps_copy

# Every worker of the old generations left, "finished, status 0", each
# having run uvicorn's shutdown ("Finished server process [PID]"), none
# killed: $1 of them at least.
old_finished() {
	local p
	wait_for "[ \$(log_count 'generation [0-9]+\) finished, status 0') -ge $1 ]" 30 ||
	    fail "the old generations did not finish: $(grep -E 'generation [0-9]+\)' "$WORK/porter.log")"
	! grep -E "(killed|stopped) by signal" "$WORK/porter.log" ||
	    fail "a worker was killed"
	for p in $(sed -n 's/.*(pid \([0-9]*\), generation [0-9]*) finished, status 0$/\1/p' \
	    "$WORK/porter.log"); do
		grep -q "Finished server process \[$p\]" "$WORK/porter.log" ||
		    fail "uvicorn $p did not shut down by itself"
	done
}

# pids of the workers in state ready, and of the others.
ready_pids() {
	status_get '.workers[] | select(.state == "ready") | .pid' | tr '\n' ' '
}

# --- proxy mode: uvicorn --port $PORT -------------------------------------
UPROXY="exec $PY -m uvicorn"' --port $PORT'" --no-access-log --app-dir $APPS"
write_conf "workers 2" "mode proxy" "ready_timeout 30s" "worker $UPROXY asgi_app:app" \
    "graceful_timeout 60s" "reload_probation 500ms"
start_porter
wait_for 'both_served 4' || fail "proxy: workers served: $SEEN"
for p in $(status_get '.workers[] | "\(.pid):\(.port)"'); do
	tr '\0' ' ' < "/proc/${p%:*}/cmdline" | grep -q -- "--port ${p#*:} " ||
	    fail "worker ${p%:*} was not given --port ${p#*:}"
done
ok "proxy: uvicorn on \$PORT (expanded), both workers answer"

# 4 reloads under wrk, new connections (Connection: close). A probation
# of 0.5 s keeps the test short; the default (3 s) is exercised below.
wrk_start close -H "Connection: close"
reloads 4
wrk_stop
echo "proxy, Connection: close, 4 reloads in $RELOAD_MS ms: $WRK_SUMMARY"
[ "$WRK_N" -gt 500 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "proxy, 4 reloads, Connection: close: $WRK_SUMMARY"
old_finished 8
ok "proxy: 4 reloads under wrk -H 'Connection: close': $WRK_N requests, 0 errors; old workers shut down on TERM, exit 0"

# Keep-alive. wrk's 8 connections stay with the workers they were made to
# (A) while 4 reloads come and go: porter must not signal A while its
# relays are open (uvicorn would close them, idle between two requests:
# 32 read errors per 4 reloads before porter waited for the relays), up
# to graceful_timeout (60 s here). A gets TERM once wrk has closed them.
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "old workers linger"
gena=$(ready_pids)
wrk_start keepalive
wait_for '[ "$(status_get "[.workers[].active] | add")" -ge 8 ]' ||
    fail "wrk's connections are not open: $(status_get -c .workers)"
reloads 4
for p in $gena; do
	kill -0 "$p" 2> /dev/null || fail "worker $p, holding wrk's connections, left"
	grep -q "Finished server process \[$p\]" "$WORK/porter.log" &&
	    fail "worker $p shut down with wrk's connections open"
done
wrk_stop
echo "proxy, keep-alive, 4 reloads in $RELOAD_MS ms: $WRK_SUMMARY"
[ "$WRK_N" -gt 500 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "proxy, 4 reloads, keep-alive: $WRK_SUMMARY"
for p in $gena; do
	wait_log "\(pid $p, generation [0-9]+\) finished, status 0" ||
	    fail "worker $p did not finish once wrk was gone"
done
grep -q "at graceful_timeout" "$WORK/porter.log" &&
    fail "a worker was stopped at graceful_timeout"
old_finished 16
ok "proxy: 4 reloads under wrk with keep-alive: $WRK_N requests, 0 errors; A ($gena) kept wrk's connections until wrk closed them, then TERM"

# graceful_timeout (2 s now) with wrk's keep-alive connections still on
# the old workers: porter signals them then, not before. What uvicorn
# does on TERM is uvicorn's: it closes the idle ones, and wrk may count a
# read error for a request it had just sent on one. Those are reported,
# not asserted. The generation this reload starts has stop_signal KILL,
# for the part after this one.
conf_set graceful_timeout 2s
conf_set stop_signal KILL
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "old workers linger"
gena=$(ready_pids)
wrk_start timeout
wait_for '[ "$(status_get "[.workers[].active] | add")" -ge 8 ]' ||
    fail "wrk's connections are not open: $(status_get -c .workers)"
reload_ok || fail "reload with graceful_timeout 2s not done"
t_done=$(grep "reload: done" "$WORK/porter.log" | tail -n 1 | log_ms)
for p in $gena; do
	wait_log "\(pid $p\): [0-9]+ relays? still open at graceful_timeout; stopping it" ||
	    fail "worker $p was not stopped at graceful_timeout"
	t=$(grep "(pid $p): .* still open at graceful_timeout" "$WORK/porter.log" | log_ms)
	[ $((t - t_done)) -ge 1900 ] ||
	    fail "worker $p stopped $((t - t_done)) ms after the reload, before graceful_timeout (2 s)"
	wait_log "\(pid $p, generation [0-9]+\) finished, status 0" ||
	    fail "worker $p did not finish after its TERM"
done
wait_for '[ "$(status_get "[.workers[] | select(.state == \"ready\") | .active] | add")" -ge 1 ]' ||
    fail "wrk did not come back to the new workers"
wrk_stop
echo "proxy, keep-alive past graceful_timeout: $WRK_SUMMARY (uvicorn's closes, not asserted)"
ok "proxy: keep-alive relays past graceful_timeout: TERM $((t - t_done)) ms after reload: done, not before"
conf_set graceful_timeout 60s

# stop_signal KILL (set by the reload before), for an app with no
# graceful stop: a 5 s request under way when the reload takes over
# still gets its answer, because porter sends the signal only once the
# relay is done (graceful_timeout is 60 s again). The default probation
# (3 s) from here on: the slow request starts in it, so it is relayed to
# an old worker for sure.
conf_set stop_signal
conf_set reload_probation
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "old workers linger"
old=$(worker_pids | tr '\n' ' ')
probing=$(log_count "on probation")
n=$(log_count "reload: done")
kill -HUP "$(master_pid)"
wait_for "[ \$(log_count 'on probation') -gt $probing ]" 60 ||
    fail "no probation"
curl -s -m 10 -o "$WORK/slow.out" -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/delay/5000" > "$WORK/slow.code" &
c=$!
wait_for "[ \$(log_count 'reload: done') -gt $n ]" 60 ||
    fail "reload with a request under way not done"
t_done=$(grep "reload: done" "$WORK/porter.log" | tail -n 1 | log_ms)
wait "$c"
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "the request under way was cut: $(cat "$WORK/slow.code")"
sp=$(sed -n 's/^asgi worker [01] pid \([0-9]*\)$/\1/p' "$WORK/slow.out")
case " $old " in
*" $sp "*) ;;
*) fail "the slow request went to ${sp:-?}, not to an old worker ($old)" ;;
esac
for p in $old; do
	wait_log "\(pid $p, generation [0-9]+\) stopped by signal 9 .*porter sent it \(retired\)" ||
	    fail "old worker $p did not get KILL"
done
t=$(grep -E "\(pid $sp, generation" "$WORK/porter.log" | log_ms)
# The request (5 s, started in the 3 s probation) outlived the takeover
# by 2 s at least: the KILL waited for it.
[ $((t - t_done)) -ge 1000 ] ||
    fail "old worker $sp killed $((t - t_done)) ms after reload: done: the request was over before"
ok "proxy: stop_signal KILL held while a 5 s request to old worker $sp ran: 200; it was killed $((t - t_done)) ms after reload: done"

# kill -9 of a worker: 2 ready again, nothing left of it.
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "old workers linger"
kill9_worker 1
wait_for 'both_served 4' || fail "after kill -9: workers served: $SEEN"
ok "proxy: kill -9 of a worker: 2 ready in $KILL9_MS ms, no stray"

# porter's stop: nothing of the app outlives it. Then a fresh porter for
# the rest (start_porter gives porter 300 s of life, which a loaded
# machine can use up).
stop_clean
ok "proxy: porter -s stop: none of its $STOP_PIDS processes left, no app process"
write_conf "workers 2" "mode proxy" "ready_timeout 30s" "worker $UPROXY asgi_app:app" \
    "graceful_timeout 60s" "reload_probation 500ms"
start_porter

# Bad reloads under wrk: to an app that cannot be imported (uvicorn
# exits before it listens), and to one that comes up, is ready, and exits
# 2 s after its import. Both fail; the old workers never stop serving.
# The probation is 15 s here: a probation ends early when a worker dies
# (it costs nothing then), and the default 3 s is a guess that a loaded
# machine can beat (see app-gunicorn.sh).
cp "$WORK/porter.conf" "$WORK/good.conf"
conf_set reload_probation 15s
before=$(worker_pids | sort | tr '\n' ' ')
wrk_start bad -H "Connection: close"
conf_set worker "$UPROXY asgi_app:nosuchapp"
kill -HUP "$(master_pid)"
wait_log "reload failed: worker [0-9] of the new generation exited before it was ready.*keeping the running configuration" 30 ||
    fail "the reload to nosuchapp was not refused"
grep -q 'Attribute "nosuchapp" not found in module "asgi_app"' "$WORK/porter.log" ||
    fail "uvicorn did not say why it failed"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "new workers linger"
conf_set worker "$UPROXY asgi_app:app"
conf_env APP_TAG=doomed APP_DIE_AFTER=2
kill -HUP "$(master_pid)"
wait_log "reload failed: worker [0-9] of the new generation exited in its probation.*keeping the running configuration" 30 ||
    fail "the reload to an app dying after 2 s was not refused"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "new workers linger"
wrk_stop
echo "proxy, reloads to nosuchapp and to an app dying after 2 s: $WRK_SUMMARY"
[ "$(worker_pids | sort | tr '\n' ' ')" = "$before" ] ||
    fail "the workers changed: $before -> $(worker_pids | tr '\n' ' ')"
[ "$(ready_count)" = 2 ] || fail "not 2 ready workers"
get / | grep -q "^asgi worker" || fail "not the old app: $(get /)"
[ "$WRK_N" -gt 100 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "bad reloads: $WRK_SUMMARY"
ok "proxy: reloads to nosuchapp (not ready) and to an app dying in probation failed, old workers kept: $WRK_N requests, 0 errors"
cp "$WORK/good.conf" "$WORK/porter.conf"

# Readiness by HTTP: ready_check http /health, shown in /status.
conf_set ready_check http /health
reload_ok || fail "reload to ready_check http not done"
[ "$(status_get '[.workers[] | select(.state == "ready" and .ready_by == "http")] | length')" = 2 ] ||
    fail "ready_by: $(status_get -c '[.workers[] | [.state, .ready_by]]')"
grep -qE "ready on port [0-9]+ \(http /health\)" "$WORK/porter.log" ||
    fail "no 'ready on port N (http /health)' line"
ok "proxy: ready_check http /health: ready_by http"

stop_clean
ok "proxy: porter -s stop: none of its $STOP_PIDS processes left, no app process"

# uring/ re-runs the proxy-mode part only, relaying on io_uring.
[ -z "${PROXY_ONLY:-}" ] || exit 0

# --- shared mode: uvicorn --fd 3 -------------------------------------------
# In shared mode porter has no probe: by default a worker is ready once
# started, and under load a reload retired uvicorns still importing
# ("stopped by signal 15", 37 requests in 12 s, 8 timeouts). So: the
# app's READY=1 (ready_check notify), sent once its startup is done.
USHARED="exec $PY -m uvicorn --fd 3 --no-access-log --app-dir $APPS"
write_conf "workers 2" "mode shared" "ready_timeout 30s" "worker $USHARED asgi_app:app" \
    "ready_check notify" "env APP_NOTIFY=1" "reload_probation 500ms" \
    "graceful_timeout 30s"
start_porter
[ "$(status_get '[.workers[] | select(.ready_by == "notify")] | length')" = 2 ] ||
    fail "ready_by: $(status_get -c '[.workers[].ready_by]')"
wait_for 'both_served 20' 30 || fail "shared: workers served: $SEEN"
[ "$(log_count "Uvicorn running on socket \('127.0.0.1', $LPORT\)")" -ge 2 ] ||
    fail "uvicorn is not on porter's socket"
ok "shared: uvicorn on porter's socket (--fd 3), ready by its READY=1, both workers answer"

# 4 reloads under wrk. Here porter is out of the data path: what it
# answers for is that the listener never closes (no connect error), that
# each new generation serves before the old one is told to stop (no
# timeout), and that the old one gets TERM and exits by itself. uvicorn's
# own shutdown closes connections it has accepted but not yet read a
# request from: without porter, two uvicorns on one socket, the old pair
# TERMed and a new pair started 4 times under the same wrk, lost 7 of
# 6189 requests (read errors). Those read errors are reported, not
# asserted.
wrk_start close -H "Connection: close"
reloads 4
wrk_stop
echo "shared, Connection: close, 4 reloads in $RELOAD_MS ms: $WRK_SUMMARY"
[ "$WRK_N" -gt 500 ] || fail "only $WRK_N requests"
[ $((WRK_CONNECT + WRK_TIMEOUT + WRK_WRITE + WRK_NON2XX)) = 0 ] ||
    fail "shared, 4 reloads: $WRK_SUMMARY"
old_finished 8
ok "shared: 4 reloads under wrk -H 'Connection: close': $WRK_N requests, no connect error, no timeout, no non-2xx; $WRK_READ read errors (uvicorn's shutdown)"

kill9_worker 0
wait_for 'both_served 20' 30 || fail "after kill -9: workers served: $SEEN"
ok "shared: kill -9 of a worker: 2 ready in $KILL9_MS ms, no stray"

# Readiness by sd_notify, with an app whose import takes 2 s: a new
# worker is ready when it says so, not before.
conf_env APP_NOTIFY=1 APP_IMPORT_DELAY=2
t0=$(now_ms)
reload_ok || fail "reload to ready_check notify not done"
ms=$(($(now_ms) - t0))
[ "$(status_get '[.workers[] | select(.state == "ready" and .ready_by == "notify")] | length')" = 2 ] ||
    fail "ready_by: $(status_get -c '[.workers[] | [.state, .ready_by]]')"
[ $ms -ge 2000 ] || fail "ready by notify in $ms ms, before the 2 s import"
ok "shared: ready_check notify: the app's READY=1, ready_by notify ($ms ms)"

stop_clean
ok "shared: porter -s stop: none of its $STOP_PIDS processes left, no app process"
