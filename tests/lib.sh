# tests/lib.sh: shared by the integration tests. Each test starts its own
# porter on random high ports, with a bounded lifetime, and kills only the
# processes it started, by PID.

set -u

PORTER=${PORTER:-./src/porter}
TCPCLIENT=${TCPCLIENT:-./tests/tcpclient}
# Absolute: porter is started from the test's own directory.
PORTER=$(cd "$(dirname "$PORTER")" && pwd)/$(basename "$PORTER")
TCPCLIENT=$(cd "$(dirname "$TCPCLIENT")" && pwd)/$(basename "$TCPCLIENT")
MODE=${MODE:-proxy}
# Express from npm (scripts/setup.sh's need_express): in the source tree's
# .deps, or where PORTER_NODE_MODULES says (make distcheck's tree has none).
NODE_MODULES=${PORTER_NODE_MODULES:-$(cd "${srcdir:-.}" && pwd)/.deps/npm/node_modules}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/porter-test.XXXXXX")
# Started as root, workers run as nobody: they must reach what is here.
chmod 755 "$WORK"
STARTED=""
PORTER_PID=""

# On the way out: stop what we started, then fail the test if porter (or
# a worker) logged a sanitizer report, even though the test itself passed.
cleanup() {
	local rc=$? f
	for p in $STARTED; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $STARTED; do
		_poll 1 "! kill -0 $p 2>/dev/null" || kill -KILL "$p" 2>/dev/null
	done
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		if grep -qE "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" "$f"; then
			echo "FAIL: sanitizer report in $(basename "$f"):"
			grep -E -A12 "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" "$f" |
			    head -n 60
			rc=1
		fi
	done
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -f "$WORK/porter.log" ]; then
		echo "--- porter log (last 40 lines)"
		tail -n 40 "$WORK/porter.log"
	fi
	exit 1
}

ok() {
	echo "ok: $*"
}

# The example workers, copied where the workers' user can read them.
examples() {
	mkdir -p "$WORK/examples"
	cp -p "${srcdir:-.}"/conf/examples/*.js "$WORK/examples/"
	chmod -R a+rX "$WORK/examples"
	EX=$WORK/examples
}

# True if nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Ports come in blocks of 32 (10000 + 32k), each held by an flock on a file
# that every test on this machine shares: port_free sees only what listens
# already, not the ports another test has picked and is about to bind (or
# binds later: a reload's new workers, a second listen line). The lock lives
# as long as this shell, so a test keeps every block it took until it ends.
# PBASE: the first port of a block held for this test.
PORT_LOCKS=/tmp/porter-test-ports
reserve_ports() {
	local lo nb b fd tries=0
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${lo:-0}" -gt 12000 ] || lo=32768
	nb=$(((lo - 10000) / 32))
	mkdir -p "$PORT_LOCKS" 2>/dev/null && chmod 1777 "$PORT_LOCKS" 2>/dev/null
	while :; do
		tries=$((tries + 1))
		[ $tries -gt 200 ] && fail "no free block of ports in $PORT_LOCKS"
		b=$(((RANDOM * 7 + $$ + tries) % nb))
		(umask 0; : >> "$PORT_LOCKS/$b") 2>/dev/null
		exec {fd}< "$PORT_LOCKS/$b" || continue
		if flock -n "$fd"; then
			PBASE=$((10000 + 32 * b))
			return 0
		fi
		exec {fd}<&-
	done
}

# LPORT (clients), SPORT (status), WPORT (worker base, 8 ports): all free,
# in a block of this test's, below the kernel's ephemeral range, where an
# outgoing connection's local port could make bind() fail although nothing
# listens there. A test may use the rest of the block (up to LPORT + 31).
pick_ports() {
	local i tries=0
	while :; do
		tries=$((tries + 1))
		[ $tries -gt 50 ] && fail "no free ports"
		reserve_ports
		LPORT=$PBASE
		SPORT=$((LPORT + 1))
		WPORT=$((LPORT + 2))
		port_free $LPORT && port_free $SPORT || continue
		for i in 0 1 2 3 4 5 6 7; do
			port_free $((WPORT + i)) || continue 2
		done
		return 0
	done
}

# A conf with the test's ports; each argument is one more directive.
write_conf() {
	local line
	pick_ports
	{
		echo "listen 127.0.0.1:$LPORT"
		echo "status 127.0.0.1:$SPORT"
		echo "worker_ports 127.0.0.1:$WPORT"
		echo "pidfile $WORK/porter.pid"
		for line in "$@"; do
			echo "$line"
		done
	} > "$WORK/porter.conf"
	grep -q '^graceful_timeout' "$WORK/porter.conf" ||
	    echo "graceful_timeout 5s" >> "$WORK/porter.conf"
	grep -q '^workers' "$WORK/porter.conf" ||
	    echo "workers 2" >> "$WORK/porter.conf"
	grep -q '^mode' "$WORK/porter.conf" ||
	    echo "mode $MODE" >> "$WORK/porter.conf"
	# Proxy mode relays in two threads unless a test says otherwise
	# (auto is none on CI's 2 CPUs, and TSan is there to check the
	# threads); RELAY_THREADS=0: in the master's main thread (proxy0/).
	grep -q '^relay_threads' "$WORK/porter.conf" ||
	    echo "relay_threads ${RELAY_THREADS:-2}" >> "$WORK/porter.conf"
	# RELAY_IO=io_uring: relays on io_uring (uring/).
	[ -z "${RELAY_IO:-}" ] || grep -q '^relay_io' "$WORK/porter.conf" ||
	    echo "relay_io $RELAY_IO" >> "$WORK/porter.conf"
}

# Start porter (at most 300 s of life) and wait until N workers are ready.
# It runs in $WORK, so that workers (maybe nobody) can read their cwd.
start_porter() {
	(cd "$WORK" && exec timeout -s KILL 300 "$PORTER" \
	    -c "$WORK/porter.conf" "$@" > "$WORK/porter.log" 2>&1) &
	PORTER_PID=$!
	STARTED="$STARTED $PORTER_PID"
	wait_ready "$(sed -n 's/^workers *//p' "$WORK/porter.conf")"
	uring_check
}

