#!/bin/bash
# ready_check: a worker is used once it is ready, and not before.
# (a) http PATH: a worker whose port is open at once but whose /ready
#     answers 503 until told otherwise gets no client before the 200.
# (b) notify: READY=1 through NOTIFY_SOCKET (systemd-notify, a child of
#     the worker: its process group), and STATUS= shown in /status.
# (c) STOPPING=1: porter sends that worker no more connections.
# (d) a datagram from outside the worker's process group is dropped, and
#     a worker that never says READY=1 is killed at ready_timeout.
# (e) shared mode: notify works for a worker on the listening socket.
. "${srcdir:-.}/tests/lib.sh"

# Debian's python3 (the one on PATH may be another); systemd-notify comes
# with Debian's systemd package.
PY=/usr/bin/python3
[ -x $PY ] || fail "$PY is not installed"
NOTIFY=$(command -v systemd-notify) || fail "systemd-notify is not installed"

# What the workers write (they may run as nobody): hits.ID, one line per
# request served. What the test writes for them: go.ID (/ready answers 200
# from then on), notify.ID (systemd-notify --ready --status=its text),
# stop.ID (STOPPING=1 from the worker whose pid it holds), exit.ID (that
# worker exits).
D=$WORK/w
mkdir -p "$D"
chmod 1777 "$D"
cat > "$WORK/worker.py" <<'EOF'
import http.server, os, socket, subprocess, sys, threading, time

D, NOTIFY = sys.argv[1], sys.argv[2]
ID, PID = os.environ["PORTER_WORKER_ID"], os.getpid()

def notify(text):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(text.encode(), addr)
    s.close()

def watch():
    notified = stopped = False
    while True:
        f = os.path.join(D, "notify." + ID)
        if not notified and os.path.exists(f):
            notified = True
            with open(f) as fh:
                status = fh.read().rstrip("\n")
            subprocess.run([NOTIFY, "--ready", "--status=" + status])
        f = os.path.join(D, "stop." + ID)
        if not stopped and os.path.exists(f):
            with open(f) as fh:
                if fh.read().strip() == str(PID):
                    stopped = True
                    notify("STATUS=going away\nSTOPPING=1")
        f = os.path.join(D, "exit." + ID)
        if os.path.exists(f):
            with open(f) as fh:
                if fh.read().strip() == str(PID):
                    os._exit(0)
        time.sleep(0.05)

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        if self.path == "/ready":
            ok = os.path.exists(os.path.join(D, "go." + ID))
            code, body = (200, "ready\n") if ok else (503, "warming up\n")
        else:
            with open(os.path.join(D, "hits." + ID), "a") as fh:
                fh.write(self.path + "\n")
            code, body = 200, "worker %s pid %d\n" % (ID, PID)
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *a):
        pass

threading.Thread(target=watch, daemon=True).start()
if "LISTEN_FDS" in os.environ:
    # Shared mode: the listening socket is fd 3 (socket activation).
    srv = http.server.HTTPServer(("127.0.0.1", 0), H, bind_and_activate=False)
    srv.socket.close()
    srv.socket = socket.socket(fileno=3)
else:
    srv = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H)
srv.serve_forever()
EOF
chmod 644 "$WORK/worker.py"

# A field of the live process of worker ID.
wfield() {
	status_get ".workers[] | select(.id == $1 and .pid > 0) | $2" | head -n 1
}

# The answer of the worker ID's own port to PATH, porter bypassed.
direct() {
	curl -s -m 2 -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$(wfield "$1" .port)$2"
}

stop_porter() {
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
}

# (a) ready_check http /ready
write_conf "workers 1" "mode proxy" "ready_check http /ready" \
    "ready_timeout 60s" "connect_timeout 1s" \
    "worker exec $PY $WORK/worker.py $D $NOTIFY"
run_porter
wait_for '[ "$(direct 0 /ready)" = 503 ]' ||
    fail "the worker's port does not answer 503 on /ready"
