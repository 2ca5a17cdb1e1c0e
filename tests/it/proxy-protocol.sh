#!/bin/bash
# PROXY protocol: porter's workers learn the real client in proxy mode
# (proxy_protocol v1 and v2, with and without relay threads); porter takes
# the header from a balancer in front (listen ... proxy_protocol) and is
# strict about it; and it speaks the protocol with HAProxy itself, in
# front of porter (send-proxy, send-proxy-v2) and behind it (accept-proxy).
export MODE=proxy
. "${srcdir:-.}/tests/lib.sh"

HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
[ -x "$HAPROXY" ] || fail "$HAPROXY is not installed (scripts/setup.sh)"

# A free local port for curl, below the ephemeral range: the last two of
# pick_ports' worker ports (2 workers use the first four at most).
client_ports() {
	echo "$((WPORT + 6))-$((WPORT + 7))"
}

# GET / from a chosen local port, to port $1: the answer, then a line
# "port P" with the local port curl used.
get_from() {
	curl -s -m 5 --local-port "$(client_ports)" -w '\nport %{local_port}\n' \
	    "http://127.0.0.1:$1/"
}

stop_porter() {
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
}

# (a) porter to its built-in workers: off shows the master's connection,
# v1 and v2 the client's own port.
for threads in 0 2; do
	for v in off v1 v2; do
		write_conf "workers 2" "proxy_protocol $v" \
		    "relay_threads $threads"
		start_porter
		out=$(get_from "$LPORT") || fail "$v: request failed"
		port=$(echo "$out" | sed -n 's/^port //p')
		client=$(echo "$out" | sed -n 's/^client //p')
		[ -n "$port" ] && [ -n "$client" ] ||
		    fail "$v: no client line or no port: $out"
		if [ $v = off ]; then
			[ "$client" != "127.0.0.1:$port" ] ||
			    fail "off: the worker knows the client's port?"
			case "$client" in
			127.0.0.1:*) ;;
			*) fail "off: unexpected client $client" ;;
			esac
		else
			[ "$client" = "127.0.0.1:$port" ] ||
			    fail "$v: worker saw $client, client is 127.0.0.1:$port"
		fi
		# Keep-alive: the header came once, the second request too.
		n=$(curl -s -m 5 "http://127.0.0.1:$LPORT/" \
		    "http://127.0.0.1:$LPORT/" | grep -c "^handled by")
		[ "$n" = 2 ] || fail "$v: keep-alive: $n answers of 2"
		ok "proxy_protocol $v, relay_threads $threads: worker sees" \
		    "$client (curl from 127.0.0.1:$port)"
		stop_porter
	done
done

# A worker port takes no connection without a header: it closes at once.
write_conf "workers 1" "proxy_protocol v2"
start_porter
body=$(curl -s -m 5 "http://127.0.0.1:$WPORT/")
[ -z "$body" ] || fail "a worker answered a connection without a header"
wait_log "no PROXY header|not a PROXY protocol header" ||
    fail "the worker did not say why it closed"
ok "a worker closes a connection that comes without a PROXY header"
stop_porter

# (b) listen ... proxy_protocol: a header made by hand, then HAProxy.
pp_conf() {
	write_conf "workers 2" "header_timeout 1s" "$@"
	sed -i "s/^listen .*/& proxy_protocol/" "$WORK/porter.conf"
}

