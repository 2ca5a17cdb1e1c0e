#!/bin/bash
# The built-in worker's HTTP, through porter: routes, keep-alive,
# pipelining, half-close and the 4xx answers to bad requests.
. "${srcdir:-.}/tests/lib.sh"

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
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$(master_pid)/status"; }
r0=$(rss)
curl -s -m 20 --limit-rate 4M -o "$WORK/big" \
    "http://127.0.0.1:$LPORT/bytes/8000000" &
c=$!
sleep 1
r1=$(rss)
wait $c || fail "the slow download failed"
n=$(wc -c < "$WORK/big")
[ "$n" -eq 8000000 ] || fail "slow download: $n bytes of 8000000"
echo "master RSS $r0 kB before, $r1 kB during a slow 8 MB download"
[ $((r1 - r0)) -lt 3000 ] || fail "the master buffered $((r1 - r0)) kB"
ok "slow reader: 8 MB delivered, master RSS +$((r1 - r0)) kB"

t0=$(date +%s%N)
body=$(get /delay/300)
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
case "$body" in "delayed 300 ms"*) ;; *) fail "/delay/300: $body" ;; esac
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
t0=$(date +%s)
printf 'GET / HTTP/1.1\r\nHost: slow\r\n' |
    $TCPCLIENT send "$LPORT" 5 > "$WORK/408.out" || fail "slow client kept"
head -n 1 "$WORK/408.out" | grep -q '^HTTP/1.1 408' || fail "no 408"
ok "slow request head: 408 after header_timeout"

[ "$(code /)" = 200 ] || fail "porter stopped answering"
