#!/bin/bash
# Round-robin: consecutive requests alternate between the two workers, and
# the answer names the worker, its pid and the mode.
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2"
start_porter

prev=""
seen=""
for i in $(seq 1 10); do
	body=$(get / | head -n 1) || fail "request $i failed"
	case "$body" in
	"handled by worker "[01]", pid "*", via $MODE") ;;
	*) fail "unexpected answer: $body" ;;
	esac
	id=$(echo "$body" | sed 's/handled by worker \([0-9]*\),.*/\1/')
	[ "$id" != "$prev" ] || fail "worker $id answered twice in a row"
	prev=$id
	seen="$seen $id"
done
ok "ids alternate:$seen"

hdr=$(curl -s -m 5 -D - -o /dev/null "http://127.0.0.1:$LPORT/" |
    tr -d '\r' | sed -n 's/^X-Porter-Worker: //p')
case "$hdr" in
0|1) ok "X-Porter-Worker: $hdr" ;;
*) fail "no X-Porter-Worker header" ;;
esac

# The pids in the answers are the pids /status reports.
for pid in $(worker_pids); do
	for i in 1 2 3; do
		get / | grep -q "pid $pid," && continue 2
	done
	fail "no answer from worker pid $pid"
done
ok "answers come from the pids /status shows"

# The master counted each worker's share.
s=$(status)
a=$(jq -r '.workers[0].accepted' <<< "$s")
b=$(jq -r '.workers[1].accepted' <<< "$s")
[ "$a" -ge 6 ] && [ "$b" -ge 6 ] || fail "per-worker accepted: $a $b"
ok "per-worker accepted counts: $a $b"
