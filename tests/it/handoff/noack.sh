#!/bin/bash
# "node" workers that are not Node. One never reads its channel: it is
# never taken for ready (the probe a node worker answers once its event
# loop runs gets no answer), and the log says why. One answers the probe
# but never acknowledges a socket: clients must not hang forever, each
# socket is offered to at most three workers, each killed after
# connect_timeout.
export MODE=handoff
. "${srcdir:-.}/tests/lib.sh"

mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec sleep 60\n' > "$WORK/bin/node"
chmod +x "$WORK/bin/node"
touch "$WORK/app.js"
write_conf "workers 1" "worker node $WORK/app.js" "connect_timeout 1s" \
    "restart_limit 50 60s" "ready_timeout 1s"
export PATH="$WORK/bin:$PATH"
run_porter
wait_log "not ready after 1000 ms: it never read its channel" ||
    fail "a node worker that never reads its channel was not found out"
[ "$(code /)" = 000 ] || fail "a client was served with no worker ready"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
ok "a node worker that never reads its channel is never ready, and why is said"

# The probe is one line; the NACK is what Node answers to it.
cat > "$WORK/bin/node" <<'EOS'
#!/bin/sh
read -r probe <&3
echo '{"cmd":"NODE_HANDLE_NACK"}' >&3
exec sleep 60
EOS
write_conf "workers 1" "worker node $WORK/app.js" "connect_timeout 1s" \
    "restart_limit 50 60s"
start_porter
t0=$(date +%s%N)
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/")
ms=$((($(date +%s%N) - t0) / 1000000))
echo "the client got $code after $ms ms"
[ "$code" = 000 ] || fail "a client got $code from a worker that never acks"
# Three tries of 1 s (connect_timeout) each, and the replacements' own
# start (0.5 s before a worker that does not listen() is a classic one):
# about 5 s, under ASan too. Generous, since what it tells apart is a
# client let go from one held until curl gives up (20 s); the log says
# why it was let go.
[ $ms -lt 15000 ] || fail "the client waited $ms ms"
grep -q "did not acknowledge a socket" "$WORK/porter.log" ||
    fail "the stuck worker was not found out"
grep -Eq "closed after 3 workers failed|no worker could take 1 client" \
    "$WORK/porter.log" || fail "the client was not closed after 3 tries"
kill -0 "$PORTER_PID" || fail "porter died"
ok "never-acking worker: client closed after $ms ms, porter still up"
