#!/bin/bash
# porter under a service manager, with the real protocols: the state
# datagrams it sends to $NOTIFY_SOCKET (READY=1 once its workers are
# ready, RELOADING=1 and READY=1 around a reload, STOPPING=1, STATUS=),
# all from its one main pid; socket activation by systemd's own
# systemd-socket-activate, and by a manager that keeps its socket while
# porter stops and starts again (never shut down); the health endpoints
# (/readyz 503 in shutdown_delay, in a graceful stop, with no worker
# ready), and shutdown_delay.
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || fail "$PY is not installed"

# The service manager's end: one line per datagram, its newlines as "|",
# after how many "ready" lines porter's log had when it came; then, as
# "pid=PID", the sender's pid from its credentials (what systemd checks
# for NotifyAccess=main against the main pid).
cat > "$WORK/manager.py" <<'EOF'
import os, socket, struct, sys
path, log, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
s.settimeout(120)
with open(out, "a", buffering=1) as f:
    while True:
        d, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = "?"
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        with open(log) as l:
            n = sum(1 for line in l if ") ready" in line)
        f.write("%d %s pid=%s\n" % (n, d.decode().replace("\n", "|"), pid))
EOF
start_manager() {
	rm -f "$WORK/notify.sock"
	: > "$WORK/notify.out"
	timeout 120 $PY "$WORK/manager.py" "$WORK/notify.sock" \
	    "$WORK/porter.log" "$WORK/notify.out" &
	STARTED="$STARTED $!"
	wait_for '[ -S "$WORK/notify.sock" ]' || fail "no notify socket"
}
# notified REGEX: a datagram matching it came.
notified() {
	grep -qE -- "$1" "$WORK/notify.out"
}
# Every datagram since notify.out was emptied came from porter's main pid,
# $MPID (systemd's NotifyAccess=main drops the others), and porter's pid
# is still $MPID.
from_main() {
	local pids
	pids=$(sed -n 's/.* pid=\([0-9?]*\)$/\1/p' "$WORK/notify.out" | sort -u |
	    tr '\n' ' ')
	[ "$pids" = "$MPID " ] ||
	    fail "$1: datagrams from pids $pids, not porter's $MPID"
	[ "$(master_pid)" = "$MPID" ] || fail "$1: porter's pid is now $(master_pid)"
}

# 1. READY=1 once both workers are ready; RELOADING=1 with
# MONOTONIC_USEC, then READY=1 after a reload, good or bad; STOPPING=1.
write_conf "workers 2" "reload_probation 200ms"
: > "$WORK/porter.log"
start_manager
NOTIFY_SOCKET=$WORK/notify.sock start_porter
wait_for 'notified "READY=1"' || fail "no READY=1: $(cat "$WORK/notify.out")"
n=$(grep -m1 "READY=1" "$WORK/notify.out" | cut -d' ' -f1)
[ "$n" -ge 2 ] || fail "READY=1 came with $n of 2 workers ready"
grep -m1 "READY=1" "$WORK/notify.out" |
    grep -qE "STATUS=$MODE mode, 2/2 workers ready, [0-9]+ connections" ||
    fail "READY=1 without STATUS: $(cat "$WORK/notify.out")"
MPID=$(master_pid)
from_main "start"
ok "READY=1 after both workers were ready, with STATUS, from porter's pid $MPID"

for p in $(worker_pids); do
	tr '\0' '\n' < /proc/$p/environ | grep -q "^NOTIFY_SOCKET=$WORK" &&
	    fail "worker $p got porter's NOTIFY_SOCKET"
done
ok "the workers do not get porter's NOTIFY_SOCKET"

: > "$WORK/notify.out"
kill -HUP "$(master_pid)"
wait_log "reload: done" || fail "reload not done"
wait_for 'notified "READY=1"' || fail "no READY=1 after the reload"
head -n 1 "$WORK/notify.out" | grep -qE "RELOADING=1\|MONOTONIC_USEC=[0-9]+" ||
    fail "no RELOADING=1 first: $(cat "$WORK/notify.out")"
from_main "reload"
ok "reload: RELOADING=1 with MONOTONIC_USEC, then READY=1, from pid $MPID still"

: > "$WORK/notify.out"
echo "no_such_directive 1" >> "$WORK/porter.conf"
kill -HUP "$(master_pid)"
wait_log "unknown directive" || fail "the bad conf was not refused"
wait_for 'notified "READY=1"' || fail "no READY=1 after a refused reload"
notified "RELOADING=1" || fail "no RELOADING=1 for the refused reload"
sed -i '/^no_such_directive/d' "$WORK/porter.conf"
from_main "refused reload"
ok "a refused reload: RELOADING=1, then READY=1 (the running one stays)"

# 2. /healthz, /readyz, and shutdown_delay: on SIGTERM /readyz turns 503
# and porter goes on serving for the delay (long enough for a loaded
# machine to make its checks in it), then stops.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/healthz")" = 200 ] ||
    fail "/healthz is not 200"
