#!/bin/bash
# Hostile and broken workers in handoff mode: a worker at its fd limit
# (it NACKs), a worker that claims a huge load, one that floods its
# channel with garbage, one that asks to be replaced at every start.
# Whatever a worker does, the others keep serving and porter's log stays
# readable.
export MODE=handoff
. "${srcdir:-.}/tests/lib.sh"

# $2 requests (one at a time, Connection: close); the count of 200s.
served() {
	local i n=0
	for i in $(seq 1 "$1"); do
		[ "$(code / -H 'Connection: close')" = 200 ] && n=$((n + 1))
	done
	echo $n
}

# --- a worker at its fd limit NACKs: no storm, no kill, nobody dropped.
write_conf "workers 2" "connect_timeout 2s"
start_porter
set -- $(worker_pids)
full=$1
nfd=$(ls /proc/$full/fd | wc -l)
# Room for about 8 more fds: the kernel then hands it messages without
# their fds (MSG_CTRUNC), and it answers NODE_HANDLE_NACK.
# Asked as the worker's own user (root lacks CAP_SYS_RESOURCE here).
as=""
[ "$(id -u)" = 0 ] && as="setpriv --reuid=$(stat -c %u /proc/$full)
    --regid=$(stat -c %g /proc/$full) --clear-groups"
$as prlimit --pid "$full" --nofile=$((nfd + 8)):$((nfd + 8)) ||
    fail "cannot lower worker $full's fd limit"
mkfifo "$WORK/hold"
t0=$(now_ms)
$TCPCLIENT hold "$LPORT" 40 30 request < "$WORK/hold" > "$WORK/c.out" &
cpid=$!
STARTED="$STARTED $cpid"
exec 7> "$WORK/hold"
wait_for 'grep -q "ready 40" "$WORK/c.out"' ||
    fail "40 held clients were not all served"
n=$(served 50)
nacks=$(log_count "got a socket without its fd")
# At most 5 lines and a summary per 10 s (LOG_WINDOW) the storm lasted;
# a loaded machine makes it last more than one window.
windows=$((($(now_ms) - t0) / 10000 + 1))
echo "with worker $full full: 40 held + $n/50 served, $nacks NACK lines" \
    "in $windows log window(s)"
[ "$n" = 50 ] || fail "$n of 50 clients served beside a full worker"
[ "$nacks" -ge 1 ] || fail "the full worker never NACKed: the test is broken"
[ "$nacks" -le $((6 * windows)) ] ||
    fail "$nacks NACK warnings: not rate-limited"
! grep -q "did not acknowledge" "$WORK/porter.log" ||
    fail "a worker was killed for being full"
kill -0 "$full" || fail "the full worker died"
exec 7>&-
wait $cpid || fail "a held client was cut (tcpclient exit $?)"
r=$(status_get .master.refused)
[ "$r" = 0 ] || fail "$r clients refused"
ok "full worker: backed off, not killed; 40 held + 50 new clients served"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# Node workers, each made hostile by a few lines before the classic
# handoff script.
examples
hostile() {
	{ echo "$1"; cat "$EX/node-handoff.js"; } > "$EX/hostile.js"
}

# --- a worker that claims 100000 live connections stops only itself.
hostile "if (process.env.PORTER_WORKER_ID === '0') {
  process.send({cmd: 'PORTER_LOAD', active: 100000});
  setInterval(() => process.send({cmd: 'PORTER_LOAD', active: 100000}), 50);
}"
write_conf "workers 2" "worker node $EX/hostile.js" "max_connections 30"
start_porter
n=$(served 60)
echo "claims of 100000 live: $n/60 served, max_connections 30"
[ "$n" = 60 ] || fail "$n of 60 clients served"
! grep -q "max_connections (30) reached" "$WORK/porter.log" ||
    fail "a worker's claim stopped porter accepting"
ok "a worker's claimed load shapes only its own share"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# --- 200,000 lines of garbage on the channel: a handful of log lines.
hostile "const fs = require('fs');
const junk = Buffer.from('not json\n'.repeat(1000));
const nap = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0, off = 0; i < 200; off = 0, i++) {
  while (off < junk.length) {
    try { off += fs.writeSync(3, junk, off); }
    catch (e) { if (e.code !== 'EAGAIN') throw e; Atomics.wait(nap, 0, 0, 1); }
  }
}"
write_conf "workers 2" "worker node $EX/hostile.js"
start_porter
wait_log "not JSON" || fail "the garbage was not noticed"
[ "$(served 10)" = 10 ] || fail "clients not served after a garbage flood"
n=$(log_count "not JSON")
echo "garbage flood: $n log lines"
[ "$n" -le 12 ] || fail "$n log lines for the flood"
ok "a garbage flood is rate-limited in the log ($n lines)"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# --- a worker that asks for its replacement at every start: the first
# time at once, then with the restart back-off, and never more than 2
# processes finishing at once (each is killed at graceful_timeout).
hostile "process.send({act: 'suicide'});"
write_conf "workers 1" "worker node $EX/hostile.js" "restart_limit 1000 60s" \
    "graceful_timeout 1s"
start_porter
sleep 4		# the storm, if any, runs meanwhile
n=$(log_count "replacing it")
mp=$(master_pid)
procs=$(pgrep -c -P "$mp")
echo "self-replacing worker: $n replacements in 4 s, $procs processes;" \
    "delays: $(grep -o 'replacing it in [0-9]* ms' "$WORK/porter.log" |
    awk '{ print $4 }' | tr '\n' ' ')"
grep -q "replacing it in 100 ms" "$WORK/porter.log" ||
    fail "the second replacement was not backed off"
[ "$n" -le 12 ] || fail "$n replacements in 4 s: no back-off"
[ "$procs" -le 3 ] || fail "$procs worker processes: draining is unbounded"
[ "$(served 10)" = 10 ] || fail "clients not served"
ok "self-replacing worker: $n replacements in 4 s, at most $procs processes"
