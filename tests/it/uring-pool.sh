#!/bin/bash
# relay_io io_uring: clients that stop reading do not starve the others.
# Every side owed bytes may hold ring buffers until they are sent; 24
# clients that asked for 20 MB and read nothing would hold more than the
# ring has (64), and then no relay could read at all. A quarter of the
# ring stays for reads: quick requests meanwhile are answered, and a
# 3 MB body still comes whole.
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2" "mode proxy" "relay_io io_uring" "relay_threads 0"
start_porter

python3 - "$LPORT" 24 20 > "$WORK/stalled.out" 2>&1 <<'PY' &
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /bytes/20000000 HTTP/1.1\r\nHost: t\r\n\r\n")
    socks.append(s)
print("stalled", n, flush=True)
time.sleep(secs)                # and never read
PY
stalled=$!
STARTED="$STARTED $stalled"
wait_log '^stalled 24$' "" "$WORK/stalled.out" ||
    fail "the stalled clients did not connect"
sleep 1				# their relays fill what they can

t0=$(now_ms)
for i in $(seq 40); do
	[ "$(code / -m 2)" = 200 ] ||
	    fail "request $i not answered with 24 clients stalled"
done
ms=$(($(now_ms) - t0))
n=$(curl -s -m 10 "http://127.0.0.1:$LPORT/bytes/3000000" | wc -c)
[ "$n" -eq 3000000 ] || fail "3 MB body with 24 clients stalled: $n bytes"
ok "24 clients stalled on 20 MB each: 40 requests in $ms ms, a 3 MB body whole"
kill "$stalled" 2> /dev/null
