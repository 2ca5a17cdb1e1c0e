#!/bin/bash
# porter under a service manager, with the real protocols: the state
# datagrams it sends to $NOTIFY_SOCKET (READY=1 once its workers are
# ready, RELOADING=1 and READY=1 around a reload, STOPPING=1, STATUS=),
# socket activation by systemd's own systemd-socket-activate, the health
# endpoints, and shutdown_delay.
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || fail "$PY is not installed"

# The service manager's end: one line per datagram, its newlines as "|",
# after how many "ready" lines porter's log had when it came.
cat > "$WORK/manager.py" <<'EOF'
import os, socket, sys
path, log, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(120)
with open(out, "a", buffering=1) as f:
    while True:
        d = s.recv(4096).decode()
        with open(log) as l:
            n = sum(1 for line in l if ") ready" in line)
        f.write("%d %s\n" % (n, d.replace("\n", "|")))
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
ok "READY=1 after both workers were ready, with STATUS"

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
ok "reload: RELOADING=1 with MONOTONIC_USEC, then READY=1"

: > "$WORK/notify.out"
echo "no_such_directive 1" >> "$WORK/porter.conf"
kill -HUP "$(master_pid)"
wait_log "unknown directive" || fail "the bad conf was not refused"
wait_for 'notified "READY=1"' || fail "no READY=1 after a refused reload"
notified "RELOADING=1" || fail "no RELOADING=1 for the refused reload"
sed -i '/^no_such_directive/d' "$WORK/porter.conf"
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
wait_exit "$PORTER_PID" 20 || fail "porter did not stop after the delay"
t=$(( $(now_ms) - t0 ))
[ $t -ge 7900 ] || fail "porter stopped $t ms after SIGTERM, in its delay"
grep -q "fast stop (shutdown_delay is over)" "$WORK/porter.log" ||
    fail "no stop after the delay"
ok "shutdown_delay: /readyz 503, served for 8 s, then stopped ($t ms)"

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
