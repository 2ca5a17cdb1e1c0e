#!/bin/bash
# Logs people can ship: log_format json from the master and the built-in
# workers; access_log in text and json, with relay threads and without;
# porter -s reopen after a logrotate-style rename, losing no line; and
# conf/porter.logrotate run by logrotate.
. "${srcdir:-.}/tests/lib.sh"

# (a) log_format json: every line of the log is one JSON object with the
# fields, the master's and the workers' (-v: their debug lines too).
write_conf "workers 2" "log_format json" "mode proxy"
start_porter -v
for i in 1 2 3 4; do
	[ "$(code /)" = 200 ] || fail "GET / failed"
done
wait_log '"subsystem":"worker","worker":1,' ||
    fail "no JSON line from worker 1"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 15 || fail "porter did not stop"
lines=$(grep -c '' "$WORK/porter.log")
[ "$lines" -gt 10 ] || fail "only $lines lines logged"
objects=$(jq -R -r 'fromjson | type' "$WORK/porter.log" | grep -cx object)
[ "$objects" = "$lines" ] || fail "$objects JSON objects in $lines lines"
bad=$(jq -R -c 'fromjson | select(
	(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$") | not)
	or ([.level] | inside(["debug", "info", "warning", "error"]) | not)
	or (.pid | type != "number") or (.subsystem | type != "string")
	or (.msg | type != "string")
	or (.subsystem == "worker" and (.worker | type != "number")))' \
    "$WORK/porter.log")
[ -z "$bad" ] || fail "lines without the fields: $bad"
for sub in master relay; do
	jq -R -r 'fromjson | .subsystem' "$WORK/porter.log" | grep -qx $sub ||
	    fail "no line of subsystem $sub"
done
grep -q '"level":"info",.*"subsystem":"master","msg":"porter .*: proxy mode' \
    "$WORK/porter.log" || fail "no start line"
workers=$(jq -R -r 'fromjson | select(.subsystem == "worker") |
    "\(.worker) \(.pid)"' "$WORK/porter.log" | sort -u | wc -l)
[ "$workers" -eq 2 ] || fail "$workers worker id/pid pairs, expected 2"
ok "log_format json: $lines lines, all JSON objects with the fields"

# One request through porter, from local port $1 (below the ephemeral
# range, picked free): "REQUEST_BYTES RESPONSE_BYTES WORKER" in $WORK/req.
request() {
	local w
	curl -s -m 5 --local-port "$1" -D "$WORK/req.head" -o /dev/null \
	    -w '%{size_request} %{size_header} %{size_download}\n' \
	    "http://127.0.0.1:$LPORT/bytes/1000" > "$WORK/req.sizes" ||
	    fail "curl from port $1 failed"
	w=$(tr -d '\r' < "$WORK/req.head" | sed -n 's/^X-Porter-Worker: //p')
	awk -v w="$w" '{ print $1, $2 + $3, w }' "$WORK/req.sizes" > "$WORK/req"
}

# CPORT: a local port for curl, below the ephemeral range, that no socket
# uses. Below 10000, where pick_ports never looks: curl closes first, and
# its TIME_WAIT would make a listener's bind() on that port fail for a
# minute (a test running beside this one could pick it).
client_port() {
	local tries=0
	while :; do
		tries=$((tries + 1))
		[ $tries -gt 50 ] && fail "no free client port"
		CPORT=$((5000 + (RANDOM + $$) % 5000))
		awk -v p="$(printf ':%04X' $CPORT)" '$2 ~ p "$" { f = 1 }
		    END { exit f }' /proc/net/tcp && port_free $CPORT && return
	done
}

lines_of() {
	if [ -f "$1" ]; then grep -c '' "$1"; else echo 0; fi
}

# The access log line of the connection from local port $1, as
# "CLIENT_PORT LISTENER WORKER WORKER_PORT IN OUT MS END".
access_line() {
	if [ "$FORMAT" = json ]; then
		jq -r --argjson p "$1" 'select(.client_port == $p) |
		    "\(.client_port) \(.listener) \(.worker) \(.worker_port)
		    \(.bytes_in) \(.bytes_out) \(.duration_ms) \(.end)"' \
		    "$WORK/access.log" | tr -s ' \n' ' ' | sed 's/ $//'
	else
		awk -v p=":$1" '$2 ~ p "$" { sub(/.*:/, "", $2);
		    print $2, $3, $4, $5, $6, $7, $8, $9 }' "$WORK/access.log"
	fi
}

# (b) access_log, text and json, with two relay threads and without.
for RELAY_THREADS in "" 0; do
	for FORMAT in text json; do
		what="access_log $FORMAT, relay_threads ${RELAY_THREADS:-2}"
		rm -f "$WORK/access.log"
		write_conf "workers 2" "mode proxy" "idle_timeout 1s" \
		    "access_log $WORK/access.log $FORMAT"
		start_porter
		client_port
		request $CPORT
		read -r in out w < "$WORK/req"
		wport=$(status_get ".workers[] | select(.id == $w) | .port")
		# Three more: a plain one, one the worker closes first, and one
		# that sends nothing until idle_timeout (1s).
		[ "$(code /)" = 200 ] || fail "$what: GET / failed"
		# The worker closes first: we read its answer to the end (its
		# FIN, passed on) before we close.
		exec 3<> "/dev/tcp/127.0.0.1/$LPORT"
		printf 'GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
		timeout 5 cat <&3 | grep -q "handled by worker" ||
		    fail "$what: no answer to Connection: close"
		exec 3>&-
		exec 4<> "/dev/tcp/127.0.0.1/$LPORT"
		wait_for '[ "$(lines_of "$WORK/access.log")" -ge 4 ]' ||
		    fail "$what: $(lines_of "$WORK/access.log") lines, not 4"
		exec 4>&-
		n=$(lines_of "$WORK/access.log")
		[ "$n" -eq 4 ] || fail "$what: $n lines, expected 4"
		if [ "$FORMAT" = json ]; then
			jq -e . "$WORK/access.log" > /dev/null ||
			    fail "$what: not JSON"
		fi
		got=$(access_line $CPORT)
		set -- $got
		[ $# -eq 8 ] || fail "$what: no line for port $CPORT: $got"
		[ "$1 $2 $3 $4 $5 $6" = \
		    "$CPORT 127.0.0.1:$LPORT $w $wport $in $out" ] ||
		    fail "$what: line \"$got\"; curl: in $in out $out," \
		    "worker $w port $wport"
		[ "$8" = closed ] || fail "$what: ended \"$8\", not closed"
		[ "$7" -ge 0 ] 2>/dev/null || fail "$what: duration \"$7\""
		for end in worker-closed idle-timeout; do
			grep -q "$end" "$WORK/access.log" ||
			    fail "$what: no $end line: $(cat "$WORK/access.log")"
		done
		kill -TERM "$(master_pid)"
		wait_exit "$PORTER_PID" 15 || fail "porter did not stop"
		ok "$what: 4 lines; $in bytes in, $out out, worker $w" \
		    "(port $wport), client port $CPORT"
	done
done

# (c) porter -s reopen: logrotate renames the files, porter opens new
# ones; the master's and the workers' lines go on in the new error_log.
# Requests run while it happens (relay threads write the access log
# meanwhile). Every connection has one access line, one relay_close line
# (the master's, -v) and one worker_close line (its worker's): counted
# across the old and the new files, none is lost.
unset RELAY_THREADS
rm -f "$WORK/access.log"
write_conf "workers 2" "mode proxy" "access_log $WORK/access.log" \
    "error_log $WORK/error.log"
start_porter -v
[ "$(stat -c %a "$WORK/error.log")" = 640 ] ||
    fail "error_log made with mode $(stat -c %a "$WORK/error.log")"
grep -q . "$WORK/porter.log" &&
    fail "porter logged to stderr, not error_log: $(head -3 "$WORK/porter.log")"
requests() {
	local i
	for i in $(seq "$1"); do
		[ "$(code /)" = 200 ] || echo "GET / failed"
	done
}
both() {
	echo $(($(grep -c "$1" "$WORK/$2") + $(grep -c "$1" "$WORK/$2.1")))
}
requests 3
wait_for '[ "$(lines_of "$WORK/access.log")" -ge 3 ]' ||
    fail "$(lines_of "$WORK/access.log") access lines, not 3"
requests 20 > "$WORK/burst.out" &
burst=$!
mv "$WORK/access.log" "$WORK/access.log.1"
mv "$WORK/error.log" "$WORK/error.log.1"
"$PORTER" -c "$WORK/porter.conf" -s reopen || fail "porter -s reopen failed"
wait_log "reopened logs" "" "$WORK/error.log" || fail "no reopen logged"
wait_for '[ "$(grep -c "error log reopened" "$WORK/error.log")" -ge 2 ]' ||
    fail "the workers did not take the new error_log"
wait $burst
[ -s "$WORK/burst.out" ] && fail "requests failed: $(sort "$WORK/burst.out" | uniq -c)"
requests 3 | grep . && fail "requests failed after the reopen"
wait_for '[ "$(both "" access.log)" -ge 26 ]' ||
    fail "$(both "" access.log) access lines, not 26"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 15 || fail "porter did not stop"
n=$(both "" access.log)
[ "$n" -eq 26 ] || fail "$n access lines in all, expected 26"
n=$(lines_of "$WORK/access.log")
[ "$n" -ge 3 ] || fail "$n lines in the new access.log, expected 3 or more"
for what in relay_close worker_close; do
	n=$(both "$what: " error.log)
	[ "$n" -eq 26 ] || fail "$n $what lines in all, expected 26"
	n=$(grep -c "$what: " "$WORK/error.log")
	[ "$n" -ge 3 ] || fail "$n $what lines in the new error.log, not 3+"
done
grep -q "exiting with status 0" "$WORK/error.log" ||
    fail "the master's last line is not in the new error_log"
ok "reopen under load: 26 connections, $(lines_of "$WORK/access.log.1") +" \
    "$(lines_of "$WORK/access.log") access lines, none lost"

# (d) A reload applies log_format and access_log: text lines, then JSON
# ones once the new generation took over (its workers' too), and the
# access log from then on.
rm -f "$WORK/access.log"
write_conf "workers 2" "mode proxy" "reload_probation 0"
start_porter -v
[ "$(code /)" = 200 ] || fail "GET / failed"
grep -q '^{' "$WORK/porter.log" && fail "JSON lines before the reload"
echo "log_format json" >> "$WORK/porter.conf"
echo "access_log $WORK/access.log json" >> "$WORK/porter.conf"
"$PORTER" -c "$WORK/porter.conf" -s reload || fail "porter -s reload failed"
wait_log '"msg":"reload: done' || fail "the reload did not finish"
[ "$(code /)" = 200 ] || fail "GET / failed after the reload"
wait_for '[ "$(lines_of "$WORK/access.log")" -ge 1 ]' ||
    fail "no access line after the reload"
wait_log '"subsystem":"worker","worker":[01],"msg":"worker_close' ||
    fail "no JSON line from a new worker"
jq -e '.end == "closed"' "$WORK/access.log" > /dev/null ||
    fail "access line: $(cat "$WORK/access.log")"
ok "reload: text to JSON lines, access_log on"

# (e) conf/porter.logrotate, as shipped, run by logrotate itself (its log
# paths and its porter and conf made the test's): each rotation renames
# both files and runs porter -s reopen; the next one compresses the one
# before (delaycompress). Every request has its access line in exactly
# one of the files, and porter's lines go on in the new error.log.
command -v logrotate > /dev/null ||
    fail "logrotate is not installed (scripts/setup.sh installs it)"
L=$WORK/lr
mkdir -m 755 "$L"
write_conf "workers 2" "mode proxy" "access_log $L/access.log" \
    "error_log $L/error.log"
owner=""
[ "$(id -u)" = 0 ] || owner='s/^\(\s*create 0640\) root root$/\1/;'
sed -e "s|/var/log/porter/|$L/|g" \
    -e "s|/usr/local/sbin/porter -c /usr/local/etc/porter\.conf|$PORTER -c $WORK/porter.conf|" \
    -e "$owner" "${srcdir:-.}/conf/porter.logrotate" > "$WORK/porter.logrotate"
chmod 644 "$WORK/porter.logrotate"
grep -q "$PORTER -c $WORK/porter.conf -s reopen" "$WORK/porter.logrotate" ||
    fail "conf/porter.logrotate has no postrotate that runs porter -s reopen"
start_porter
rotate() {
	logrotate -f -s "$WORK/logrotate.state" "$WORK/porter.logrotate" \
	    > "$WORK/logrotate.out" 2>&1 ||
	    fail "logrotate: $(cat "$WORK/logrotate.out")"
	wait_log "reopened logs" "" "$L/error.log" ||
	    fail "porter did not reopen after logrotate: $(ls "$L")"
}
for round in 1 2 3; do
	requests 5 | grep . && fail "requests failed in round $round"
	wait_for '[ "$(lines_of "$L/access.log")" -ge 5 ]' ||
	    fail "round $round: $(lines_of "$L/access.log") access lines, not 5"
	[ $round = 3 ] || rotate
done
[ -f "$L/access.log.2.gz" ] && [ -f "$L/error.log.2.gz" ] ||
    fail "no compressed second generation: $(ls "$L")"
gzip -t "$L/access.log.2.gz" "$L/error.log.2.gz" || fail "bad gzip files"
n1=$(zcat "$L/access.log.2.gz" | grep -c '')
n2=$(lines_of "$L/access.log.1")
n3=$(lines_of "$L/access.log")
[ "$n1 $n2 $n3" = "5 5 5" ] ||
    fail "access lines per file (.2.gz .1 current): $n1 $n2 $n3, not 5 5 5"
zcat "$L/error.log.2.gz" | grep -q "porter 0.1.0\|porter .*: proxy mode" ||
    fail "the first error.log is not in error.log.2.gz"
grep -q "reopened logs" "$L/error.log.1" ||
    fail "error.log.1 does not start with porter's reopen"
[ "$(stat -c %a "$L/error.log")" = 640 ] ||
    fail "the new error.log has mode $(stat -c %a "$L/error.log")"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 15 || fail "porter did not stop"
grep -q "exiting with status 0" "$L/error.log" ||
    fail "porter's last line is not in the newest error.log"
ok "conf/porter.logrotate with logrotate: 2 rotations, 5 + 5 + 5 access" \
    "lines in access.log.2.gz, .1 and the new one; porter reopened both"
