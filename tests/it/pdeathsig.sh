#!/bin/bash
# No worker outlives its master: started as root with "user nobody", the
# workers drop privileges and only then ask for SIGKILL on the master's
# death (setuid clears that request). kill -9 the master: within 2 s no
# worker is left, exec and built-in alike.
. "${srcdir:-.}/tests/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: pdeathsig.sh needs root (workers drop to user nobody)"
	exit 77
fi
command -v python3 > /dev/null || fail "python3 is not installed"

# True while pid $1 is a live process (a zombie is not).
alive() {
	[ -r "/proc/$1/status" ] &&
	    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# $1: what the case is called; the rest: directives.
case_kill9() {
	local name=$1 pids p left i
	shift
	write_conf "workers 2" "mode proxy" "user nobody" "$@"
	start_porter
	pids=$(worker_pids)
	[ "$(echo "$pids" | wc -w)" = 2 ] || fail "$name: not 2 worker pids"
	for p in $pids; do
		uid=$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")
		[ "$uid" != 0 ] || fail "$name: worker $p runs as root"
	done
	kill -KILL "$(master_pid)"
	# Each worker gets 2 s to be gone.
	left=""
	for p in $pids; do
		_poll 2 "! alive $p" || left="$left $p"	# porter is dead
	done
	if [ -n "$left" ]; then
		kill -KILL $left 2>/dev/null
		fail "$name: workers$left alive 2 s after kill -9 of the master"
	fi
	wait_exit "$PORTER_PID" 5
	ok "$name: kill -9 of the master, 0 of 2 workers left after 2 s"
}

case_kill9 "exec worker as nobody" \
    "worker exec python3 -m http.server {port} --bind 127.0.0.1"
case_kill9 "built-in worker as nobody" "worker builtin"
