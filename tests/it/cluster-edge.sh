#!/bin/bash
# Node cluster apps at the edges of porter's cluster primary
# (tests/apps/late-cluster.js, which listens when the test says so).
#  1. listen(0, '127.0.0.1') is bound there and /status says where; a
#     queryServer for an address that does not parse is named in the log.
#  2. A worker that disconnects itself soon after it started, again and
#     again, is replaced with the back-off but not counted by
#     restart_limit (1 here), nor killed when its channel closes: each
#     exits 0.
#  3. handoff and shared: an app that calls listen() late is taken for a
#     classic script at first, and given clients the classic way (handoff:
#     a socket; shared: porter's listening socket, which its Node then
#     accepts on for nobody). When it listens, porter replaces it, and the
#     replacement waits for its listen(): every client is served after.
#     proxy: nothing to tell apart, no classic script is logged.
#  4. handoff: a worker at its maxConnections refuses a burst of newconns:
#     the back-off doubles once for the burst, not once per client.
#  5. Two listen lines: handoff and proxy modes serve both to an app that
#     listens on PORT; in shared mode its Node takes one socket, and
#     porter says that the other line is not served.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-60}
. "${srcdir:-.}/tests/lib.sh"

for t in node curl jq; do
	command -v $t > /dev/null || fail "$t is not installed"
done
mkdir -p "$WORK/apps" "$WORK/go"
cp "${srcdir:-.}"/tests/apps/late-cluster.js "$WORK/apps/"
chmod -R a+rX "$WORK/apps" "$WORK/go"
APP=$WORK/apps/late-cluster.js

stop_porter() {
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
}

# 1. listen(0) on 127.0.0.1, and an address that does not parse.
write_conf "workers 2" "worker node $APP" "env ZERO=1" "env BAD_QUERY=1" \
    "ready_timeout 60s"
