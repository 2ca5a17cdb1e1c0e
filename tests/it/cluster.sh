#!/bin/bash
# Unmodified Node cluster apps (tests/apps/*-cluster.js, cluster-app.js:
# the `if (cluster.isPrimary) fork() else listen()` idiom, nothing that
# knows porter) under `worker node`, porter being their cluster primary.
#  1. A plain http app: both workers answer; cluster.worker.id is each
#     worker's NODE_UNIQUE_ID, as /status says; its second server, on a
#     port porter does not serve itself, is bound by porter and served
#     by both workers too; a listen() on a port that is taken fails in
#     the app (server.on('error'): EADDRINUSE).
#  2. A worker that calls cluster.worker.disconnect() is replaced at
#     once, not counted by restart_limit, and exits 0; the new worker's
#     id is the next one.
#  3. 4 reloads under wrk (Connection: close): 0 errors; the old workers
#     are told "disconnect" and exit 0.
#  4. A graceful stop with a request in flight: the request is answered,
#     the workers exit 0 (disconnect, no signal). In handoff mode, a
#     worker at its maxConnections refuses a newconn: the client is
#     offered again, and served.
#  5. An Express cluster app (express from npm): both workers answer.
#  6. An https cluster app: both workers answer over TLS; in handoff and
#     shared mode they share the first worker's TLS ticket keys (a
#     primary passes a server's data on to every worker).
#  7. With ready_check listen, a script that never listens is killed at
#     ready_timeout, and the log says why; without it, such a script is
#     taken for a classic one, and the log says so.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-60}
. "${srcdir:-.}/tests/lib.sh"

for t in node wrk curl jq openssl; do
	command -v $t > /dev/null || fail "$t is not installed"
