#!/bin/bash
# Weights: 10,000 connections through porter to three remote backends of
# weights 1, 2 and 5, and a backup: each primary gets its share within
# 5 %, the backup nothing. Then balance least-conn (by reload: the
# targets keep their counters): 8 connections held open spread 1, 2, 5
# (the fewest live connections per unit of weight). Then the primaries
# go to maint (control socket) and the backup takes everything.
. "${srcdir:-.}/tests/lib.sh"
. "${srcdir:-.}/tests/lib-upstream.sh"

N=10000
pick_backend_port 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
T1=127.0.0.2:$BPORT
T2=127.0.0.3:$BPORT
T5=127.0.0.4:$BPORT
TB=127.0.0.5:$BPORT
start_backend back "$T1" "$T2" "$T5" "$TB"
write_conf "workers 0" "upstream $T1" "upstream $T2 weight 2" \
    "upstream $T5 weight 5" "upstream $TB backup" \
    "control $WORK/control.sock" "reload_probation 0"
start_porter
wait_for '[ "$(status_get ".targets | length")" = 4 ]' ||
    fail "4 targets not in /status"

# totals: "T1 T2 T5 TB" connections so far.
totals() {
	status_get --arg a "$T1" --arg b "$T2" --arg c "$T5" --arg d "$TB" \
	    '[.targets[] | {key: .name, value: .total}] | from_entries |
	    "\(.[$a]) \(.[$b]) \(.[$c]) \(.[$d])"'
}

# run LABEL N CLIENTS: N connections from CLIENTS clients at once; the
# shares of the connections since the last totals are checked.
run() {
	local before after i w got want n=$2 pids=""
	before=($(totals))
	for i in $(seq 1 "$3"); do
		"$TCPCLIENT" conns "$LPORT" $((n / $3)) > "$WORK/c$i.out" &
		pids="$pids $!"
	done
	for i in $pids; do
		wait "$i" || fail "$1: $(cat "$WORK"/c*.out)"
	done
	wait_for '[ "$(status_get .master.active_connections)" = 0 ]' ||
	    fail "connections still live"
	after=($(totals))
	for i in 0 1 2; do
		w=$(( i == 0 ? 1 : i == 1 ? 2 : 5 ))
		got=$((after[i] - before[i]))
		want=$((n * w / 8))
		[ $(( (got - want) * 100 / want )) -le 5 ] &&
		    [ $(( (want - got) * 100 / want )) -le 5 ] ||
		    fail "$1: weight $w got $got of $n, share $want"
	done
	[ $((after[3] - before[3])) = 0 ] ||
	    fail "$1: the backup got $((after[3] - before[3]))"
	ok "$1: $n connections: weight 1 $((after[0] - before[0])), weight 2 $((after[1] - before[1])), weight 5 $((after[2] - before[2])) (shares $((n / 8)) $((n / 4)) $((n * 5 / 8))), backup 0"
}

run round-robin "$N" 2
sed -i 's/^upstream /balance least-conn\nupstream /;' "$WORK/porter.conf"
sed -i '0,/^balance least-conn$/!{/^balance least-conn$/d}' "$WORK/porter.conf"
ctl reload > /dev/null || fail "reload refused"
wait_log "reload: done" || fail "reload not done"
[ "$(status_get .balance)" = least-conn ] || fail "balance is not least-conn"
# 8 connections held open: the fewest per unit of weight each time.
exec 5< <(sleep 60)
"$TCPCLIENT" hold "$LPORT" 8 30 request <&5 > "$WORK/hold.out" &
h=$!
wait_for '[ "$(cat "$WORK/hold.out")" = "ready 8" ]' || fail "8 connections not up"
act=$(status_get --arg a "$T1" --arg b "$T2" --arg c "$T5" \
    '[.targets[] | {key: .name, value: .active}] | from_entries |
    "\(.[$a]) \(.[$b]) \(.[$c])"')
[ "$act" = "1 2 5" ] || fail "least-conn: 8 live connections spread $act, not 1 2 5"
kill "$h"
wait "$h" 2> /dev/null
exec 5<&-
ok "least-conn: 8 live connections spread 1 2 5"

# No primary up: the backup takes it all.
for t in "$T1" "$T2" "$T5"; do
	ctl set upstream "$t" maint > /dev/null || fail "set $t maint"
done
b=$(target_get "$TB" total)
"$TCPCLIENT" conns "$LPORT" 100 > /dev/null || fail "requests to the backup failed"
[ "$(target_get "$TB" total)" = $((b + 100)) ] ||
    fail "the backup got $(( $(target_get "$TB" total) - b )) of 100"
ok "the primaries in maint: the backup took 100 of 100"
