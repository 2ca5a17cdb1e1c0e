#!/bin/bash
# The built-in worker's HTTP, through porter: routes, keep-alive,
# pipelining, half-close and the 4xx answers to bad requests.
. "${srcdir:-.}/tests/lib.sh"

# The slow-reader check below reads the master's RSS. Under ASan, freed
# memory waits in a quarantine (256 MB by default), so RSS grows with
# what went through the relay's buffers, not with what they hold; the
# io_uring relay copies what a slow client is owed in 16 KiB pieces, and
# grew 9 MB that way. A small quarantine keeps RSS about what is held.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1

write_conf "workers 2" "header_timeout 1s"
start_porter

[ "$(code /)" = 200 ] || fail "GET / is not 200"
[ "$(code /nope)" = 404 ] || fail "GET /nope is not 404"
[ "$(code / -X POST)" = 405 ] || fail "POST / is not 405"
[ "$(code /bytes/abc)" = 400 ] || fail "/bytes/abc is not 400"
ok "200, 404, 405, 400 on bad arguments"

n=$(curl -s -m 10 "http://127.0.0.1:$LPORT/bytes/3000000" | wc -c)
[ "$n" -eq 3000000 ] || fail "/bytes/3000000 gave $n bytes"
n=$(curl -s -m 10 -I "http://127.0.0.1:$LPORT/bytes/1000" |
    tr -d '\r' | sed -n 's/^Content-Length: //p')
[ "$n" = 1000 ] || fail "HEAD /bytes/1000 Content-Length $n"
ok "/bytes/N: 3 MB body, HEAD has the length"

# A slow reader of a large answer: the master must not buffer it (proxy:
# it stops reading the worker while the client side is full).
# The reader is python, not curl --limit-rate, which averages over seconds
# and lets a loopback download through at full speed: a small receive
# buffer, 64 kB every 10 ms (6 MB/s at most). The body goes to $2 as it
# comes, its status line to $2.head.
slow_get() {
	python3 - "$LPORT" "$1" "$2" <<'PY'
import socket, sys, time
port, path, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(20)
s.connect(("127.0.0.1", port))
s.sendall(b"GET " + path.encode() +
    b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
head = b""
with open(out, "wb", buffering=0) as f:
    while True:
        d = s.recv(65536)
        if not d:
            break
        if head is not None:
            head += d
            if b"\r\n\r\n" not in head:
                continue
            h, d = head.split(b"\r\n\r\n", 1)
            open(out + ".head", "wb").write(h.split(b"\r\n")[0] + b"\n")
            head = None
        f.write(d)
        time.sleep(0.01)
PY
}
# RSS is read once an eighth of the body has arrived: by then the worker
# has sent what it could, and most of the body is still to come. The limit
# is relative to the body: a master that buffers holds most of what is
# to come (less the kernel's socket buffers, up to 4 MB), one that does
# not holds its relay buffers only (and, with relay_io io_uring, its ring
# of buffers, 1 MB). A quarter of the body, to leave room for what ASan
# adds even with a small quarantine (+0.7 MB there, +0.1 MB without).
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$(master_pid)/status"; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
BIG=12000000
r0=$(rss)
slow_get "/bytes/$BIG" "$WORK/big" &
c=$!
wait_for '[ "$(size "$WORK/big")" -ge $((BIG / 8)) ]' ||
    fail "the slow download did not start"
r1=$(rss)
got=$(size "$WORK/big")
wait $c || fail "the slow download failed"
grep -q '^HTTP/1.1 200' "$WORK/big.head" || fail "slow download: not 200"
n=$(wc -c < "$WORK/big")
[ "$n" -eq $BIG ] || fail "slow download: $n bytes of $BIG"
echo "master RSS $r0 kB before, $r1 kB with $got of $BIG bytes delivered"
[ "$got" -lt $((BIG / 2)) ] ||
    fail "RSS read too late: $got of $BIG bytes delivered already"
[ $((r1 - r0)) -lt $((BIG / 1024 / 4)) ] ||
    fail "the master buffered $((r1 - r0)) kB"
ok "slow reader: $BIG bytes delivered, master RSS +$((r1 - r0)) kB"

t0=$(date +%s%N)
body=$(get /delay/300)
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
case "$body" in "delayed 300 ms"*) ;; *) fail "/delay/300: $body" ;; esac
# A floor only: a slow machine can only add to it.
[ $ms -ge 290 ] || fail "/delay/300 answered in $ms ms"
ok "/delay/300 took $ms ms"

# Keep-alive: three requests, one connection.
n=$(curl -s -m 5 -w '%{num_connects}\n' -o /dev/null -o /dev/null \
    -o /dev/null "http://127.0.0.1:$LPORT/" "http://127.0.0.1:$LPORT/" \
    "http://127.0.0.1:$LPORT/" | awk '{ s += $1 } END { print s }')
[ "$n" = 1 ] || fail "keep-alive: $n connections for 3 requests"
ok "keep-alive: 3 requests on 1 connection"

# Pipelining with a half-close: three requests in one write, then FIN.
printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /delay/100 HTTP/1.1\r\nHost: t\r\n\r\nGET /bytes/5 HTTP/1.1\r\nHost: t\r\n\r\n' |
    $TCPCLIENT send "$LPORT" 5 half > "$WORK/pipe.out" ||
    fail "pipelined requests got no answer"
n=$(grep -c '^HTTP/1.1 200' "$WORK/pipe.out")
[ "$n" = 3 ] || fail "pipelining: $n answers, expected 3"
grep -q '^delayed 100 ms' "$WORK/pipe.out" || fail "pipelining: order"
tail -c 5 "$WORK/pipe.out" | grep -q '^xxxxx$' || fail "pipelining: last body"
ok "pipelining + half-close: 3 answers in order"

# HTTP/1.0 closes unless asked to keep alive.
printf 'GET / HTTP/1.0\r\n\r\n' | $TCPCLIENT send "$LPORT" 5 > "$WORK/10.out" ||
    fail "HTTP/1.0 connection was not closed by the server"
grep -q '^Connection: close' "$WORK/10.out" || fail "HTTP/1.0: no close"
ok "HTTP/1.0 without keep-alive is closed"

# Malformed, over-long URL, oversized headers.
printf 'GARBAGE\r\n\r\n' | $TCPCLIENT send "$LPORT" 5 > "$WORK/400.out"
head -n 1 "$WORK/400.out" | grep -q '^HTTP/1.1 400' || fail "garbage is not 400"
long=$(head -c 9000 /dev/zero | tr '\0' a)
[ "$(code "/$long")" = 414 ] || fail "9000-byte URL is not 414"
big=$(head -c 20000 /dev/zero | tr '\0' b)
[ "$(code / -H "X-Big: $big")" = 431 ] || fail "20 kB header is not 431"
ok "400 malformed, 414 long URL, 431 big headers"

# A request head that never finishes gets 408 after header_timeout.
printf 'GET / HTTP/1.1\r\nHost: slow\r\n' |
    $TCPCLIENT send "$LPORT" 5 > "$WORK/408.out" || fail "slow client kept"
head -n 1 "$WORK/408.out" | grep -q '^HTTP/1.1 408' || fail "no 408"
ok "slow request head: 408 after header_timeout"

[ "$(code /)" = 200 ] || fail "porter stopped answering"
