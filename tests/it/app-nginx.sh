#!/bin/bash
# nginx (Debian's /usr/sbin/nginx) as an exec worker in proxy mode: a
# real daemon that forks (its master and its worker processes), stops
# gracefully on QUIT and fast on TERM. tests/apps/nginx-run.sh writes its
# conf for $PORT and execs it: the worker's pid is nginx's master.
#  1. Requests through porter reach both workers.
#  2. kill -9 of a worker (nginx's master): its nginx worker process goes
#     too (process group), the replacement binds the same port.
#  3. A keep-alive connection to an old worker is not cut by a reload:
#     porter sends the old worker its stop_signal (QUIT) once its relays
#     are gone, or at graceful_timeout.
#  4. 4 reloads under wrk (Connection: close), then 2 under wrk with
#     keep-alive: no socket error, no non-2xx; every retired nginx got
#     SIGQUIT from porter, none SIGTERM.
#  5. A bad reload (nginx that dies 1 s after it started serving) fails
#     in reload_probation; the old workers serve on, 0 failed requests.
#  6. After porter -s stop, no process of the test is left.
# node and nginx start slowly on a loaded machine (node with express took
# 10 s there): generous waits; they only cost time when the test fails.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-40}
. "${srcdir:-.}/tests/lib.sh"

NGINX=/usr/sbin/nginx
if [ ! -x "$NGINX" ]; then
	echo "SKIP: $NGINX is not installed (scripts/setup.sh installs nginx)"
	exit 77
fi
for t in wrk curl jq; do
	command -v $t > /dev/null || fail "$t is not installed"
done

# nginx writes its conf, pid and temp files in $ND, as the workers' user.
ND=$WORK/nginx
mkdir -p "$ND"
cp "${srcdir:-.}/tests/apps/nginx-porter.conf" \
    "${srcdir:-.}/tests/apps/nginx-run.sh" "$ND/"
