# tests/lib-upstream.sh: for the tests of remote upstreams, after
# tests/lib.sh. Backends are porters of their own (shared mode, one
# built-in worker: it answers "... via shared", where the front's own
# workers answer "... via proxy") on other loopback addresses, 127.0.0.2
# and up, which Linux routes to lo with no setup. Every process started
# here is killed by PID: its pidfile's, or the one $! gave.

# True if nothing listens on ADDR:PORT.
port_free_on() {
	! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# BPORT: a port free on each address given, the first of a block of
# this test's (tests/lib.sh, reserve_ports).
pick_backend_port() {
	local tries=0 a
	while :; do
		tries=$((tries + 1))
		[ $tries -gt 50 ] && fail "no free backend port"
		reserve_ports
		BPORT=$PBASE
		for a in "$@"; do
			port_free_on "$a" "$BPORT" || continue 2
		done
		return 0
	done
}

# start_backend NAME ADDR:PORT...: a porter listening on each address,
# up to 300 s; waits until all accept. Its master's pid is in
# $WORK/NAME.pid (kill -9 that: its worker follows it, PR_SET_PDEATHSIG).
start_backend() {
	local name=$1 a
	shift
	{
		for a in "$@"; do
			echo "listen $a"
		done
		echo "mode shared"
		echo "workers 1"
		echo "graceful_timeout 1s"
		echo "pidfile $WORK/$name.pid"
	} > "$WORK/$name.conf"
	rm -f "$WORK/$name.pid"
	(cd "$WORK" && exec timeout -s KILL 300 "$PORTER" \
	    -c "$WORK/$name.conf" >> "$WORK/$name.log" 2>&1) &
	STARTED="$STARTED $!"
	disown $!	# killed on purpose: no "Killed" line from bash
	for a in "$@"; do
		wait_for "! port_free_on ${a%:*} ${a##*:}" 10 ||
		    fail "backend $name does not accept on $a"
	done
	wait_for "[ -s $WORK/$name.pid ]" 5 || fail "backend $name: no pidfile"
}

# serves ADDR:PORT: a backend's worker answers there (not only its
# listener, which takes connections before the worker is ready).
serves() {
	curl -s -m 2 -o /dev/null "http://$1/"
}

# kill_backend NAME: SIGKILL its master, and wait until its addresses
# refuse (the worker holding the listener died too).
kill_backend() {
	local pid a
	pid=$(cat "$WORK/$1.pid")
	kill -KILL "$pid"
	for a in $(sed -n 's/^listen //p' "$WORK/$1.conf"); do
		_poll 10 "port_free_on ${a%:*} ${a##*:}" ||
		    fail "backend $1 still accepts on $a"
	done
}

# A field of the target named NAME ("ADDR:PORT", or "worker N") in
# /status: target_get NAME FIELD.
target_get() {
	status_get --arg n "$1" ".targets[] | select(.name == \$n) | .$2"
}

# How many requests of the last get_many came from the front's own
# workers (via proxy) and from backends (via shared).
get_many() {
	local i body
	VIA_PROXY=0
	VIA_SHARED=0
	for i in $(seq 1 "$1"); do
		body=$(get / | head -n 1)
		case "$body" in
		*"via proxy") VIA_PROXY=$((VIA_PROXY + 1)) ;;
		*"via shared") VIA_SHARED=$((VIA_SHARED + 1)) ;;
		*) fail "request $i: unexpected answer \"$body\"" ;;
		esac
	done
}

# porter -s COMMAND... with the front's conf.
ctl() {
	"$PORTER" -c "$WORK/porter.conf" -s "$@"
}