done
NODE=$(command -v node)
mkdir -p "$WORK/apps"
cp "${srcdir:-.}"/tests/apps/*cluster*.js "$WORK/apps/"
chmod -R a+rX "$WORK/apps"

# The pids that answer 16 requests for PATH on port P, sorted, on one
# line; $WORK/answers keeps the answers. Concurrent clients, so that in
# shared mode, where the kernel picks, both workers are likely to get
# some. URL: SCHEME (http), CURL_OPTS.
pids_on() {	# P [PATH]
	seq 1 16 | xargs -P 4 -I{} curl -s -m 5 ${CURL_OPTS:-} \
	    -H 'Connection: close' "${SCHEME:-http}://127.0.0.1:$1${2:-/}" \
	    > "$WORK/answers"
	grep -o 'pid [0-9]*' "$WORK/answers" | awk '{ print $2 }' |
	    sort -un | tr '\n' ' '
}
# Both of porter's workers answer on port P (porter's) within 16 requests.
both_answer() {	# [P] [PATH]
	[ "$(pids_on "${1:-$LPORT}" "${2:-/}")" = \
	    "$(worker_pids | sort -un | tr '\n' ' ')" ]
}

# 1. The plain app, with a second server and one on a taken port
# (porter's own status port).
write_conf "workers 2" "worker node $WORK/apps/cluster-app.js" \
    "reload_probation 500ms" "graceful_timeout 30s" "ready_timeout 60s" \
    "restart_limit 1 60s"
SECOND=$((WPORT + 6))	# pick_ports found WPORT..WPORT+7 free
BUSY=$SPORT
echo "env SECOND_PORT=$SECOND" >> "$WORK/porter.conf"
echo "env BUSY_PORT=$BUSY" >> "$WORK/porter.conf"
echo "env LOG_REQUESTS=1" >> "$WORK/porter.conf"
start_porter

wait_for both_answer || fail "answers from pids $(pids_on $LPORT), not" \
    "$(worker_pids | tr '\n' ' ')"
grep -q "isWorker true" "$WORK/answers" || fail "not a cluster worker"
for i in 0 1; do
	pid=$(status_get ".workers[$i].pid")
	nid=$(status_get ".workers[$i].node.id")
	grep -q "^cluster worker $nid, pid $pid," "$WORK/answers" ||
	    fail "pid $pid does not say cluster.worker.id $nid"
done
[ "$(status_get '[.workers[].node.style] | unique | join(",")')" = \
    cluster ] || fail "/status: styles $(status_get '[.workers[].node]')"
ids=$(status_get '[.workers[].node.id] | sort | join(" ")')
[ "$ids" = "1 2" ] || fail "cluster.worker.id: $ids, not 1 2"
ok "$MODE: a plain cluster app: both workers answer, cluster.worker.id $ids"

wait_for 'both_answer '"$SECOND" ||
    fail "second server on $SECOND: answers from pids $(pids_on $SECOND)"
kind=$(status_get "[.servers[] | select(.listen == \"127.0.0.1:$SECOND\")] |
    .[0] | \"\(.kind) \(.scheduling) \(.workers)\"")
want="extra round-robin 2"
[ "$MODE" = handoff ] || want="extra shared 2"
[ "$kind" = "$want" ] || fail "/status: second server: $kind, not $want"
ok "$MODE: a second server on $SECOND: bound by porter ($kind), both answer"

berr=$(get /bind-error)
[ "$berr" = EADDRINUSE ] || fail "listen() on taken port $BUSY: '$berr'"
grep -q "listen on 127.0.0.1:$BUSY: Address already in use" \
    "$WORK/porter.log" || fail "porter did not log the failed bind"
ok "$MODE: listen() on a taken port: the app got EADDRINUSE, porter logged it"

# 2. A worker that disconnects itself: replaced, twice, with restart_limit
# 1: replacements it asks for are not restarts.  A slot whose worker asks
# again while young (under 2 s) waits out the restart back-off (100 ms
# the second time), which round 2 meets when it lands on round 1's slot.
replaced="replacing it( in [0-9]+ ms)?, it disconnected itself"
for round in 1 2; do
	old=$(worker_pids | tr '\n' ' ')
	maxid=$(status_get '[.workers[].node.id] | max')
	n=$(log_count "$replaced")
	get /disconnect > "$WORK/disc"
	grep -q disconnecting "$WORK/disc" || fail "no /disconnect answer"
	victim=$(sed -n 's/.*pid \([0-9]*\): disconnecting/\1/p' "$WORK/disc")
	wait_log "worker [01] \(pid $victim, generation [0-9]*\) finished, status 0" ||
	    fail "the disconnected worker $victim did not exit 0"
	[ "$(log_count "$replaced")" -gt "$n" ] ||
	    fail "no replacement for $victim"
	wait_ready 2
	wait_for '[ "$(worker_pids | wc -l)" = 2 ]' || fail "not 2 workers"
	newid=$(status_get '[.workers[].node.id] | max')
	[ "$newid" = $((maxid + 1)) ] ||
	    fail "the replacement's cluster.worker.id is $newid, not $((maxid + 1))"
done
grep -q "giving up" "$WORK/porter.log" && fail "porter gave up"
grep -Eq "exited with status|killed by signal" "$WORK/porter.log" &&
    fail "a worker crashed: $(grep -E "exited with|killed by" "$WORK/porter.log")"
ok "$MODE: cluster.worker.disconnect(): replaced twice (restart_limit 1), exits 0, next id $newid"

# 3. Reloads under load.
reloads_under_wrk 4 100
for o in $OLDS; do
	grep -Eq "\(pid $o, generation [0-9]+\) finished, status 0" \
	    "$WORK/porter.log" || fail "old worker $o did not exit 0"
done
grep -Eq "stopped by signal" "$WORK/porter.log" &&
    fail "a retired worker was signalled: $(grep "stopped by" "$WORK/porter.log")"
ok "$MODE: 4 reloads under wrk: $WRK_N requests, 0 errors; old workers disconnected, exit 0"

# 4. Graceful stop (SIGQUIT) with a request in flight: once the app says
# it has the request (LOG_REQUESTS).
t0=$(now_ms)
curl -s -m 20 -o "$WORK/delayed" -w '%{http_code}' \
    "http://127.0.0.1:$LPORT/delay/1500" > "$WORK/delayed.code" &
CURL=$!
wait_log "cluster worker [0-9]+: GET /delay/1500" ||
    fail "the request did not reach a worker"
kill -QUIT "$(master_pid)"
wait_exit "$PORTER_PID" 30 || fail "porter did not stop"
wait "$CURL"
ms=$(($(now_ms) - t0))
[ "$(cat "$WORK/delayed.code")" = 200 ] ||
    fail "the request in flight got $(cat "$WORK/delayed.code")"
n=$(grep -Ec "generation [0-9]+\) finished, status 0" "$WORK/porter.log")
grep -Eq "stopped by signal" "$WORK/porter.log" &&
    fail "a worker was signalled on the graceful stop"
ok "$MODE: graceful stop: the /delay/1500 request answered 200 after $ms ms, workers disconnected and exited 0"

# 4b. Handoff: a worker at its server.maxConnections answers a newconn
# with accepted false; porter offers the client to the other worker, or
# again later, and every client is served.
if [ "$MODE" = handoff ]; then
	write_conf "workers 2" "worker node $WORK/apps/cluster-app.js" \
	    "env MAX_CONNECTIONS=1" "connect_timeout 10s" "ready_timeout 60s" \
	    "restart_limit 1 60s" "graceful_timeout 30s" \
	    "reload_probation 500ms"
	echo "env SECOND_PORT=$SECOND" >> "$WORK/porter.conf"
	start_porter
	seq 1 6 | xargs -P 6 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' \
	    "http://127.0.0.1:$LPORT/delay/700" > "$WORK/codes"
	n=$(grep -c '^200$' "$WORK/codes")
	[ "$n" = 6 ] || fail "$n of 6 clients served: $(tr '\n' ' ' < "$WORK/codes")"
	grep -q "refused a client (closing, or at its maxConnections)" \
	    "$WORK/porter.log" || fail "no worker refused a client"
	[ "$(status_get .master.handed_off)" -ge 6 ] ||
	    fail "/status: handed_off $(status_get .master.handed_off)"
	[ "$(status_get '[.workers[].accepted] | add')" -ge 6 ] ||
	    fail "/status: workers accepted $(status_get '[.workers[].accepted]')"
	ok "$MODE: at maxConnections 1, newconn answered accepted false: offered again, 6/6 served"
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
fi

# 5. Express, from npm.
MODULES=$NODE_MODULES
if [ -f "$MODULES/express/package.json" ]; then
	write_conf "workers 2" "worker node $WORK/apps/express-cluster.js" \
	    "env NODE_PATH=$MODULES" "ready_timeout 60s"
	start_porter
	wait_for both_answer || fail "express: answers from $(pids_on $LPORT)"
	grep -q "^express cluster worker [0-9]*, pid" "$WORK/answers" ||
	    fail "express answered: $(head -n 1 "$WORK/answers")"
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
	ok "$MODE: an unmodified Express cluster app: both workers answer"
else
	echo "express is not installed in $MODULES (scripts/setup.sh's" \
	    "need_express installs it from npm): part 5 skipped"
fi

# 6. https, with a certificate made here.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
    -keyout "$WORK/apps/key.pem" -out "$WORK/apps/cert.pem" 2>/dev/null ||
    fail "openssl cannot make a certificate"
chmod a+r "$WORK/apps/key.pem"
write_conf "workers 2" "worker node $WORK/apps/https-cluster.js" \
    "env TLS_KEY=$WORK/apps/key.pem" "env TLS_CERT=$WORK/apps/cert.pem" \
    "ready_timeout 60s"
start_porter
SCHEME=https CURL_OPTS=-k
wait_for both_answer || fail "https: answers from $(pids_on $LPORT)"
if [ "$MODE" != proxy ]; then
	# /keys: "KEYS pid PID"; until both workers answered it.
	wait_for 'both_answer $LPORT /keys' ||
	    fail "https: /keys from $(pids_on $LPORT /keys)"
	nkeys=$(awk '{ print $1 }' "$WORK/answers" | sort -u | wc -l)
	[ "$nkeys" = 1 ] || fail "https: $nkeys sets of ticket keys, not 1"
	ok "$MODE: https cluster app: both workers answer over TLS, with one set of ticket keys"
else
	ok "$MODE: https cluster app: both workers answer over TLS (their own ports: their own keys)"
fi
SCHEME=http CURL_OPTS=
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# 7. A script that never listens, nor takes handles.
echo "setInterval(() => {}, 1000);" > "$WORK/apps/idle.js"
chmod a+r "$WORK/apps/idle.js"
write_conf "workers 1" "worker node $WORK/apps/idle.js" \
    "ready_check listen" "ready_timeout 3s" "restart_limit 10 60s"
run_porter
wait_log "not ready after 3000 ms: it never called listen\(\) on port" ||
    fail "no clear line for a worker that never listens"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
if [ "$MODE" != proxy ]; then
	write_conf "workers 1" "worker node $WORK/apps/idle.js"
	start_porter
	grep -q "a classic script, given sockets in process.on('message')" \
	    "$WORK/porter.log" || fail "the classic style was not logged"
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
fi
ok "$MODE: a script that never listens: ready_check listen kills it at ready_timeout, saying why"
