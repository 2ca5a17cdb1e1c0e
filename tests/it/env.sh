#!/bin/bash
# The workers' environment: by default porter's own passes through; with
# env_clear on they start from nothing but what env lines name and what
# porter sets (PORT, PORTER_WORKER_*, NOTIFY_SOCKET, a default PATH). A reload brings the
# new env lines to the new workers.
. "${srcdir:-.}/tests/lib.sh"

command -v python3 > /dev/null || fail "python3 is not installed"

# An exec worker that answers GET with its environment, NAME=VALUE lines.
cat > "$WORK/envsrv.py" <<'PY'
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = "".join("%s=%s\n" % kv for kv in sorted(os.environ.items()))
        b = b.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])),
    H).serve_forever()
PY
chmod 644 "$WORK/envsrv.py"

export PORTER_TEST_SECRET=s3cret PORTER_TEST_KEEP=kept
# As if porter ran under systemd: its NOTIFY_SOCKET is not the workers'.
export NOTIFY_SOCKET=@porters-own-manager

stop() {
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
}

# Default: pass-through.
write_conf "worker exec python3 $WORK/envsrv.py"
start_porter
env=$(get /)
echo "$env" | grep -qx "PORTER_TEST_SECRET=s3cret" ||
    fail "default: porter's environment did not pass through: $env"
echo "$env" | grep -qx "PORT=$WPORT\|PORT=$((WPORT + 1))" ||
    fail "default: no PORT: $env"
echo "$env" | grep -q "^PORTER_WORKER_ID=[01]$" ||
    fail "default: no PORTER_WORKER_ID: $env"
echo "$env" | grep -q "^NOTIFY_SOCKET=@porter/$(master_pid)/[0-9]*$" ||
    fail "default: not a NOTIFY_SOCKET of porter's own: $env"
ok "default: porter's environment passes through, PORT and NOTIFY_SOCKET set"
stop

# env_clear on: only what env lines name, and porter's own.
write_conf "worker exec python3 $WORK/envsrv.py" "env_clear on" \
    "env PORTER_TEST_KEEP" 'env "GREETING=hello world"' "env NOT_IN_PORTER"
start_porter
env=$(get /)
echo "$env" | grep -q SECRET && fail "env_clear: the secret leaked: $env"
echo "$env" | grep -qx "PORTER_TEST_KEEP=kept" ||
    fail "env_clear: env NAME did not pass: $env"
echo "$env" | grep -qx "GREETING=hello world" ||
    fail "env_clear: env NAME=VALUE not set: $env"
echo "$env" | grep -qx "PORT=$WPORT\|PORT=$((WPORT + 1))" ||
    fail "env_clear: no PORT: $env"
echo "$env" | grep -qx "PATH=/usr/local/bin:/usr/bin:/bin" ||
    fail "env_clear: not the default PATH: $env"
# Python may add LC_CTYPE itself (PEP 538); nothing else is there.
extra=$(echo "$env" | cut -d= -f1 | grep -vxE \
    'GREETING|LC_CTYPE|NOTIFY_SOCKET|PATH|PORT|PORTER_TEST_KEEP|PORTER_WORKER_ID')
[ -z "$extra" ] || fail "env_clear: unexpected variables: $extra"
ok "env_clear on: no secret; env NAME passed, env NAME=VALUE set, PORT, PATH"

# A reload: new workers, new environment.
sed -i 's/GREETING=hello world/GREETING=bye/' "$WORK/porter.conf"
old=$(worker_pids | sort | tr '\n' ' ')
kill -HUP "$(master_pid)"
wait_log "reload: done" || fail "reload not done"
wait_ready 2
[ "$(worker_pids | sort | tr '\n' ' ')" != "$old" ] || fail "same workers"
for i in 1 2 3 4; do
	get / | grep -qx "GREETING=bye" || fail "reload: env not picked up"
done
ok "reload: the new workers have the new env lines"
stop

# Built-in workers: their PORTER_WORKER_* contract holds under env_clear.
write_conf "worker builtin" "env_clear on" "env PORTER_TEST_KEEP"
start_porter
get / | grep -q "^handled by worker [01]" || fail "built-in: not serving"
for p in $(worker_pids); do
	e=$(tr '\0' '\n' < "/proc/$p/environ")
	echo "$e" | grep -q SECRET && fail "built-in $p: the secret leaked"
	echo "$e" | grep -qx "PORTER_TEST_KEEP=kept" ||
	    fail "built-in $p: env NAME did not pass"
	echo "$e" | grep -q "^PORTER_WORKER_MODE=$MODE$" ||
	    fail "built-in $p: no PORTER_WORKER_MODE"
done
ok "built-in workers with env_clear on: serving, no secret"
stop

# Bad names are conf errors with file:line.
write_conf "env 1X"
out=$($PORTER -t -c "$WORK/porter.conf" 2>&1) && fail "env 1X accepted"
echo "$out" | grep -q "porter.conf:[0-9]*: env: bad variable name \"1X\"" ||
    fail "env 1X: $out"
ok "env 1X: $out"