[ "$(curl -s "http://127.0.0.1:$SPORT/readyz")" = ready ] ||
    fail "/readyz is not ready"
echo "shutdown_delay 8s" >> "$WORK/porter.conf"
kill -HUP "$(master_pid)"
wait_for '[ "$(log_count "reload: done")" -ge 2 ]' || fail "reload 2 not done"
: > "$WORK/notify.out"
t0=$(now_ms)
kill -TERM "$(master_pid)"
wait_for '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$SPORT/readyz")" = 503 ]' ||
    fail "/readyz did not turn 503"
curl -s "http://127.0.0.1:$SPORT/readyz" | grep -q "shutdown_delay" ||
    fail "/readyz does not say why"
for i in 1 2 3; do
	[ "$(code /)" = 200 ] || fail "request $i in the delay not served"
done
notified "STOPPING=1" || fail "no STOPPING=1 at the delay's start"
from_main "stop"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop after the delay"
t=$(( $(now_ms) - t0 ))
[ $t -ge 7900 ] || fail "porter stopped $t ms after SIGTERM, in its delay"
grep -q "fast stop (shutdown_delay is over)" "$WORK/porter.log" ||
    fail "no stop after the delay"
ok "shutdown_delay: /readyz 503, served for 8 s, then stopped ($t ms)"

# /readyz is 503 in a graceful stop (SIGQUIT, no shutdown_delay) while a
# request is still served, and while no worker is ready.
readyz() {
	local c
	c=$(curl -s -m 5 -o "$WORK/readyz" -w '%{http_code}' \
	    "http://127.0.0.1:$SPORT/readyz")
	echo "$c $(cat "$WORK/readyz")"
}
write_conf "workers 2" "graceful_timeout 20s"
start_porter
curl -s -m 20 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/delay/3000" > "$WORK/slow.code" &
c=$!
wait_for '[ "$(status_get .master.active_connections)" = 1 ]' ||
    fail "the slow request is not live"
kill -QUIT "$(master_pid)"
wait_log "graceful stop" || fail "no graceful stop"
r=$(readyz)
[ "$r" = "503 not ready: stopping" ] || fail "/readyz in a graceful stop: $r"
h=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/healthz")
[ "$h" = 200 ] || fail "/healthz in a graceful stop: $h"
wait "$c"
[ "$(cat "$WORK/slow.code")" = 200 ] || fail "the slow request: $(cat "$WORK/slow.code")"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
ok "graceful stop: /readyz 503 (stopping), /healthz 200, while the last request ran"

# A worker whose port never opens: never ready.
write_conf "workers 1" "worker exec /bin/sleep 60" "ready_timeout 60s"
run_porter
wait_for '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$SPORT/healthz")" = 200 ]' ||
    fail "/healthz does not answer 200"
r=$(readyz)
[ "$r" = "503 not ready: no worker is ready" ] || fail "/readyz, no worker ready: $r"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
ok "no worker ready: /readyz 503 (no worker is ready), /healthz 200"

# 3. Socket activation: systemd-socket-activate holds the port and starts
# porter at the first connection, passing the socket as fd 3. That first
# client waits in the socket's backlog: only porter using the inherited
# socket can serve it. porter runs as nobody here: it binds nothing.
command -v systemd-socket-activate > /dev/null ||
    fail "systemd-socket-activate is not installed (Debian: systemd)"
write_conf "workers 2" "user nobody"
chmod a+r "$WORK/porter.conf"
: > "$WORK/porter.log"
chown nobody "$WORK/porter.log"
rm -f "$WORK/porter.pid"
sed -i "s|^pidfile .*|pidfile off|" "$WORK/porter.conf"
(cd "$WORK" && exec timeout -s KILL 120 systemd-socket-activate \
    -l "127.0.0.1:$LPORT" setpriv --reuid nobody --regid nogroup \
    --clear-groups "$PORTER" -c "$WORK/porter.conf" \
    >> "$WORK/porter.log" 2>&1) &
PORTER_PID=$!
STARTED="$STARTED $PORTER_PID"
wait_log "Listening on 127.0.0.1:$LPORT" || fail "the activator did not listen"
body=$(curl -s -m 20 "http://127.0.0.1:$LPORT/") ||
    fail "the first client was not served"
echo "$body" | grep -q "worker" || fail "unexpected answer: $body"
grep -q "listen 127.0.0.1:$LPORT: the socket passed by the service manager (fd 3)" \
    "$WORK/porter.log" || fail "porter did not say it took fd 3"
# timeout's child: the activator, which became porter.
master=$(ps -o pid= --ppid "$PORTER_PID" | tr -d ' ')
[ "$(ps -o user= -p "$master")" = nobody ] ||
    fail "porter runs as $(ps -o user= -p "$master")"
wait_ready 2
for i in 1 2 3 4; do
	[ "$(code /)" = 200 ] || fail "request $i failed"
done
kill -TERM "$PORTER_PID"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
ok "socket activation: porter as nobody served on the inherited socket"

# An inherited socket no listen line wants: said, and not used.
write_conf "workers 1"
: > "$WORK/porter.log"
other=$((LPORT + 20))
port_free $other || fail "port $other is taken"
(cd "$WORK" && exec timeout -s KILL 60 systemd-socket-activate \
    -l "127.0.0.1:$other" "$PORTER" -c "$WORK/porter.conf" \
    >> "$WORK/porter.log" 2>&1) &
PORTER_PID=$!
STARTED="$STARTED $PORTER_PID"
wait_log "Listening on 127.0.0.1:$other" || fail "the activator did not listen"
curl -s -m 2 "http://127.0.0.1:$other/" > /dev/null 2>&1
wait_log "inherited socket 127.0.0.1:$other \(fd 3\) matches no listen line" ||
    fail "no word on the unused socket"
wait_ready 1
[ "$(code /)" = 200 ] || fail "the conf's own listen does not serve"
kill -TERM "$PORTER_PID"
wait_exit "$PORTER_PID" 20 || fail "porter did not stop"
ok "an inherited socket that matches no listen line is named and closed"

# The service manager keeps its socket while porter stops and starts
# again (porter.socket): porter must only ever close an inherited socket,
# never shut it down (that would stop it listening for the manager too).
# activator.py, systemd's part: it holds a listening socket and starts
# porter on it (fd 3, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), once per
# file run.N that appears, and writes exit.N when that porter exits; it
# leaves when the file done appears.
cat > "$WORK/activator.py" <<'EOF'
import os, socket, sys, time
port, d, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
open(os.path.join(d, "listening"), "w").close()
n = 0
while not os.path.exists(os.path.join(d, "done")):
    if not os.path.exists(os.path.join(d, "run.%d" % (n + 1))):
        time.sleep(0.05)
        continue
    n += 1
    pid = os.fork()
    if pid == 0:
        if s.fileno() != 3:
            os.dup2(s.fileno(), 3)
        os.set_inheritable(3, True)
        os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
                          LISTEN_FDNAMES="web")
        os.execv(argv[0], argv)
    _, st = os.waitpid(pid, 0)
    with open(os.path.join(d, "exit.%d" % n), "w") as f:
        f.write("%d\n" % os.waitstatus_to_exitcode(st))
