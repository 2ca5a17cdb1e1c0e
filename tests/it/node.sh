#!/bin/bash
# Unmodified Node.js workers (conf/examples/node-MODE.js): distinct worker
# processes answer; a worker's {act: 'suicide'} brings a replacement while
# requests keep succeeding.
. "${srcdir:-.}/tests/lib.sh"

command -v node > /dev/null || fail "node is not installed"
examples

# max_connections below the number of requests made here: a Node worker
# does not report closed sockets, so the master must not count them live.
write_conf "workers 2" "worker node $EX/node-$MODE.js" "max_connections 30"
start_porter

# Concurrent clients, so that in shared mode both processes get to accept.
pids_seen() {
	seq 1 40 | xargs -P 8 -I{} curl -s -m 5 -H 'Connection: close' \
	    "http://127.0.0.1:$LPORT/" > "$WORK/answers"
	n=$(grep -c "^handled by node worker [01], pid [0-9]*, via $MODE$" \
	    "$WORK/answers")
	[ "$n" = 40 ] || fail "$n of 40 answers from node workers"
	grep -o 'pid [0-9]*' "$WORK/answers" | sort -u | wc -l
}
for round in 1 2 3; do
	[ "$(pids_seen)" = 2 ] && break
	[ $round = 3 ] && fail "the answers all came from one process"
done
for pid in $(worker_pids); do
	grep -q "pid $pid," "$WORK/answers" || fail "no answer from pid $pid"
done
ok "$MODE: 40 answers from both node worker processes"

# /crash throws an uncaught exception after answering; the script asks to
# be replaced and exits once its server is closed.
set -- $(worker_pids)
before="$1 $2"
for i in 1 2 3 4; do
	body=$(get /crash)
	victim=$(echo "$body" | sed -n 's/.*pid \([0-9]*\): crashing/\1/p')
	[ -n "$victim" ] && break
done
[ -n "$victim" ] || fail "no worker crashed: $body"
wait_log "replacing it, it asked to be replaced" ||
    fail "the suicide message did not bring a replacement"
wait_for "! kill -0 $victim" || fail "the old worker $victim did not exit"
wait_ready 2
for i in $(seq 1 20); do
	[ "$(code /)" = 200 ] || fail "request $i after the replacement failed"
done
after=$(worker_pids | tr '\n' ' ')
echo "$after" | grep -qw "$victim" && fail "pid $victim still listed"
[ "$(worker_pids | wc -l)" = 2 ] || fail "not 2 workers after: $after"
grep -q "exited with status" "$WORK/porter.log" &&
    fail "the retired worker's exit was taken for a crash"
ok "suicide: pid $victim replaced ($before -> $after), 20/20 served"
grep -q "max_connections (30) reached" "$WORK/porter.log" &&
    fail "closed connections were counted as live"
[ "$MODE" = proxy ] ||
    [ "$(status_get '[.workers[].active] | all(. == null)')" = true ] ||
    fail "/status claims to know a node worker's live connections"
