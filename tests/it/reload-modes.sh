#!/bin/bash
# Reload across modes and worker kinds while a client keeps asking, a
# listen change refused by reload, and readiness: a client that arrives
# before any worker is ready waits for one instead of failing.
. "${srcdir:-.}/tests/lib.sh"

write_conf "workers 2" "mode proxy"
start_porter

# A client asking all the time: every request must succeed.
(
	while :; do
		c=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
		    "http://127.0.0.1:$LPORT/")
		echo "$c" >> "$WORK/codes"
	done
) &
STARTED="$STARTED $!"
loop=$!

# Reload into mode $1, then let the client make 3 requests in it.
switch() {
	local n
	sed -i "s/^mode .*/mode $1/" "$WORK/porter.conf"
	n=$(log_count "reload: done")
	kill -HUP "$(master_pid)"
	wait_for "[ \$(log_count 'reload: done') -gt $n ]" ||
	    fail "reload to $1 not done"
	get / | grep -q "via $1\$" || fail "not in $1 mode after reload"
	[ "$(status_get .mode)" = "$1" ] || fail "/status: not $1"
	n=$(wc -l < "$WORK/codes")
	wait_for "[ \$(wc -l < '$WORK/codes') -ge $((n + 3)) ]" ||
	    fail "the client stopped asking in $1 mode"
}
switch handoff
switch shared
switch proxy
switch shared
switch handoff
kill "$loop"
wait "$loop" 2>/dev/null
total=$(wc -l < "$WORK/codes")
bad=$(grep -vc '^200$' "$WORK/codes")
echo "$total requests across 5 mode changes, $bad not 200"
[ "$total" -gt 20 ] || fail "the client made only $total requests"
[ "$bad" = 0 ] || fail "$bad requests failed across mode changes"
ok "reload: proxy -> handoff -> shared -> proxy -> shared -> handoff"

# Changing listen by reload is refused; the old one keeps serving.
sed -i "s/^listen .*/listen 127.0.0.1:$((WPORT + 7))/" "$WORK/porter.conf"
kill -HUP "$(master_pid)"
wait_log "listen cannot change by reload" ||
    fail "a listen change was not refused"
[ "$(code /)" = 200 ] || fail "not serving after a refused reload"
ok "listen change refused by reload, still serving"
kill -TERM "$(master_pid)"
wait_exit "$PORTER_PID" 10 || fail "porter did not stop"

# Readiness: workers that take a second to listen. A client that comes
# at once is not sent to a closed port: it waits, then gets its answer.
write_conf "workers 2" "mode proxy" "connect_timeout 5s" \
    'worker exec /bin/sh -c "sleep 1; exec python3 -m http.server {port} --bind 127.0.0.1"'
(cd "$WORK" && exec timeout -s KILL 60 "$PORTER" -c "$WORK/porter.conf" \
    > "$WORK/porter.log" 2>&1) &
PORTER_PID=$!
STARTED="$STARTED $PORTER_PID"
wait_for '! port_free $LPORT' || fail "porter does not listen"
t0=$(date +%s%N)
c=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/")
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$c" = 200 ] || fail "early client got $c"
[ $ms -ge 500 ] || fail "answered in $ms ms: before the workers were up?"
grep -q "ready on port" "$WORK/porter.log" || fail "no worker became ready"
ok "a client before any worker was ready waited $ms ms, then got 200"
