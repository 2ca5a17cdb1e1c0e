#!/bin/bash
# gunicorn (Debian's, 20.1) under `worker exec`: a real app server whose
# arbiter forks the process that serves. In proxy mode on {port}, and in
# shared mode by socket activation (porter's listener at fd 3 with
# LISTEN_FDS/LISTEN_PID: gunicorn takes it with no --bind at all). For
# each: the two workers both serve, 4 reloads under wrk lose nothing, a
# kill -9 of the arbiter leaves nothing behind and the fleet is whole
# again, a reload to an app that cannot load keeps the old workers
# serving, and porter's stop leaves no process. Proxy mode also: a
# request under way is not cut by the stop signal (stop_signal QUIT,
# gunicorn's quick stop), a generation that dies after its probation is
# rolled back, and readiness by HTTP (ready_check http) and by gunicorn's
# own sd_notify (ready_check notify, shared mode).
# Python apps start slowly on a loaded machine: longer waits (upper bounds).
WAIT_TIMEOUT=${WAIT_TIMEOUT:-40}
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/apps/pyapps.sh"

PY=/usr/bin/python3
GUNICORN=/usr/bin/gunicorn
if [ ! -x "$GUNICORN" ] || ! $PY -c 'import gunicorn' 2> /dev/null; then
	echo "SKIP: $GUNICORN (Debian's gunicorn package) is not installed"
	exit 77
fi
command -v wrk > /dev/null || fail "wrk is not installed"
apps_copy

# gunicorn's own log lines go to porter's log (its stderr):
# "[date] [PID] [INFO] Handling signal: term".
gun_signal() {
	grep -qE "\[$1\] \[INFO\] Handling signal: $2\$" "$WORK/porter.log"
}

# After reloads: every worker of generations below $1 left, each
# "finished, status 0" (gunicorn's graceful exit), each having logged
# gunicorn's "Handling signal: $2"; none killed.
old_gens_finished() {
	local n=$(($1 * 2)) p
	wait_for "[ \$(log_count 'generation ([0-9]|1[0-9])\) finished, status 0') -ge $n ]" 30 ||
	    fail "the old generations did not finish: $(grep -E 'generation [0-9]+\)' "$WORK/porter.log")"
	! grep -E "(killed|stopped) by signal" "$WORK/porter.log" ||
	    fail "a worker was killed"
	for p in $(sed -n 's/.*(pid \([0-9]*\), generation [0-9]*) finished, status 0$/\1/p' \
	    "$WORK/porter.log"); do
		gun_signal "$p" "$2" || fail "gunicorn $p: no 'Handling signal: $2'"
	done
}

# --- proxy mode: gunicorn --bind 127.0.0.1:{port} -----------------------
GPROXY="exec $GUNICORN --bind 127.0.0.1:{port} --workers 1 --chdir $APPS"
write_conf "workers 2" "mode proxy" "ready_timeout 30s" "worker $GPROXY wsgi_app:app" \
    "graceful_timeout 60s"
start_porter
wait_for 'both_served 4' || fail "proxy: workers served: $SEEN"
ok "proxy: gunicorn on {port}, both workers answer (each from its arbiter's child)"