# relay_io io_uring: the relays are on io_uring, or this kernel refused
# it (porter then relays with epoll, and says why): skip, saying so.
uring_check() {
	local log
	grep -q '^relay_io io_uring' "$WORK/porter.conf" || return 0
	grep -q '^mode proxy' "$WORK/porter.conf" || return 0
	log=$(sed -n 's/^error_log  *//p' "$WORK/porter.conf")
	[ -n "$log" ] || log=$WORK/porter.log
	if grep -q 'relay_io io_uring: .*relaying with epoll' "$log"; then
		echo "SKIP: $(grep 'relay_io io_uring' "$log")"
		exit 77
	fi
	grep -q 'relaying on io_uring' "$log" ||
	    fail "relay_io io_uring: porter did not say how it relays"
}

# Start porter as start_porter does, without waiting for any worker: for
# tests of workers that are not ready (yet).
run_porter() {
	(cd "$WORK" && exec timeout -s KILL 300 "$PORTER" \
	    -c "$WORK/porter.conf" "$@" > "$WORK/porter.log" 2>&1) &
	PORTER_PID=$!
	STARTED="$STARTED $PORTER_PID"
}

# Waiting. Tests wait for conditions, never for a time that happens to be
# enough here: a condition is polled every 0.1 s up to a timeout. The
# timeouts are upper bounds, so they are generous (20 s by default): only
# a failing test waits that long, and a passing one must pass on a busy
# 2-core machine and under ASan as well.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-20}

# Milliseconds since the epoch.
now_ms() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((t / 1000))
	else
		echo $(($(date +%s%N) / 1000000))
	fi
}

