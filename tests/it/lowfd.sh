#!/bin/bash
# Low fd limits: under "ulimit -n 64" (the master's needs with two workers
# and no relay threads stay well inside it) built-in and exec workers all
# start and serve, in proxy and shared mode. Before, the child moved its
# descriptors to fd 100 and every worker died at once without a word. And
# a worker that cannot start says why in porter's log.
. "${srcdir:-.}/tests/lib.sh"

command -v python3 > /dev/null || fail "python3 is not installed"
ulimit -n 64 || fail "cannot lower the fd limit"
[ "$(ulimit -Hn)" = 64 ] || fail "hard limit is $(ulimit -Hn), not 64"

# A python worker for shared mode: the listening socket is fd 3.
cat > "$WORK/fd3.py" <<'PY'
import http.server, os, socket
assert os.environ["LISTEN_FDS"] == "1"
assert os.environ["LISTEN_PID"] == str(os.getpid())
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"fd 3 worker %d\n" % os.getpid()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H, bind_and_activate=False)
s.socket = socket.socket(fileno=3)
s.serve_forever()
PY
chmod 644 "$WORK/fd3.py"

stop() {
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
}

# $1: what; $2: the answer's pattern; the rest: directives.
serves() {
	local name=$1 want=$2 i
	shift 2
	write_conf "workers 2" "relay_threads 0" "$@"
	start_porter
	grep -q "open files limited to 64" "$WORK/porter.log" ||
	    fail "$name: porter did not run under the limit"
	for i in $(seq 1 10); do
		get / | grep -q "$want" || fail "$name: request $i failed"
	done
	grep -q "exited with status" "$WORK/porter.log" &&
	    fail "$name: a worker died"
	ok "ulimit -n 64, $name: 2/2 workers ready, 10/10 served"
	stop
}

serves "built-in, proxy" "^handled by worker" "mode proxy" "worker builtin"
serves "built-in, shared" "^handled by worker" "mode shared" "worker builtin"
serves "exec, proxy" "Directory listing" "mode proxy" \
    "worker exec python3 -m http.server {port} --bind 127.0.0.1"
serves "exec, shared (fd 3)" "^fd 3 worker" "mode shared" \
    "worker exec python3 $WORK/fd3.py"

# An early failure says why: the command is gone when a worker restarts.
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec python3 -m http.server "$PORT" --bind 127.0.0.1\n' \
    > "$WORK/bin/srv"
chmod 755 "$WORK/bin" "$WORK/bin/srv"
write_conf "workers 2" "relay_threads 0" "mode proxy" \
    "restart_limit 3 60s" "worker exec $WORK/bin/srv"
start_porter
rm -f "$WORK/bin/srv"
kill -TERM $(worker_pids | head -n 1)
wait_exit "$PORTER_PID" 30 || fail "porter did not give up"
grep -q "worker [01]: cannot run $WORK/bin/srv: No such file or directory" \
    "$WORK/porter.log" || fail "no reason logged for the failed start"
ok "a start that fails is logged with its reason: $(grep -m1 "cannot run" \
    "$WORK/porter.log" | cut -d' ' -f3-)"
