#!/bin/bash
# FINs that arrive with the last bytes (proxy mode): the relay takes a
# short read that came with EPOLLRDHUP as the last one, so the FIN must
# still be passed on after every byte, both ways, with relay threads and
# without, and the access log must count every byte.
#  (a) the worker answers and closes at once (Connection: close), small
#      and 64 MiB answers: the client gets all of it, then EOF;
#  (b) the client sends its request and its FIN together (HTTP/1.0, then
#      shutdown): it still gets its answer;
#  (c) a client that sends only a FIN: the relay ends, nothing relayed.
. "${srcdir:-.}/tests/lib.sh"

[ "$MODE" = proxy ] || exit 0
BIG=$((64 * 1024 * 1024))

# The access log's "IN OUT END" for the connection from local port $1.
access_of() {
	awk -v p=":$1" '$2 ~ p "$" { print $6, $7, $9 }' "$WORK/access.log"
}

for RELAY_THREADS in "" 0; do
	what="relay_threads ${RELAY_THREADS:-2}"
	rm -f "$WORK/access.log"
	write_conf "workers 2" "access_log $WORK/access.log"
	start_porter

	# (a) Connection: close; the worker's FIN follows its answer. curl
	# reads until the connection closes (not just Content-Length bytes),
	# so it cannot close first: once it had the last byte it could, and
	# a slow porter (TSan) saw that FIN before the worker's.
	n=$(curl -s -m 20 --ignore-content-length -H 'Connection: close' \
	    -o "$WORK/big" \
	    -w '%{size_download} %{local_port} %{size_header}' \
	    "http://127.0.0.1:$LPORT/bytes/$BIG") || fail "$what: 64 MiB failed"
	set -- $n
	[ "$1" = $BIG ] || fail "$what: 64 MiB answer: $1 bytes"
	cport=$2
	hdr=$3
	wait_for '[ -n "$(access_of $cport)" ]' || fail "$what: no access line"
	set -- $(access_of $cport)
	[ "$2" -eq $((BIG + hdr)) ] ||
	    fail "$what: access log says $2 bytes out, sent $((BIG + hdr))"
	[ "$3" = worker-closed ] || fail "$what: ended \"$3\""
	ok "$what: 64 MiB then the worker's FIN: all of it, $2 bytes logged"

	for i in 1 2 3 4 5; do
		out=$(curl -s -m 5 -H 'Connection: close' \
		    "http://127.0.0.1:$LPORT/") || fail "$what: close #$i"
		case "$out" in "handled by worker"*) ;;
		*) fail "$what: close #$i: \"$out\"" ;; esac
	done
	ok "$what: 5 answers that end with the worker's FIN"

	# (b) The request and the client's FIN together.
	printf 'GET /bytes/100000 HTTP/1.0\r\nHost: t\r\n\r\n' |
	    $TCPCLIENT send "$LPORT" 10 half > "$WORK/half.out" ||
	    fail "$what: half-close: no answer"
	size=$(wc -c < "$WORK/half.out")
	head -n 1 "$WORK/half.out" | grep -q '^HTTP/1.[01] 200' ||
	    fail "$what: half-close: $(head -n 1 "$WORK/half.out")"
	[ "$size" -gt 100000 ] || fail "$what: half-close: $size bytes"
	ok "$what: request + FIN in one go: answered in full ($size bytes)"

	# (c) Only a FIN.
	: | $TCPCLIENT send "$LPORT" 5 half > "$WORK/fin.out" ||
	    fail "$what: a bare FIN was not closed"
	[ ! -s "$WORK/fin.out" ] || fail "$what: a bare FIN got an answer"
	wait_for 'grep -q " 0 0 [0-9]* closed" "$WORK/access.log"' ||
	    fail "$what: no \"0 0 closed\" line: $(cat "$WORK/access.log")"
	ok "$what: a bare FIN ends the relay, 0 bytes each way"

	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 15 || fail "porter did not stop"
done