# _poll SECONDS CMD: eval CMD every 0.1 s until it succeeds (return 0) or
# SECONDS (decimals allowed) have passed (return 1). No message, no check
# of porter: the building block of the helpers below and of cleanup.
_poll() {
	local _p_end
	_p_end=$(($(now_ms) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
	while :; do
		eval "$2" && return 0
		[ "$(now_ms)" -lt "$_p_end" ] || return 1
		sleep 0.1
	done
}

# wait_for CMD [TIMEOUT]: wait until CMD succeeds; 0 once it has, 1 after
# TIMEOUT seconds (default $WAIT_TIMEOUT, decimals allowed), having said
# what it waited for. CMD is one string, run with eval in the caller's
# shell every 0.1 s, so it sees the test's variables and functions: in
# '...' its $VARS are read at each try, in "..." once, at the call (do
# that for $1, $2...: inside, they would be wait_for's own). The tries'
# stderr is hidden ("integer expression expected" while /status does not
# answer yet); the last try, after the timeout, shows it.
# While porter runs ($PORTER_PID set: start_porter sets it, wait_exit on
# it clears it), the conditions wait for porter: if it dies before CMD
# succeeds, the test fails right there.
wait_for() {
	_wait "$1" "${2:-$WAIT_TIMEOUT}" "$1"
}

# wait_log PATTERN [TIMEOUT] [FILE]: wait until a line of FILE (default
# $WORK/porter.log) matches the extended regex PATTERN; as wait_for. An
# empty TIMEOUT is the default one.
wait_log() {
	local _wl_file=${3:-$WORK/porter.log}
	_wait "grep -qE -- $(printf %q "$1") $(printf %q "$_wl_file")" \
	    "${2:-$WAIT_TIMEOUT}" "/$1/ in $(basename "$_wl_file")" ||
	{
		if [ "$_wl_file" != "$WORK/porter.log" ] && [ -f "$_wl_file" ]; then
			echo "--- $(basename "$_wl_file") (last 10 lines)"
			tail -n 10 "$_wl_file"
		fi
		return 1
	}
}

# _wait CMD TIMEOUT WHAT: wait_for and wait_log; WHAT is for the messages.
_wait() {
	local _w_cmd=$1 _w_end
	_w_end=$(($(now_ms) + $(awk -v s="$2" 'BEGIN { printf "%d", s * 1000 }')))
	while :; do
		eval "$_w_cmd" 2>/dev/null && return 0
		if [ -n "$PORTER_PID" ] && ! kill -0 "$PORTER_PID" 2>/dev/null; then
			# It may have done it on its way out.
			eval "$_w_cmd" && return 0
			fail "porter exited while waiting for: $3"
		fi
		[ "$(now_ms)" -lt "$_w_end" ] || break
		sleep 0.1
	done
	eval "$_w_cmd" && return 0
	echo "timed out after $2 s waiting for: $3"
	return 1
}

# How many lines of FILE (default $WORK/porter.log) match the extended
# regex PATTERN.
log_count() {
	grep -cE -- "$1" "${2:-$WORK/porter.log}"
}

# How many connections to 127.0.0.1:PORT are established on the client
# side, accepted or still in the listener's backlog (/proc/net/tcp).
conns_to() {
	awk -v p="$(printf ':%04X' "$1")" \
	    '$3 ~ p "$" && $4 == "01" { n++ } END { print n + 0 }' \
	    /proc/net/tcp
}

# /status, and status_get [JQ-OPTIONS] FILTER: a jq filter over it, raw
# output. /status is only ever read by jq, by field name.
status() {
	curl -s -m 5 "http://127.0.0.1:$SPORT/status"
}

status_get() {
	status | jq -r "$@"
}

# Worker pids from /status, one a line, in worker id order.
worker_pids() {
	status_get '.workers[].pid'
}

# Workers in state "ready" (nothing if /status does not answer).
ready_count() {
	status_get '[.workers[] | select(.state == "ready")] | length'
}

# wait_ready N [TIMEOUT]: N workers ready, or the test fails.
wait_ready() {
	local t=${2:-$WAIT_TIMEOUT}
	wait_for "[ \"\$(ready_count)\" -ge $1 ]" "$t" ||
	    fail "$1 workers not ready in $t s"
}

master_pid() {
	cat "$WORK/porter.pid"
}

get() {
	curl -s -m 5 "http://127.0.0.1:$LPORT$1"
}

# HTTP status code of a request; extra curl arguments after the path.
code() {
	local path=$1
	shift
	curl -s -m 5 -o /dev/null -w '%{http_code}' "$@" \
	    "http://127.0.0.1:$LPORT$path"
}

# wait_exit PID [TIMEOUT]: wait up to TIMEOUT (default 10) seconds for
# PID, a child of the test, to exit; its status in RC. Porter's own pid
# ($PORTER_PID) is then forgotten: later waits no longer need porter.
wait_exit() {
	local t=${2:-10}
	if _poll "$t" "! kill -0 $1 2>/dev/null"; then
		wait "$1" 2>/dev/null
		RC=$?
		[ "$1" != "$PORTER_PID" ] || PORTER_PID=""
		return 0
	fi
	echo "timed out after $t s waiting for pid $1 to exit"
	return 1
}

# reload: SIGHUP, wait for one more "reload: done" (a refused one fails
# the test at once).
reload() {
	local n k
	n=$(log_count "reload: done")
	k=$(log_count "keeping the running configuration")
	kill -HUP "$(master_pid)"
	wait_for "[ \$(log_count 'reload: done') -gt $n ] ||
	    [ \$(log_count 'keeping the running configuration') -gt $k ]" ||
	    fail "reload $((n + 1)) not done"
	[ "$(log_count "reload: done")" -gt "$n" ] ||
	    fail "reload $((n + 1)) refused: $(grep "keeping the running" \
	    "$WORK/porter.log" | tail -n 1)"
}

# wrk in the background until wrk_stop; arguments: more wrk options.
wrk_start() {
	local n
	n=$(status_get .master.accepted)
	wrk -t1 -c8 -d100s "$@" "http://127.0.0.1:$LPORT/" \
	    > "$WORK/wrk.out" 2>&1 5>&- &
	WRK=$!
	STARTED="$STARTED $WRK"
	# In shared mode the workers accept: porter does not count them.
	if [ "$(sed -n 's/^mode *//p' "$WORK/porter.conf")" = shared ]; then
		wait_for "[ \$(conns_to $LPORT) -ge 1 ]"
	else
		wait_for "[ \$(status_get .master.accepted) -ge $((n + 8)) ]"
	fi || fail "wrk did not connect"
}
# Stop wrk (SIGINT: it prints its figures); WRK_N requests, WRK_ERRS the
# lines about errors (empty if none).
wrk_stop() {
	kill -INT "$WRK"
	wait_exit "$WRK" 10 || fail "wrk did not stop"
	WRK_N=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")
	WRK_ERRS=$(grep -E "Socket errors|Non-2xx|unable to" "$WORK/wrk.out")
	WRK_T=$(sed -n 's/^ *[0-9]* requests in \([0-9.]*[a-z]*\),.*/\1/p' \
	    "$WORK/wrk.out")
}

# reloads_under_wrk N MIN: N reloads while wrk runs with Connection:
# close; more than MIN requests, none failed. OLDS: the pids they retired.
reloads_under_wrk() {
	local i n
	n=$(sed -n 's/^workers *//p' "$WORK/porter.conf")
	wait_for '[ "$(worker_pids | wc -l)" = '"$n"' ]' ||
	    fail "old workers linger"
	OLDS=""
	wrk_start -H "Connection: close"
	for i in $(seq 1 "$1"); do
		OLDS="$OLDS $(worker_pids | tr '\n' ' ')"
		reload
	done
	wait_for '[ "$(worker_pids | wc -l)" = '"$n"' ]' ||
	    fail "old workers linger"
	wrk_stop
	echo "$1 reloads under wrk, Connection: close: $WRK_N requests in" \
	    "$WRK_T; ${WRK_ERRS:-no socket errors, no non-2xx}"
	[ "${WRK_N:-0}" -gt "$2" ] || fail "only ${WRK_N:-0} requests"
	[ -z "$WRK_ERRS" ] || fail "errors during reloads: $WRK_ERRS"
}