# 4 reloads under wrk, new connections (Connection: close). A probation
# of 0.5 s keeps the test short; the default (3 s) is exercised below.
conf_set reload_probation 500ms
wrk_start close -H "Connection: close"
reloads 4
wrk_stop
echo "proxy, Connection: close, 4 reloads in $RELOAD_MS ms: $WRK_SUMMARY"
[ "$WRK_N" -gt 500 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "proxy, 4 reloads, Connection: close: $WRK_SUMMARY"
old_gens_finished 4 term
ok "proxy: 4 reloads under wrk -H 'Connection: close': $WRK_N requests, 0 errors; old arbiters got TERM, exited 0"

# Keep-alive, and stop_signal QUIT, gunicorn's quick stop: its workers
# exit at once, cutting what they serve, so any stop signal porter sent
# over a live relay would show as wrk errors. gunicorn's default sync
# worker does not keep connections alive (it answers "Connection: close"),
# its threaded one (--threads) does: wrk's 8 connections stay with the
# generation the first reload starts (B) while three more reloads come
# and go, and B gets its QUIT only once wrk has closed them. A request of
# 5 s under way when the last reload takes over holds its worker's QUIT
# back too (before porter waited for relays, the old workers got their
# signal 3-20 ms after "reload: done": 16-22 read errors per 4 reloads
# with gunicorn, as measured on this branch before the merge of main).
conf_set stop_signal QUIT
conf_set worker "$GPROXY --threads 4 wsgi_app:app"
wrk_start keepalive
t0=$(now_ms)
reload_ok || fail "reload 1 (keep-alive) not done"
genb=$(status_get '.workers[] | select(.state == "ready") | .pid' | tr '\n' ' ')
wait_for '[ "$(status_get "[.workers[] | select(.state == \"ready\") | .active] | add")" -ge 8 ]' ||
    fail "wrk's connections did not move to the new workers: $(status_get -c .workers)"
reload_ok || fail "reload 2 (keep-alive) not done"
reload_ok || fail "reload 3 (keep-alive) not done"
genlast=$(status_get '.workers[] | select(.state == "ready") | .pid' | tr '\n' ' ')
# The default probation (3 s) for the last one: the slow request starts
# in it, so it is relayed to an old worker for sure.
conf_set reload_probation
kids=$(for p in $genlast; do pgrep -P "$p"; done | tr '\n' ' ')
probing=$(log_count "on probation")
n=$(log_count "reload: done")
kill -HUP "$(master_pid)"
wait_for "[ \$(log_count 'on probation') -gt $probing ]" 60 ||
    fail "reload 4 (keep-alive): no probation"
curl -s -m 10 -o "$WORK/slow.out" -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/delay/5000" > "$WORK/slow.code" &
c=$!
wait_for "[ \$(log_count 'reload: done') -gt $n ]" 60 ||
    fail "reload 4 (keep-alive) not done"
t_done=$(grep "reload: done" "$WORK/porter.log" | tail -n 1 | log_ms)
RELOAD_MS=$(($(now_ms) - t0))
for p in $genb; do
	kill -0 "$p" 2> /dev/null || fail "worker $p, holding wrk's connections, left"
	gun_signal "$p" "(term|quit|int)" && fail "worker $p was signalled with wrk's connections open"
done
t_stop=$(date +%H:%M:%S.%3N | log_ms)
wrk_stop
wait "$c"
echo "proxy, keep-alive, 4 reloads in $RELOAD_MS ms: $WRK_SUMMARY"
[ "$WRK_N" -gt 500 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "proxy, 4 reloads, keep-alive: $WRK_SUMMARY"
[ "$(cat "$WORK/slow.code")" = 200 ] ||
    fail "the request under way at the last reload was cut: $(cat "$WORK/slow.code")"
# Served by the child of an old arbiter.
child=$(sed -n 's/^wsgi worker [01] pid \([0-9]*\)$/\1/p' "$WORK/slow.out")
case " $kids " in
*" $child "*) ;;
*) fail "the slow request went to ${child:-?}, not to a child ($kids) of an old arbiter ($genlast)" ;;
esac
for p in $genb $genlast; do
	wait_log "\(pid $p, generation [0-9]+\) finished, status 0" ||
	    fail "old arbiter $p did not finish"
	gun_signal "$p" quit || fail "old arbiter $p did not get QUIT"
done
grep -q "at graceful_timeout" "$WORK/porter.log" &&
    fail "a worker was stopped at graceful_timeout"
# The slow request (5 s, started in the 3 s probation) outlived the
# takeover by 2 s at least: its arbiter's QUIT waited for it.
t_last=$(grep -E "\(pid ($(echo $genlast | tr ' ' '|')), generation" "$WORK/porter.log" |
    tail -n 1 | log_ms)
[ $((t_last - t_done)) -ge 1000 ] ||
    fail "the old arbiters exited $((t_last - t_done)) ms after reload: done: the slow request was over before"
t_b=$(grep -E "\(pid ($(echo $genb | tr ' ' '|')), generation" "$WORK/porter.log" |
    head -n 1 | log_ms)
ok "proxy: 4 reloads under wrk with keep-alive: $WRK_N requests, 0 errors; B ($genb) held wrk's connections through 3 reloads and got QUIT only after wrk closed them (exit $((t_b - t_stop)) ms later); a 5 s request to $child, child of an old arbiter, over the last reload: 200, then QUIT ($((t_last - t_done)) ms after reload: done)"
conf_set reload_probation 500ms

# kill -9 of an arbiter: its forked worker goes with it (porter kills the
# process group), the replacement binds, 2 ready again.
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "old workers linger"
kill9_worker 0
grep -q "is held by another process" "$WORK/porter.log" &&
    fail "a port was held after kill -9"
wait_for 'both_served 4' || fail "after kill -9: workers served: $SEEN"
ok "proxy: kill -9 of an arbiter: its group ($KILL9_GROUP) gone, 2 ready in $KILL9_MS ms, no stray"

