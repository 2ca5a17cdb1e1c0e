#!/bin/bash
# A "node" worker that is not Node: it never reads its channel, never
# acknowledges a socket. Clients must not hang forever: each socket is
# offered to at most three workers, each killed after connect_timeout.
export MODE=handoff
. "${srcdir:-.}/tests/lib.sh"

mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec sleep 60\n' > "$WORK/bin/node"
chmod +x "$WORK/bin/node"
touch "$WORK/app.js"
write_conf "workers 1" "worker node $WORK/app.js" "connect_timeout 1s" \
    "restart_limit 50 60s"
export PATH="$WORK/bin:$PATH"
start_porter

t0=$(date +%s%N)
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/")
ms=$((($(date +%s%N) - t0) / 1000000))
echo "the client got $code after $ms ms"
[ "$code" = 000 ] || fail "a client got $code from a worker that never acks"
# Three tries of 1 s (connect_timeout) each: about 3.5 s, under ASan too.
# Generous, since what it tells apart is a client let go from one held
# until curl gives up (20 s); the log says why it was let go.
[ $ms -lt 10000 ] || fail "the client waited $ms ms"
grep -q "did not acknowledge a socket" "$WORK/porter.log" ||
    fail "the stuck worker was not found out"
grep -q "closed after 3 workers failed" "$WORK/porter.log" ||
    fail "the client was not closed after 3 tries"
kill -0 "$PORTER_PID" || fail "porter died"
ok "never-acking worker: client closed after $ms ms, porter still up"
