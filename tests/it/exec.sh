#!/bin/bash
# exec workers: any program. Proxy mode: Python's http.server on {port}
# (ready once its port accepts). Shared mode: a program that takes the
# listening socket as fd 3 (LISTEN_FDS, LISTEN_PID).
. "${srcdir:-.}/tests/lib.sh"

command -v python3 > /dev/null || fail "python3 is not installed"
command -v node > /dev/null || fail "node is not installed"
examples

write_conf "workers 2" "mode proxy" \
    "worker exec python3 -m http.server {port} --bind 127.0.0.1"
start_porter
for i in $(seq 1 10); do
	[ "$(code /)" = 200 ] || fail "python worker: request $i failed"
done
get / | grep -q "Directory listing" || fail "not python's answer"
ports=$(status_get '[.workers[].port | numbers] | unique | length')
[ "$ports" = 2 ] || fail "the two workers do not have two ports"
ok "exec, proxy: python3 http.server on {port}, 10/10 served"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# $PORT and ${PORT} too, with no shell to expand them: porter does.
for ref in '$PORT' '${PORT}'; do
	write_conf "workers 2" "mode proxy" \
	    "worker exec python3 -m http.server $ref --bind 127.0.0.1"
	start_porter
	for i in 1 2 3 4; do
		[ "$(code /)" = 200 ] || fail "$ref worker: request $i failed"
	done
	ok "exec, proxy: $ref expanded in the arguments"
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
done

# Worker ports in the kernel's ephemeral range: porter -t warns.
read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
write_conf "workers 2"
sed -i "s/^worker_ports .*/worker_ports 127.0.0.1:$lo/" "$WORK/porter.conf"
"$PORTER" -t -c "$WORK/porter.conf" > "$WORK/t.out" 2>&1 ||
    fail "porter -t failed: $(cat "$WORK/t.out")"
grep -q "overlap the ephemeral port range" "$WORK/t.out" ||
    fail "no warning for worker ports at $lo: $(cat "$WORK/t.out")"
ok "porter -t warns about worker_ports in the ephemeral range"

write_conf "workers 2" "mode shared" "worker exec $EX/listen-fd.js"
start_porter
for i in $(seq 1 10); do
	body=$(get /)
	case "$body" in
	"handled by node worker "[01]", pid "*", via shared, fd 3") ;;
	*) fail "fd 3 worker: unexpected answer: $body" ;;
	esac
done
ok "exec, shared: a program on fd 3 (LISTEN_FDS=1), 10/10 served"

# A command that cannot run is reported, and counts as a failed start.
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
write_conf "workers 1" "mode proxy" "restart_limit 2 30s" \
    'worker exec /bin/sh -c "exit 7"'
timeout -s KILL 60 $PORTER -c "$WORK/porter.conf" > "$WORK/porter.log" 2>&1
rc=$?
[ $rc = 3 ] || fail "a worker that always exits: porter exit $rc, not 3"
grep -q "exited with status 7" "$WORK/porter.log" || fail "status 7 not logged"
ok "exec worker that keeps exiting: exit 3"