# porter's stop: nothing of the app outlives it. Then a fresh porter for
# the rest (start_porter gives porter 300 s of life, which a loaded
# machine can use up).
stop_clean
ok "proxy: porter -s stop: none of its $STOP_PIDS processes left, no app process"
write_conf "workers 2" "mode proxy" "ready_timeout 30s" "worker $GPROXY wsgi_app:app" \
    "graceful_timeout 60s" "reload_probation 500ms"
start_porter

# A reload to an app that cannot load: gunicorn's arbiter binds its port
# (porter's connect probe is answered), then its worker fails to import
# and the arbiter exits (status 4, "App failed to load"). Within
# reload_probation that fails the reload; the old workers never stop
# serving. How long that takes is gunicorn's: 1-3 s after "ready" here,
# but 10 s and more at a load average of 25, past the default probation
# (3 s): then the reload was committed and the old workers retired. So
# 15 s here (a probation ends early when a worker dies: it costs nothing
# then); ready_check http (below) does not depend on timing at all.
cp "$WORK/porter.conf" "$WORK/good.conf"
conf_set reload_probation 15s
conf_set worker "$GPROXY wsgi_app:nosuchapp"
before=$(worker_pids | sort | tr '\n' ' ')
wrk_start bad -H "Connection: close"
kill -HUP "$(master_pid)"
wait_log "reload failed: worker [0-9] of the new generation exited in its probation.*keeping the running configuration" 30 ||
    fail "the reload to nosuchapp was not refused"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "new workers linger"
wrk_stop
echo "proxy, reload to wsgi_app:nosuchapp: $WRK_SUMMARY"
grep -q "Failed to find attribute 'nosuchapp'" "$WORK/porter.log" ||
    fail "gunicorn did not say why it failed"
[ "$(worker_pids | sort | tr '\n' ' ')" = "$before" ] ||
    fail "the workers changed: $before -> $(worker_pids | tr '\n' ' ')"
