#!/bin/bash
# Shared mode: the workers accept on the master's listening socket, or with
# reuseport on each on its own; the master stays out of the data path and
# keeps the sockets open, so a worker restart refuses nobody.
export MODE=shared
. "${srcdir:-.}/tests/lib.sh"

for rp in off on; do
	write_conf "workers 2" "reuseport $rp"
	start_porter
	: > "$WORK/ids"
	for i in $(seq 1 40); do
		body=$(get / | head -n 1) ||
		    fail "reuseport $rp: request $i failed"
		case "$body" in
		*"via shared") ;;
		*) fail "reuseport $rp: unexpected answer: $body" ;;
		esac
		echo "$body" | sed 's/handled by worker \([0-9]*\),.*/\1/' \
		    >> "$WORK/ids"
	done
	if [ $rp = on ]; then
		# 40 connections hashed over 2 sockets: both get some.
		[ "$(sort -u "$WORK/ids" | wc -l)" = 2 ] ||
		    fail "reuseport on: one worker got every connection"
	fi
	[ "$(status_get .master.accepted)" = 0 ] ||
	    fail "the master accepted connections in shared mode"

	set -- $(worker_pids)
	kill -9 "$1"
	for i in $(seq 1 20); do
		[ "$(code /)" = 200 ] ||
		    fail "reuseport $rp: request $i after a kill failed"
	done
	wait_ready 2
	# Reports arrive within 100 ms; together they saw every request.
	wait_for '[ "$(status_get "[.workers[].accepted] | add")" -ge 20 ]'
	total=$(status_get '[.workers[].accepted] | add')
	[ "$total" -ge 20 ] || fail "workers report $total accepted"
	ok "reuseport $rp: 40 requests, a worker killed, 20 more served"
	kill -TERM "$(master_pid)"
	wait_exit "$PORTER_PID" 10 || fail "porter did not stop"
done