pp_conf "proxy_protocol v1"
start_porter
out=$(printf 'PROXY TCP4 203.0.113.7 127.0.0.1 4242 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    "$TCPCLIENT" send "$LPORT" 5)
echo "$out" | grep -q "^client 203.0.113.7:4242" ||
    fail "v1 header by hand: the worker did not see 203.0.113.7:4242: $out"
out=$({ printf '\r\n\r\n\0\r\nQUIT\n\041\041\000\044'
	printf '\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\011'
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001'
	printf '\023\210\000\120'
	printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'; } |
    "$TCPCLIENT" send "$LPORT" 5)
echo "$out" | grep -q "^client \[2001:db8::9\]:5000" ||
    fail "v2 TCP6 header by hand: the worker did not see [2001:db8::9]:5000: $out"
ok "listen proxy_protocol: v1 and v2 (TCP6) headers pass the client on"

# Strict: no header, a bad one, or none in header_timeout: closed, unanswered.
[ "$(code /)" = 000 ] || fail "a request without a header was answered"
out=$(printf 'PROXY TCP4 1.2.3.4 5.6.7.8 01 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n' |
    "$TCPCLIENT" send "$LPORT" 5)
[ -z "$out" ] || fail "a bad header was answered: $out"
start=$(now_ms)
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$LPORT; cat <&3" > /dev/null ||
    fail "a silent connection was not closed"
took=$(($(now_ms) - start))
[ $took -ge 900 ] || fail "a silent connection was closed after $took ms"
wait_log "bad PROXY header.*not a PROXY protocol header" ||
    fail "no warning for a request without a header"
wait_log "bad PROXY header.*v1: bad port" ||
    fail "no warning for a bad port"
wait_log "no PROXY header within header_timeout" ||
    fail "no warning for a silent connection"
ok "listen proxy_protocol: no header, a bad one, none in 1 s: closed"
stop_porter

# HAProxy in front of porter, foreground (-db), killed by pid at the end.
HPORT=$((WPORT + 5))
start_haproxy() {
	"$HAPROXY" -c -q -f "$1" > "$WORK/haproxy-check.log" 2>&1 ||
	    fail "haproxy -c: $(cat "$WORK/haproxy-check.log")"
	timeout -s KILL 120 "$HAPROXY" -db -f "$1" \
	    > "$WORK/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	STARTED="$STARTED $HAPROXY_PID"
	wait_for "! port_free $HPORT" 10 || fail "haproxy did not start"
}

stop_haproxy() {
	kill -TERM "$HAPROXY_PID"
	wait_exit "$HAPROXY_PID" 10 || fail "haproxy did not stop"
}

for send in send-proxy send-proxy-v2; do
	for v in v1 v2; do
		pp_conf "proxy_protocol $v"
		HPORT=$((WPORT + 5))
		cat > "$WORK/front.cfg" <<-EOF
		defaults
		    mode tcp
		    timeout connect 5s
		    timeout client 30s
		    timeout server 30s
		listen front
		    bind 127.0.0.1:$HPORT
		    server porter 127.0.0.1:$LPORT $send
		EOF
		start_porter
		start_haproxy "$WORK/front.cfg"
		out=$(get_from "$HPORT") || fail "$send: request failed"
		port=$(echo "$out" | sed -n 's/^port //p')
		client=$(echo "$out" | sed -n 's/^client //p')
		[ -n "$port" ] && [ "$client" = "127.0.0.1:$port" ] ||
		    fail "haproxy $send, porter $v: worker saw '$client'," \
		    "client is 127.0.0.1:$port: $out"
		ok "haproxy $send -> porter listen proxy_protocol ->" \
		    "proxy_protocol $v -> worker sees $client"
		stop_haproxy
		stop_porter
	done
done

# porter in front of HAProxy (accept-proxy) as its exec workers: each
# binds the PORT porter gives it, and answers with the source it sees.
cat > "$WORK/back.cfg" <<'EOF'
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend back
    bind "127.0.0.1:${PORT}" accept-proxy
    http-request return status 200 content-type text/plain lf-string "haproxy saw %[src]:%[src_port]"
EOF
chmod 644 "$WORK/back.cfg"
for v in v1 v2; do
	# ready_check http: the check, too, must start with a header.
	write_conf "workers 2" "proxy_protocol $v" "ready_check http /" \
	    "worker exec $HAPROXY -db -f $WORK/back.cfg"
	start_porter
	[ "$(status_get '[.workers[].ready_by] | unique | join(",")')" = http ] ||
	    fail "$v: haproxy workers not ready by http: $(status_get '[.workers[].ready_by]')"
	for i in 1 2; do
		out=$(get_from "$LPORT") || fail "$v: request $i failed"
		port=$(echo "$out" | sed -n 's/^port //p')
		[ -n "$port" ] && echo "$out" | grep -qx "haproxy saw 127.0.0.1:$port" ||
		    fail "porter $v -> haproxy accept-proxy: $out"
	done
	ok "porter proxy_protocol $v -> haproxy accept-proxy sees" \
	    "127.0.0.1:$port (ready_check http with a LOCAL header)"
	stop_porter
done