[ "$(ready_count)" = 2 ] || fail "not 2 ready workers"
[ "$WRK_N" -gt 100 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "bad reload: $WRK_SUMMARY"
ok "proxy: reload to nosuchapp failed in probation ($(grep -c "Failed to find attribute 'nosuchapp'" "$WORK/porter.log") import failures logged), old workers kept: $WRK_N requests, 0 errors"

# A generation that loads, lives through its probation (0.5 s), then dies
# (its gunicorn worker exits 2 s after the import, the arbiter with it),
# again and again: at restart_limit porter rolls back to the
# configuration before, and does not give up.
cp "$WORK/good.conf" "$WORK/porter.conf"
conf_set restart_limit 2 60s
conf_env APP_TAG=doomed APP_DIE_AFTER=2
reload_ok || fail "reload to the doomed app not done"
wait_for 'get / | grep -q "^doomed "' || fail "the doomed app does not answer"
wait_log "rolling back to the configuration before the last reload" 60 ||
    fail "no rollback"
wait_log "rollback: done" 60 || fail "the rollback did not finish"
wait_for 'get / | grep -q "^wsgi "' || fail "not the first app after the rollback"
for i in 1 2 3 4 5 6; do
	get / | grep -q "^wsgi worker [01] pid" ||
	    fail "request $i after the rollback: $(get /)"
done
grep -q "giving up" "$WORK/porter.log" && fail "porter gave up"
wait_ready 2
ok "proxy: a generation dying after its probation: rolled back at restart_limit, serving"
cp "$WORK/good.conf" "$WORK/porter.conf"

# Readiness by HTTP: gunicorn's arbiter accepts before its worker has
# imported the app (here the import takes 2 s). ready_check http /health
# waits for a 2xx; the default probe (connect) would not.
conf_env APP_IMPORT_DELAY=2
conf_set ready_check http /health
t0=$(now_ms)
reload_ok || fail "reload to ready_check http not done"
ms=$(($(now_ms) - t0))
[ "$(status_get '[.workers[] | select(.ready_by == "http")] | length')" = 2 ] ||
    fail "ready_by: $(status_get '[.workers[].ready_by]')"
[ $ms -ge 2000 ] || fail "ready by http in $ms ms, before the 2 s import"
ok "proxy: ready_check http /health: ready_by http, after the import ($ms ms)"

# With ready_check http, an app that cannot load is never ready: the
# reload fails before any probation, however slow the machine.
cp "$WORK/porter.conf" "$WORK/good.conf"
conf_env
conf_set worker "$GPROXY wsgi_app:nosuchapp"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "old workers linger"
before=$(worker_pids | sort | tr '\n' ' ')
wrk_start badhttp -H "Connection: close"
kill -HUP "$(master_pid)"
wait_log "reload failed: (worker [0-9] of the new generation exited before it was ready|.*ready_timeout).*keeping the running configuration" 60 ||
    fail "the reload to nosuchapp under ready_check http was not refused"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "new workers linger"
wrk_stop
echo "proxy, ready_check http, reload to wsgi_app:nosuchapp: $WRK_SUMMARY"
[ "$(worker_pids | sort | tr '\n' ' ')" = "$before" ] ||
    fail "the workers changed: $before -> $(worker_pids | tr '\n' ' ')"
[ "$WRK_ERRS" = 0 ] || fail "bad reload under ready_check http: $WRK_SUMMARY"
ok "proxy: ready_check http: reload to nosuchapp failed before ready: $WRK_N requests, 0 errors"
cp "$WORK/good.conf" "$WORK/porter.conf"

stop_clean
ok "proxy: porter -s stop: none of its $STOP_PIDS processes left, no app process"

# uring/ re-runs the proxy-mode part only, relaying on io_uring.
[ -z "${PROXY_ONLY:-}" ] || exit 0

# --- shared mode: socket activation, no --bind ----------------------------
# Readiness from gunicorn itself (ready_check notify): its arbiter sends
# READY=1 to NOTIFY_SOCKET once it listens. In shared mode porter has no
# probe: by default a worker is ready once started, and a reload under
# load retired arbiters that had not yet set up their signal handlers
# ("stopped by signal 15").
GSHARED="exec $GUNICORN --workers 1 --chdir $APPS"
write_conf "workers 2" "mode shared" "ready_timeout 30s" "worker $GSHARED wsgi_app:app" \
    "ready_check notify" "reload_probation 500ms" "graceful_timeout 30s"
start_porter
[ "$(status_get '[.workers[] | select(.ready_by == "notify")] | length')" = 2 ] ||
    fail "ready_by: $(status_get -c '[.workers[].ready_by]')"
wait_for 'both_served 20' 30 || fail "shared: workers served: $SEEN"
for p in $(worker_pids); do
	grep -q "\[$p\] \[INFO\] Listening at: http://127.0.0.1:$LPORT ($p)" \
	    "$WORK/porter.log" || fail "gunicorn $p is not on porter's socket"
done
ok "shared: gunicorn on porter's socket (LISTEN_FDS), ready by its READY=1 (ready_by notify), both workers answer"

wrk_start close -H "Connection: close"
reloads 4
wrk_stop
echo "shared, Connection: close, 4 reloads in $RELOAD_MS ms: $WRK_SUMMARY"
[ "$WRK_N" -gt 500 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "shared, 4 reloads: $WRK_SUMMARY"
old_gens_finished 4 term
ok "shared: 4 reloads under wrk -H 'Connection: close': $WRK_N requests, 0 errors"

kill9_worker 1
wait_for 'both_served 20' 30 || fail "after kill -9: workers served: $SEEN"
ok "shared: kill -9 of an arbiter: its group ($KILL9_GROUP) gone, 2 ready in $KILL9_MS ms, no stray"

# The bad reload in shared mode: the failing worker never accepts; its
# arbiter says READY=1 before its worker imports the app, so a probation
# (15 s, as in proxy mode) is what catches it.
cp "$WORK/porter.conf" "$WORK/good.conf"
conf_set reload_probation 15s
conf_set worker "$GSHARED wsgi_app:nosuchapp"
before=$(worker_pids | sort | tr '\n' ' ')
wrk_start bad -H "Connection: close"
kill -HUP "$(master_pid)"
wait_log "reload failed: worker [0-9] of the new generation exited in its probation.*keeping the running configuration" 30 ||
    fail "the reload to nosuchapp was not refused"
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "new workers linger"
wrk_stop
echo "shared, reload to wsgi_app:nosuchapp: $WRK_SUMMARY"
[ "$(worker_pids | sort | tr '\n' ' ')" = "$before" ] ||
    fail "the workers changed: $before -> $(worker_pids | tr '\n' ' ')"
[ "$WRK_N" -gt 100 ] || fail "only $WRK_N requests"
[ "$WRK_ERRS" = 0 ] || fail "bad reload: $WRK_SUMMARY"
ok "shared: reload to nosuchapp failed in probation, old workers kept: $WRK_N requests, 0 errors"
cp "$WORK/good.conf" "$WORK/porter.conf"

stop_clean
ok "shared: porter -s stop: none of its $STOP_PIDS processes left, no app process"