start_porter
zp=$(get /zero)
[ -n "$zp" ] && [ "$zp" -gt 0 ] || fail "GET /zero: '$zp'"
where=$(status_get ".servers[] | select(.key == \"127.0.0.1:0:4:undefined:0\") |
    .listen")
[ "$where" = "127.0.0.1:$zp" ] ||
    fail "/status: listen(0, '127.0.0.1') is at '$where', not 127.0.0.1:$zp"
curl -s -m 5 "http://127.0.0.1:$zp/" | grep -q "^late cluster worker" ||
    fail "nothing answers on 127.0.0.1:$zp"
[ "$(get /bad)" = -22 ] || fail "queryServer for [::zz]: errno $(get /bad)"
grep -q "listen on \[::zz\]:0: Invalid argument" "$WORK/porter.log" ||
    fail "the bad address is not named: $(grep -a "listen on" \
    "$WORK/porter.log" | cat -v)"
stop_porter
ok "$MODE: listen(0, '127.0.0.1') shown as 127.0.0.1:$zp; a bad address is named in the log"

# 2. Self-disconnect, young: replaced three times with restart_limit 1.
write_conf "workers 1" "worker node $APP" "env DISCONNECT_MS=100" \
    "restart_limit 1 60s" "ready_timeout 60s"
start_porter
wait_for '[ "$(log_count "replacing it.*it disconnected itself")" -ge 3 ]' ||
    fail "not replaced three times"
wait_ready 1
grep -q "giving up" "$WORK/porter.log" && fail "porter gave up"
grep -Eq "exited with status|killed by signal" "$WORK/porter.log" &&
    fail "a worker that disconnected itself counted as a crash:" \
    "$(grep -E "exited with|killed by" "$WORK/porter.log")"
stop_porter
ok "$MODE: a worker that disconnects itself young: replaced with the back-off, exits 0, not counted (restart_limit 1)"

# 3. A late listen(). Worker 1 listens once go-1 exists, its replacement
# once go-2 does.
if [ "$MODE" = proxy ]; then
	# Nothing to tell apart: a worker that has not listened by its
	# ready_timeout is killed for that, never taken for a classic script.
	write_conf "workers 1" "worker node $APP" "env GO_DIR=$WORK/go" \
	    "ready_timeout 2s" "restart_limit 10 60s"
	run_porter
	wait_log "not ready after 2000 ms: it never called listen\(\)" ||
	    fail "no ready_timeout"
	grep -q "classic script" "$WORK/porter.log" &&
	    fail "proxy mode took a worker for a classic script:" \
	    "$(grep "classic script" "$WORK/porter.log")"
	touch "$WORK/go/go-2"
	wait_ready 1
	grep -q "classic script" "$WORK/porter.log" &&
	    fail "proxy mode: $(grep "classic script" "$WORK/porter.log")"
	stop_porter
	ok "$MODE: a late listen() is waited for (ready_timeout), no classic script in the log"
else
	write_conf "workers 1" "worker node $APP" "env GO_DIR=$WORK/go" \
	    "ready_timeout 60s" "restart_limit 1 60s" "connect_timeout 10s"
	start_porter	# ready as a classic script
	[ "$(status_get '.workers[0].node.style')" = classic ] ||
	    fail "/status: $(status_get -c '.workers[0].node')"
	if [ "$MODE" = handoff ]; then
		# A client now goes to it as a classic socket: never served.
		curl -s -m 50 -o /dev/null "http://127.0.0.1:$LPORT/" &
		LOST=$!
		wait_for '[ "$(status_get .master.handed_off)" -ge 1 ]' ||
		    fail "the client was not handed off"
	fi
	touch "$WORK/go/go-1"
	wait_log "called listen\(\) on porter's port after it was taken for a classic script" ||
	    fail "a late listen() went unnoticed"
	wait_log "replacing it, it was taken for a classic script" ||
	    fail "the worker taken for a classic script was not replaced"
	wait_log "waiting for it: .*late-cluster.js called listen\(\) late before" ||
	    fail "the replacement was taken for a classic script too"
	[ "$(status_get '.workers[0].state')" = starting ] ||
	    fail "/status: the replacement is $(status_get '.workers[0].state')"
	touch "$WORK/go/go-2"
	wait_ready 1
	[ "$(status_get '.workers[0].node.style')" = cluster ] ||
	    fail "/status: $(status_get -c '.workers[0].node')"
	# Every client served: none accepted by a server nobody serves.
	seq 1 30 | xargs -P 6 -I{} curl -s -m 5 -o /dev/null -w '%{http_code}\n' \
	    "http://127.0.0.1:$LPORT/" > "$WORK/codes"
	n=$(grep -c '^200$' "$WORK/codes")
	[ "$n" = 30 ] || fail "$n of 30 clients served after the late listen()"
	if [ "$MODE" = handoff ]; then
		# The client it was given went with it, not at curl's -m 50.
		wait_exit "$LOST" 20 || fail "the client given to it still hangs"
	fi
	grep -q "giving up" "$WORK/porter.log" && fail "porter gave up"
	stop_porter
	ok "$MODE: a late listen(): the worker taken for a classic script is replaced, the replacement waits for listen(), 30/30 served"
fi

# 4. Handoff: a burst of refusals. The worker listens (ready_check listen)
# once the holder and four clients wait: the holder goes first and takes
# its one connection, then porter accepts the four and sends them at once;
# they are refused together.
if [ "$MODE" = handoff ]; then
	rm -f "$WORK"/go/*
	write_conf "workers 1" "worker node $APP" "env GO_DIR=$WORK/go" \
	    "env MAX_CONNECTIONS=1" "ready_check listen" "ready_timeout 60s" \
	    "connect_timeout 20s"
	run_porter
	wait_for '[ "$(status_get .workers[0].state)" = starting ]' ||
	    fail "porter did not start"
	exec 3<> "/dev/tcp/127.0.0.1/$LPORT"
	wait_for '[ "$(status_get .master.accepted)" -ge 1 ]' ||
	    fail "the holder was not accepted"
	for i in 1 2 3 4; do
		curl -s -m 30 -o /dev/null -w '%{http_code}\n' \
		    "http://127.0.0.1:$LPORT/" > "$WORK/code.$i" 3>&- &
		eval "C$i=\$!"
	done
	# porter holds the holder, the four wait in its listener's backlog.
	wait_for '[ "$(conns_to $LPORT)" -ge 5 ]' ||
	    fail "the four clients did not connect"
	touch "$WORK/go/go-1"
	wait_for '[ "$(log_count "refused a client")" -ge 4 ]' ||
	    fail "the worker at maxConnections refused no client"
	backoffs=$(grep "refused a client" "$WORK/porter.log" | head -n 4 |
	    sed 's/.*none for it for \([0-9]*\) ms.*/\1/' | tr '\n' ' ')
	[ "$backoffs" = "100 100 100 100 " ] ||
	    fail "one burst of refusals made the back-off $backoffs"
	exec 3>&-
	for i in 1 2 3 4; do
		eval "wait_exit \$C$i 30" || fail "client $i was not served"
		[ "$(cat "$WORK/code.$i")" = 200 ] ||
		    fail "client $i got $(cat "$WORK/code.$i")"
	done
	stop_porter
	ok "$MODE: four newconns refused at once (maxConnections): one back-off of 100 ms, then all served"
fi

# 5. Two listen lines.
write_conf "workers 1" "worker node $APP" "ready_timeout 60s"
SECOND=$((WPORT + 7))
echo "listen 127.0.0.1:$SECOND" >> "$WORK/porter.conf"
start_porter
[ "$(code /)" = 200 ] || fail "nothing answers on $LPORT"
if [ "$MODE" = shared ]; then
	wait_log "127.0.0.1:$LPORT: in shared mode a cluster app's listen\(\) gets this listen line's socket only" ||
	    fail "no word of the listen line nobody serves"
	ok "$MODE: two listen lines: the one a cluster app does not serve is logged"
else
	[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$SECOND/")" = 200 ] ||
	    fail "the second listen line $SECOND is not served"
	ok "$MODE: two listen lines: both served by a cluster app on PORT"
fi
stop_porter
