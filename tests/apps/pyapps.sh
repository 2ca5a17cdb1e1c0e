# tests/apps/pyapps.sh: helpers for the tests that run real Python apps
# under porter (tests/it/app-gunicorn.sh, tests/it/app-uvicorn.sh). Sourced
# after tests/lib.sh; they could move there once other app tests want them.

# The apps (tests/apps/*.py), copied where the workers' user (nobody) can
# read them: $APPS. Every app process names $APPS in its command line
# (gunicorn --chdir, uvicorn --app-dir): that is how strays are found.
apps_copy() {
	mkdir -p "$WORK/apps"
	cp -p "${srcdir:-.}"/tests/apps/*.py "$WORK/apps/"
	chmod -R a+rX "$WORK/apps"
	APPS=$WORK/apps
}

# conf_set KEYWORD [VALUE...]: the conf's KEYWORD lines become this one
# (no VALUE: none). The ports write_conf picked stay.
conf_set() {
	local k=$1
	sed -i "/^$k\( \|\$\)/d" "$WORK/porter.conf"
	[ $# -lt 2 ] || echo "$*" >> "$WORK/porter.conf"
}

# conf_env NAME=VALUE...: the app's environment (porter's `env`): these
# and no other env lines.
conf_env() {
	local e
	sed -i '/^env /d' "$WORK/porter.conf"
	for e in "$@"; do
		echo "env $e" >> "$WORK/porter.conf"
	done
}

# reload_ok [TIMEOUT]: SIGHUP, and wait for this reload's "reload: done".
reload_ok() {
	local n k
	n=$(log_count "reload: done")
	k=$(log_count "keeping the running configuration")
	kill -HUP "$(master_pid)"
	wait_for "[ \$(log_count 'reload: done') -gt $n ] ||
	    [ \$(log_count 'keeping the running configuration') -gt $k ]" \
	    "${1:-60}" || return 1
	[ "$(log_count "keeping the running configuration")" = "$k" ] || {
		grep "keeping the running configuration" "$WORK/porter.log" |
		    tail -n 1
		return 1
	}
}

# reloads N: N reloads, each one waited for before the next (a reload
# under way ignores the next). RELOAD_MS: how long they took.
reloads() {
	local i t0
	t0=$(now_ms)
	for i in $(seq 1 "$1"); do
		reload_ok || fail "reload $i of $1 not done"
	done
	RELOAD_MS=$(($(now_ms) - t0))
}

# wrk_start NAME [WRK OPTIONS...]: one thread, 8 connections, in the
# background until wrk_stop (90 s at most). A request unanswered in 5 s
# is a timeout (wrk's default, 2 s, is met on a loaded machine).
wrk_start() {
	local name=$1
	shift
	wrk -t1 -c8 -d90s --timeout 5s "$@" "http://127.0.0.1:$LPORT/" \
	    > "$WORK/wrk.$name" 2>&1 &
	WRK_PID=$!
	WRK_NAME=$name
	STARTED="$STARTED $WRK_PID"
	# Under way once it holds a connection to porter.
	wait_for '[ "$(conns_to $LPORT)" -gt 0 ]' 5 || true
}

# wrk_stop: SIGINT makes wrk stop and print its figures: WRK_N requests,
# WRK_CONNECT WRK_READ WRK_WRITE WRK_TIMEOUT socket errors, WRK_NON2XX,
# WRK_ERRS all of those; WRK_SUMMARY in words.
wrk_stop() {
	local f=$WORK/wrk.$WRK_NAME e
	kill -INT "$WRK_PID"
	wait_exit "$WRK_PID" 10 || fail "wrk did not stop"
	WRK_N=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$f")
	[ -n "$WRK_N" ] || fail "no figures from wrk: $(cat "$f")"
	e=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$f")
	set -- ${e:-0 0 0 0}
	WRK_CONNECT=$1 WRK_READ=$2 WRK_WRITE=$3 WRK_TIMEOUT=$4
	WRK_NON2XX=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$f")
	WRK_NON2XX=${WRK_NON2XX:-0}
	WRK_ERRS=$((WRK_CONNECT + WRK_READ + WRK_WRITE + WRK_TIMEOUT + WRK_NON2XX))
	WRK_SUMMARY="$WRK_N requests; socket errors: connect $WRK_CONNECT, read $WRK_READ, write $WRK_WRITE, timeout $WRK_TIMEOUT; non-2xx $WRK_NON2XX"
}

# Worker id and pid of each answer to GET /, "ID PID" a line, for N
# requests.
answers() {
	local i
	for i in $(seq 1 "$1"); do
		get / | sed -n 's/^[a-z]* worker \([0-9]*\) pid \([0-9]*\)$/\1 \2/p'
	done
}

# both_served N: within N requests, workers 0 and 1 both answer, and each
# answer comes from the process porter lists as that worker or from a
# child of it (gunicorn's arbiter forks the process that serves).
both_served() {
	local id pid wp pp seen=" "
	answers "$1" > "$WORK/answers"
	while read -r id pid; do
		wp=$(status_get ".workers[] | select(.id == $id) | .pid")
		pp=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)
		[ "$pid" = "$wp" ] || [ "$pp" = "$wp" ] ||
		    fail "worker $id's answer came from pid $pid (parent ${pp:-?}), not worker pid $wp or its child"
		case "$seen" in *" $id "*) ;; *) seen="$seen$id " ;; esac
	done < "$WORK/answers"
	SEEN=$seen
	[ "$seen" = " 0 1 " ] || [ "$seen" = " 1 0 " ]
}

# Every process under pid $1 (its descendants), one a line.
descendants() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
	    { pp[$1] = $2 }
	    END {
		for (p in pp)
			for (q = p; q in pp && q > 1; q = pp[q])
				if (pp[q] == root) { print p; break }
	    }'
}

# App processes (their command line names $APPS) that are neither a
# current worker of porter nor descended from one: "pid ppid pgid args".
strays() {
	local ws
	ws=" $(worker_pids | tr '\n' ' ') "
	ps -e -o pid=,ppid=,pgid=,args= | A="$APPS" WS="$ws" awk '
	    { pp[$1] = $2; if (index($0, ENVIRON["A"])) app[$1] = $0 }
	    END {
		for (p in app) {
			mine = 0
			for (q = p; q in pp && q > 1; q = pp[q])
				if (index(ENVIRON["WS"], " " q " ")) { mine = 1; break }
			if (!mine) print app[p]
		}
	    }'
}

# App processes still alive: "pid args", of those pids given.
alive_apps() {
	local p
	for p in "$@"; do
		grep -qF "$APPS" "/proc/$p/cmdline" 2>/dev/null &&
		    echo "$p $(tr '\0' ' ' < "/proc/$p/cmdline")"
	done
}

# Milliseconds since midnight of a porter log line's "HH:MM:SS.mmm".
log_ms() {
	awk '{ split($1, t, /[:.]/); print ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4] }'
}

# kill9_worker I: kill -9 worker I (its process only: what it forked is
# porter's to clean up); the fleet must be back to 2 ready workers, the
# killed one's port not held (proxy mode), its process
# group empty, and no app process outside porter's workers. KILL9_MS: how
# long the fleet was short.
kill9_worker() {
	local w pg t0 left
	local port port2
	w=$(status_get ".workers[] | select(.id == $1) | .pid")
	[ -n "$w" ] || fail "no worker $1"
	port=$(status_get ".workers[] | select(.id == $1) | .port")
	pg=$(ps -e -o pid=,pgid= | awk -v g="$w" '$2 == g { print $1 }' | tr '\n' ' ')
	t0=$(now_ms)
	kill -9 "$w"
	wait_for "[ \"\$(status_get '[.workers[] | select(.state == \"ready\" and .pid != $w)] | length')\" = 2 ]" ||
	    fail "kill -9 of worker $1 (pid $w): not 2 ready workers again"
	KILL9_MS=$(($(now_ms) - t0))
	# Proxy mode: nothing of the killed worker holds its port (free, or
	# a current worker's), and porter did not find its ports held.
	if [ "$port" != null ]; then
		port2=" $(status_get '[.workers[].port] | join(" ")') "
		port_free "$port" || [ "${port2#* $port }" != "$port2" ] ||
		    fail "kill -9 of worker $1: port $port still held: $(strays)"
		! grep "is held by another process" "$WORK/porter.log" ||
		    fail "kill -9 of worker $1: a port was held"
	fi
	_poll 5 "[ -z \"\$(alive_apps $pg)\" ]" ||
	    fail "kill -9 of worker $1 (pid $w): its group lives on: $(alive_apps $pg)"
	wait_for '[ "$(worker_pids | wc -l)" = 2 ]' ||
	    fail "workers after kill -9: $(worker_pids | tr '\n' ' ')"
	left=$(strays)
	[ -z "$left" ] || fail "app processes outside porter's workers: $left"
	KILL9_GROUP=$pg
}

# stop_clean: record every process under porter, stop porter (porter -s
# stop), and then none of them may be alive: STOP_PIDS how many there were.
stop_clean() {
	local pids left
	pids=$(descendants "$(master_pid)" | tr '\n' ' ')
	STOP_PIDS=$(echo $pids | wc -w)
	"$PORTER" -c "$WORK/porter.conf" -s stop || fail "porter -s stop failed"
	wait_exit "$PORTER_PID" 30 || fail "porter did not stop"
	[ "$RC" = 0 ] || fail "porter exited with $RC after -s stop"
	_poll 2 "[ -z \"\$(alive_apps $pids)\" ]" ||
	    fail "after porter's stop these live on: $(alive_apps $pids)"
	left=$(ps -e -o pid=,args= | A="$APPS" awk 'index($0, ENVIRON["A"])')
	[ -z "$left" ] || fail "app processes left after porter's stop: $left"
}