# The curl loop: one request at a time, each a new connection, until
# $WORK/loop.stop exists; "N FAILED" in $WORK/loop.count after each.
# Between two requests it runs the command in $WORK/loop.do, if any (so
# that a backend dies with no request of the loop under way), and then
# removes it. Start it with: curl_loop & LOOP=$!; STARTED="$STARTED $LOOP"
# (a failing test's cleanup stops it).
curl_loop() {
	local n=0 f=0 c
	rm -f "$WORK/loop.stop" "$WORK/loop.do"
	echo "0 0" > "$WORK/loop.count"
	while [ ! -e "$WORK/loop.stop" ] && [ -d "$WORK" ]; do
		# loop_pause: no request in flight until loop_resume.
		while [ -e "$WORK/loop.pause" ] && [ -d "$WORK" ]; do
			touch "$WORK/loop.paused"
			sleep 0.05
		done
		rm -f "$WORK/loop.paused"
		if [ -e "$WORK/loop.do" ]; then
			. "$WORK/loop.do"
			rm -f "$WORK/loop.do"
		fi
		c=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
		    "http://127.0.0.1:$LPORT/")
		n=$((n + 1))
		[ "$c" = 200 ] || f=$((f + 1))
		echo "$n $f" > "$WORK/loop.count"
	done
}

# The loop's counts: "N FAILED", read again while the loop is rewriting
# the file (found empty).
loop_count() {
	local line="" i
	for i in $(seq 1 50); do
		read -r line < "$WORK/loop.count" && [ -n "$line" ] && break
		sleep 0.01
	done
	echo "$line"
}

loop_n() {
	loop_count | cut -d' ' -f1
}

loop_failed() {
	loop_count | cut -d' ' -f2
}

# The loop stops between two requests (none in flight), until
# loop_resume.
loop_pause() {
	rm -f "$WORK/loop.paused"
	touch "$WORK/loop.pause"
	wait_for '[ -e "$WORK/loop.paused" ]' || fail "the loop does not pause"
}

loop_resume() {
	rm -f "$WORK/loop.pause"
}

# log_ms PATTERN [SKIP]: when (ms since the epoch) porter logged the first
# line matching PATTERN after its first SKIP lines: its own timestamp
# ("HH:MM:SS.mmm", local time, today), not when a test saw it.
log_ms() {
	local hms ms
	hms=$(tail -n +$((${2:-0} + 1)) "$WORK/porter.log" | grep -E -- "$1" |
	    head -n 1 | cut -d' ' -f1)
	[ -n "$hms" ] || return 1
	ms=$(date -d "$(date +%F) $hms" +%s%3N) || return 1
	# Just past midnight, a line of yesterday.
	[ "$ms" -le $(($(now_ms) + 1000)) ] || ms=$((ms - 86400000))
	echo "$ms"
}

# start_dns [DNSMASQ-OPTIONS...]: dnsmasq (Debian's dnsmasq-base) on
# 127.0.0.1:$DPORT (picked the first time), for at most 300 s, answering
# only from $WORK/hosts (read again on SIGHUP) and the options given
# (--srv-host=...), every record with a TTL of 1 s. Its pid: $WORK/dns.pid.
start_dns() {
	local tries=0
	command -v dnsmasq > /dev/null ||
	    fail "dnsmasq is not installed (Debian: dnsmasq-base)"
	chmod 644 "$WORK/hosts"		# dnsmasq runs as nobody
	while :; do
		if [ -z "${DPORT:-}" ]; then
			pick_backend_port 127.0.0.1
			DPORT=$BPORT
		fi
		rm -f "$WORK/dns.pid"
		timeout -s KILL 300 dnsmasq -k --conf-file=/dev/null \
		    --no-resolv --no-hosts --port="$DPORT" \
		    --listen-address=127.0.0.1 --bind-interfaces \
		    --addn-hosts="$WORK/hosts" --local-ttl=1 \
		    --pid-file="$WORK/dns.pid" "$@" >> "$WORK/dns.log" 2>&1 &
		STARTED="$STARTED $!"
		disown $!
		_poll 5 "[ -s $WORK/dns.pid ] || ! kill -0 $! 2>/dev/null"
		[ -s "$WORK/dns.pid" ] && return 0
		# Its UDP port was taken (only TCP was checked): another.
		tries=$((tries + 1))
		[ $tries -lt 5 ] ||
		    fail "dnsmasq does not start: $(tail -n 3 "$WORK/dns.log")"
		DPORT=""
	done
}

# stop_dns: SIGTERM, and wait until it is gone.
stop_dns() {
	local pid
	pid=$(cat "$WORK/dns.pid")
	kill "$pid"
	_poll 10 "! kill -0 $pid 2>/dev/null" || fail "dnsmasq does not stop"
}