chmod a+r "$ND"/*
chmod 1777 "$ND"
RUN="/bin/sh $ND/nginx-run.sh $ND"

# The ports that answer 8 requests through porter, sorted, on one line.
ports_seen() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		get /
	done | sed -n 's/^nginx on port \([0-9]*\), pid [0-9]*$/\1/p' |
	    sort -u | tr '\n' ' '
}

# The ports of the ready workers of the running generation, likewise.
ready_ports() {
	status_get '[.workers[] | select(.state == "ready") | .port] | sort |
	    .[]' | tr '\n' ' '
}

# The pid of worker $1 (its id) of the newest generation in /status.
worker_pid() {
	status_get "[.workers[] | select(.id == $1)] | last | .pid"
}

# The processes of process group $1 (pid pgid ppid args), from ps.
group() {
	ps -e -o pid=,pgid=,ppid=,args= | awk -v g="$1" '$2 == g'
}

# The nginx worker process of nginx master $1.
nginx_child() {
	ps -e -o pid=,ppid=,args= |
	    awk -v p="$1" '$2 == p && /nginx: worker process/ { print $1 }' |
	    head -n 1
}

# nginx says, in porter's log (its stderr), which signal it got from whom.
got_signal() {	# MASTER SIGNO SENDER
	grep -qE "\] $1#$1: signal $2 \(SIG[A-Z]+\) received from $3([^0-9]|$)" \
	    "$WORK/porter.log"
}

# A keep-alive connection through porter, on fd 5.
ka_open() {
	exec 5<> "/dev/tcp/127.0.0.1/$LPORT" || fail "cannot connect to porter"
}
# One more request on it; the answer's body line.
ka_get() {
	local line
	printf 'GET / HTTP/1.1\r\nHost: porter\r\n\r\n' >&5 || return 1
	while IFS= read -r -t 5 -u 5 line; do
		case $line in
		"nginx on port "*) echo "$line"; return 0 ;;
		esac
	done
	return 1
}
ka_close() {
	exec 5>&-
}


# stop_signal QUIT: nginx's graceful stop; a short probation keeps the
# reloads quick (part 5 uses the default); graceful_timeout long enough
# that no wait below reaches it but where it is the test.
write_conf "workers 2" "mode proxy" "worker exec $RUN" "stop_signal QUIT" \
    "reload_probation 1s" "graceful_timeout 90s" "ready_timeout 30s"
start_porter
MP=$(master_pid)

# 1. Both workers answer, each an nginx master with its worker process
# in its process group.
want=$(ready_ports)
set -- $want
[ $# = 2 ] || fail "ports of the workers: $want"
got=$(ports_seen)
[ "$got" = "$want" ] || fail "answers from ports $got, workers on $want"
for p in $(worker_pids); do
	c=$(nginx_child "$p")
	[ -n "$c" ] || fail "no nginx worker process under $p"
	[ "$(group "$p" | awk -v c="$c" '$1 == c' | wc -l)" = 1 ] ||
	    fail "nginx worker $c is not in worker $p's process group"
done
ok "nginx, 2 exec workers: answers from both ports ($got)"

# 2. kill -9 of nginx's master: its worker process must not survive, and
# the replacement binds the same port.
m=$(worker_pid 0)
port=$(status_get '[.workers[] | select(.id == 0)] | last | .port')
c=$(nginx_child "$m")
kill -9 "$m"
_poll 3 "! kill -0 $c 2>/dev/null" ||
    fail "nginx master $m killed, its worker process $c lives on"
wait_for '[ "$(worker_pid 0)" != "'"$m"'" ]' || fail "no new worker 0"
wait_ready 2
m2=$(worker_pid 0)
[ "$(status_get '[.workers[] | select(.id == 0)] | last | .port')" = \
    "$port" ] || fail "the replacement is not on port $port"
grep -q "worker 0 (pid $m2) ready on port $port" "$WORK/porter.log" ||
    fail "no 'ready on port $port' for $m2"
[ "$(status_get '[.workers[] | select(.state == "ready")] | length')" = 2 ] ||
    fail "not 2 workers ready"
wait_for '[ "$(ports_seen)" = "$(ready_ports)" ]' ||
    fail "after kill -9: answers from $(ports_seen), not $(ready_ports)"
ok "kill -9 of nginx master $m: worker process $c went too; $m2 serves on $port"

# 3. A keep-alive connection held across a reload: the old worker serving
# it is retired but not signalled while the connection is open, and it
# keeps answering on it; once closed, porter sends it QUIT at once.
ka_open
a=$(ka_get) || fail "no answer on the keep-alive connection"
npid=${a##*pid }
old=$(ps -o ppid= -p "$npid" | tr -d ' ')
[ -n "$old" ] || fail "no master for nginx worker $npid"
reload
# Retired (draining), or gone if porter stopped it at once.
wait_for '[ "$(status_get ".workers[] | select(.pid == $old) | .state")" \
    != ready ]' || fail "old worker $old is still in service"
t0=$(now_ms)
# Not a wait for a condition: 2 s in which porter must do nothing to it.
_poll 2 "! kill -0 $old 2>/dev/null || got_signal $old '[0-9]+' $MP" &&
    fail "old worker $old signalled or gone with a connection open"
b=$(ka_get) || fail "the keep-alive connection was cut by the reload"
[ "$b" = "$a" ] || fail "answered by '$b', not by the old '$a'"
ka_close
t1=$(now_ms)
wait_for "! kill -0 $old 2>/dev/null" || fail "old worker $old stays"
t2=$(now_ms)
got_signal "$old" 3 "$MP" ||
    fail "old worker $old did not get SIGQUIT from porter"
grep -q "(pid $old): .* at graceful_timeout" "$WORK/porter.log" &&
    fail "old worker $old was stopped at graceful_timeout"
ok "reload with a keep-alive connection open: old nginx $old kept it" \
    "($((t1 - t0)) ms+), SIGQUIT from porter $((t2 - t1)) ms after it closed"

# 4a. 4 reloads under wrk with Connection: close: no error.
reloads_under_wrk 4 200
[ "$(log_count "reload: done")" = 5 ] ||
    fail "$(log_count "reload: done") reloads done, not 5"
for o in $OLDS; do
	got_signal "$o" 3 "$MP" || fail "retired nginx $o: no SIGQUIT from porter"
done
grep -E "signal 15 \(SIGTERM\) received" "$WORK/porter.log" &&
    fail "an nginx got SIGTERM"
ok "4 reloads under wrk (-H Connection: close): $WRK_N requests, 0 errors;" \
    "8 nginx retired by SIGQUIT"

# 4b. With keep-alive: wrk's 8 connections stay on the workers they
# started on; those are retired but not signalled until wrk closes them.
OLDS=$(worker_pids | tr '\n' ' ')
wrk_start
reload
reload
for o in $OLDS; do
	kill -0 "$o" 2>/dev/null ||
	    fail "old worker $o gone while wrk's connections were open"
	got_signal "$o" '[0-9]+' "$MP" &&
	    fail "old worker $o signalled while wrk's connections were open"
done
wrk_stop
t1=$(now_ms)
wait_for '[ "$(worker_pids | wc -l)" = 2 ]' 10 ||
    fail "old workers stay after wrk closed its connections"
t2=$(now_ms)
echo "2 reloads under wrk, keep-alive: $WRK_N requests in $WRK_T;" \
    "${WRK_ERRS:-no socket errors, no non-2xx}"
[ "${WRK_N:-0}" -gt 200 ] || fail "only ${WRK_N:-0} requests"
[ -z "$WRK_ERRS" ] || fail "errors during keep-alive reloads: $WRK_ERRS"
for o in $OLDS; do
	got_signal "$o" 3 "$MP" || fail "nginx $o: no SIGQUIT from porter"
done
ok "2 reloads under wrk (keep-alive): $WRK_N requests, 0 errors; old nginx" \
    "signalled only after wrk closed, gone $((t2 - t1)) ms later"

# 5. A bad release: nginx that serves, then dies 1 s later. The reload
# fails in probation (the default, 3 s), the old workers serve on.
sed -i -e "s|^worker exec .*|worker exec $RUN crash|" \
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
[ "$(log_count "reload: done")" = 7 ] || fail "the bad reload was done"
[ "$(ports_seen)" = "$(ready_ports)" ] || fail "not serving from both"
ok "bad reload (nginx dies after 1 s): refused, $WRK_N requests, 0 errors," \
    "workers $before serve on"

# 6. Every process of each worker's group, and all that run from $ND:
# none is left once porter has stopped.
pids=""
for p in $(worker_pids); do
	pids="$pids $(group "$p" | awk '{ print $1 }' | tr '\n' ' ')"
done
pids="$pids $(ps -e -o pid=,args= | grep -F "$ND" | grep -v grep |
    awk '{ print $1 }' | tr '\n' ' ')"
set -- $pids
[ $# -ge 4 ] || fail "only $# processes in the workers' groups: $pids"
"$PORTER" -c "$WORK/porter.conf" -s stop || fail "porter -s stop failed"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
left=""
for p in $pids; do
	kill -0 "$p" 2>/dev/null && left="$left $p"
done
[ -z "$left" ] || { ps -o pid=,pgid=,ppid=,args= -p "${left# }"
	kill -9 $left; fail "left after porter stopped:$left"; }
ps -e -o pid=,args= | grep -F "$ND" | grep -v grep &&
    fail "an nginx outlived porter"
ok "porter -s stop: none of the $# processes is left (exit $RC)"