EOF
A=$WORK/act
mkdir -p "$A"
write_conf "workers 2" "graceful_timeout 10s"
: > "$WORK/porter.log"
(cd "$WORK" && exec timeout -s KILL 120 $PY "$WORK/activator.py" "$LPORT" "$A" \
    "$PORTER" -c "$WORK/porter.conf" >> "$WORK/porter.log" 2>&1) &
ACT=$!
STARTED="$STARTED $ACT"
wait_for '[ -e "$A/listening" ]' || fail "the activator does not listen"
# listening N: the socket still takes connections (into its backlog) with
# no porter running; a request sent now waits there for porter N.
waiting() {
	curl -s -m 30 -o "$WORK/wait.$1" -w '%{http_code}' \
	    "http://127.0.0.1:$LPORT/" > "$WORK/wait.$1.code" &
	WAITING=$!
	_poll 1 "! kill -0 $WAITING 2>/dev/null" &&
	    fail "with no porter running, a client was refused or cut ($2):" \
	    "$(cat "$WORK/wait.$1.code") (the socket was shut down?)"
}
touch "$A/run.1"
wait_ready 2
[ "$(code /)" = 200 ] || fail "porter 1 does not serve on the passed socket"
kill -TERM "$(master_pid)"
wait_for '[ -e "$A/exit.1" ]' || fail "porter 1 did not stop"
[ "$(cat "$A/exit.1")" = 0 ] || fail "porter 1 exited $(cat "$A/exit.1")"
waiting 2 "after a fast stop"
touch "$A/run.2"
wait "$WAITING"
[ "$(cat "$WORK/wait.2.code")" = 200 ] ||
    fail "the client that waited was not served by porter 2: $(cat "$WORK/wait.2.code")"
wait_ready 2
kill -QUIT "$(master_pid)"
wait_for '[ -e "$A/exit.2" ]' || fail "porter 2 did not stop"
[ "$(cat "$A/exit.2")" = 0 ] || fail "porter 2 exited $(cat "$A/exit.2")"
waiting 3 "after a graceful stop"
touch "$A/run.3"
wait "$WAITING"
[ "$(cat "$WORK/wait.3.code")" = 200 ] ||
    fail "the client that waited was not served by porter 3: $(cat "$WORK/wait.3.code")"
wait_ready 2
kill -TERM "$(master_pid)"
wait_for '[ -e "$A/exit.3" ]' || fail "porter 3 did not stop"
touch "$A/done"
wait_exit "$ACT" 10 || fail "the activator did not leave"
[ "$(log_count "the socket passed by the service manager \(fd 3\)")" = 3 ] ||
    fail "not 3 porters on the passed socket"
ok "the manager's socket outlives porter's fast and graceful stops: a client sent while none ran was served by the next porter"
