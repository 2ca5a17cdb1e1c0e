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
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
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

# LPORT (clients), SPORT (status), WPORT (worker base, 8 ports): all free,
# and below the kernel's ephemeral range, where an outgoing connection's
# local port could make bind() fail although nothing listens there.
pick_ports() {
	local i tries=0 lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${lo:-0}" -gt 12000 ] || lo=32768
	while :; do
		tries=$((tries + 1))
		[ $tries -gt 50 ] && fail "no free ports"
		LPORT=$((10000 + (RANDOM * 7 + $$) % (lo - 10020)))
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
	# RELAY_THREADS=0: proxy mode relays in the master's main thread.
	[ -z "${RELAY_THREADS:-}" ] ||
	    echo "relay_threads $RELAY_THREADS" >> "$WORK/porter.conf"
}

# Start porter (at most 300 s of life) and wait until N workers are ready.
# It runs in $WORK, so that workers (maybe nobody) can read their cwd.
start_porter() {
	(cd "$WORK" && exec timeout -s KILL 300 "$PORTER" \
	    -c "$WORK/porter.conf" "$@" > "$WORK/porter.log" 2>&1) &
	PORTER_PID=$!
	STARTED="$STARTED $PORTER_PID"
	wait_ready "$(sed -n 's/^workers *//p' "$WORK/porter.conf")"
}

status() {
	curl -s -m 5 "http://127.0.0.1:$SPORT/status"
}

# The first "KEY":NUMBER in stdin.
json_num() {
	grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# Worker pids from /status, one a line.
worker_pids() {
	status | grep -o '"workers":.*' | grep -o '"pid":[0-9]*' | cut -d: -f2
}

ready_count() {
	status | grep -o '"state":"ready"' | wc -l
}

wait_ready() {
	local n=$1 i
	for i in $(seq 1 100); do
		[ "$(ready_count)" -ge "$n" ] 2>/dev/null && return 0
		kill -0 "$PORTER_PID" 2>/dev/null || fail "porter exited early"
		sleep 0.1
	done
	fail "$n workers not ready in 10 s"
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

# Wait up to $2 (default 10) seconds for pid $1 to exit; its status in RC.
wait_exit() {
	local i
	for i in $(seq 1 $((${2:-10} * 10))); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1" 2>/dev/null
			RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}
