#!/bin/bash
# relay_io io_uring where io_uring is refused (a seccomp policy, as in
# many containers; tests/noring): porter says why and relays with epoll,
# in the main thread and with relay threads, and serves as before.
. "${srcdir:-.}/tests/lib.sh"

NORING=$(dirname "$TCPCLIENT")/noring
[ -x "$NORING" ] || fail "no $NORING"
for threads in 0 2; do
	write_conf "workers 2" "mode proxy" "relay_io io_uring" \
	    "relay_threads $threads"
	(cd "$WORK" && exec timeout -s KILL 300 "$NORING" "$PORTER" \
	    -c "$WORK/porter.conf" > "$WORK/porter.log" 2>&1) &
	PORTER_PID=$!
	STARTED="$STARTED $PORTER_PID"
	wait_ready 2
	grep -q 'relay_io io_uring: Operation not permitted; relaying with epoll' \
	    "$WORK/porter.log" || fail "no warning that io_uring was refused"
	grep -q 'relaying on io_uring' "$WORK/porter.log" &&
	    fail "porter says it relays on io_uring"
	[ "$(code /)" = 200 ] || fail "GET / is not 200"
	n=$(curl -s -m 10 "http://127.0.0.1:$LPORT/bytes/3000000" | wc -c)
	[ "$n" -eq 3000000 ] || fail "3 MB body: $n bytes"
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
	ok "io_uring refused, relay_threads $threads: warned, relayed with epoll"
done