wait_log "worker 0 \(pid [0-9]+\): GET /ready answered 503: not ready yet" ||
    fail "no log of the 503"
[ "$(wfield 0 .state)" = starting ] || fail "state $(wfield 0 .state), not starting"
[ "$(wfield 0 .ready_by)" = null ] || fail "ready_by $(wfield 0 .ready_by) before the 200"
c=$(code /)
[ "$c" != 200 ] || fail "a client was served by a worker that is not ready"
[ ! -e "$D/hits.0" ] || fail "the worker not ready got a client: $(cat "$D/hits.0")"
ok "http: a worker whose port is up but /ready says 503 is not used (front: $c)"

touch "$D/go.0"
wait_for '[ "$(wfield 0 .ready_by)" = http ]' || fail "not ready by http after the 200"
[ "$(wfield 0 .state)" = ready ] || fail "state $(wfield 0 .state), not ready"
grep -qE "worker 0 \(pid [0-9]+\) ready on port [0-9]+ \(http /ready\)" \
    "$WORK/porter.log" || fail "no ready line that says http /ready"
for i in 1 2 3; do
	[ "$(code /)" = 200 ] || fail "request $i after ready failed"
done
[ "$(grep -c '^/$' "$D/hits.0")" = 3 ] || fail "the worker did not serve the 3 requests"
ok "http: ready once /ready answers 200, ready_by \"http\", then served"
stop_porter
rm -f "$D"/*

# (b) ready_check notify, with systemd-notify; (c) STOPPING=1.
write_conf "workers 2" "mode proxy" "ready_check notify" \
    "ready_timeout 60s" "connect_timeout 1s" "graceful_timeout 60s" \
    "worker exec $PY $WORK/worker.py $D $NOTIFY"
run_porter
wait_for '[ "$(direct 0 /x)" = 200 ] && [ "$(direct 1 /x)" = 200 ]' ||
    fail "the workers' ports do not answer"
rm -f "$D"/hits.*
[ "$(status_get '[.workers[] | select(.state == "starting" and .ready_by == null and .notice == null)] | length')" = 2 ] ||
    fail "workers not starting, unjudged, before READY=1: $(status)"
c=$(code /)
[ "$c" != 200 ] || fail "a client was served before READY=1"
[ -z "$(cat "$D"/hits.* 2>/dev/null)" ] || fail "a worker got a client before READY=1"
ok "notify: port up but no READY=1: not used (front: $c)"

notice='warm "up" \ done: 1/2 ✓'
printf '%s\n' "$notice" > "$D/notify.0"
wait_for '[ "$(wfield 0 .ready_by)" = notify ]' || fail "worker 0 not ready by notify"
wait_for '[ "$(wfield 0 .notice)" = "$notice" ]' ||
    fail "notice \"$(wfield 0 .notice)\", not \"$notice\""
[ "$(wfield 1 .state)" = starting ] || fail "worker 1 ready without READY=1"
grep -qE "worker 0 \(pid [0-9]+\) ready on port [0-9]+ \(notify\)" \
    "$WORK/porter.log" || fail "no ready line that says notify"
ok "notify: READY=1 from systemd-notify (the worker's child) makes it ready; STATUS= is its notice, escaped"

echo "second" > "$D/notify.1"
wait_for '[ "$(wfield 1 .ready_by)" = notify ]' || fail "worker 1 not ready by notify"
for i in 1 2 3 4 5 6; do
	[ "$(code /)" = 200 ] || fail "request $i failed"
done
[ -s "$D/hits.0" ] && [ -s "$D/hits.1" ] || fail "not both workers served"
ok "notify: both ready, both served"

pid0=$(wfield 0 .pid)
echo "$pid0" > "$D/stop.0"
wait_for '[ "$(status_get ".workers[] | select(.pid == $pid0) | .state")" = draining ]' ||
    fail "worker 0 not draining after STOPPING=1"
wait_log "worker 0 \(pid $pid0\) says it is stopping" || fail "no log of STOPPING=1"
wait_for '[ "$(status_get ".workers[] | select(.pid == $pid0) | .notice")" = "going away" ]' ||
    fail "notice not updated by the STATUS= before STOPPING=1"
rm -f "$D"/hits.*
for i in 1 2 3 4 5 6; do
	[ "$(code /)" = 200 ] || fail "request $i after STOPPING=1 failed"
done
[ ! -e "$D/hits.0" ] || fail "the stopping worker got $(wc -l < "$D/hits.0") clients"
[ "$(grep -c '^/$' "$D/hits.1")" = 6 ] || fail "worker 1 did not serve all 6"
ok "STOPPING=1: the worker is draining and gets no new connection"

# It goes: it is restarted as usual.
echo "$pid0" > "$D/exit.0"
wait_for '[ -n "$(status_get ".workers[] | select(.id == 0 and .pid != $pid0 and .ready_by == \"notify\") | .pid")" ]' ||
    fail "worker 0 not restarted and ready again"
grep -qE "worker 0 \(pid $pid0, generation 0\) exited with status 0" \
    "$WORK/porter.log" || fail "worker 0 did not exit by itself"
ok "STOPPING=1: restarted when it exited, ready again by notify"
stop_porter
rm -f "$D"/*

# (d) READY=1 from a process outside the worker's group: dropped; with no
# READY=1 of its own the worker is killed at ready_timeout.
write_conf "workers 1" "mode proxy" "ready_check notify" "ready_timeout 15s" \
    "worker exec $PY $WORK/worker.py $D $NOTIFY"
run_porter
wait_for '[ "$(direct 0 /x)" = 200 ]' || fail "the worker's port does not answer"
pid=$(wfield 0 .pid)
sock=$(tr '\0' '\n' < "/proc/$pid/environ" | sed -n 's/^NOTIFY_SOCKET=//p')
case "$sock" in
@porter/*) ;;
*) fail "worker NOTIFY_SOCKET is \"$sock\", not @porter/..." ;;
esac
$PY -c '
import socket, sys
a = sys.argv[1]
a = "\0" + a[1:] if a.startswith("@") else a
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1\nSTATUS=forged", a)
' "$sock" || fail "cannot send to $sock"
wait_log "worker 0: a notify message from pid [0-9]+, not of its process group $pid: dropped" ||
    fail "the foreign datagram was not dropped"
[ "$(wfield 0 .ready_by)" = null ] || fail "a foreign READY=1 made it ready"
[ "$(wfield 0 .notice)" = null ] || fail "a foreign STATUS= was kept"
ok "a datagram from outside the worker's process group is dropped"
wait_log "worker 0 \(pid $pid\) not ready after 15000 ms; killing it" 30 ||
    fail "a worker that never sent READY=1 was not killed at ready_timeout"
ok "no READY=1: killed at ready_timeout"

stop_porter
rm -f "$D"/*

# (e) shared mode, where connect and http cannot tell one worker from
# another: notify.
write_conf "workers 1" "mode shared" "ready_check notify" "ready_timeout 60s" \
    "worker exec $PY $WORK/worker.py $D $NOTIFY"
run_porter
wait_for '[ "$(wfield 0 .state)" = starting ]' || fail "no worker starting"
wait_for '[ "$(code /x)" = 200 ]' || fail "the worker does not serve on fd 3"
[ "$(wfield 0 .ready_by)" = null ] || fail "shared: ready before READY=1"
echo "shared" > "$D/notify.0"
wait_for '[ "$(wfield 0 .ready_by)" = notify ]' || fail "shared: not ready by notify"
wait_for '[ "$(wfield 0 .notice)" = shared ]' || fail "shared: notice \"$(wfield 0 .notice)\""
grep -qE "worker 0 \(pid [0-9]+\) ready \(notify\)" "$WORK/porter.log" ||
    fail "shared: no ready line that says notify"
ok "shared: ready by notify, with the listening socket at fd 3"
