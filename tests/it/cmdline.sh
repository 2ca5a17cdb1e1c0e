#!/bin/bash
# The command line: -t on good and bad files, overrides, -V, -h, and the
# exit codes for a bad conf (1) and an address that cannot be bound (2).
. "${srcdir:-.}/tests/lib.sh"

CONFDIR=${srcdir:-.}/tests/conf

$PORTER -t -c "${srcdir:-.}/conf/porter.conf" > "$WORK/out" 2>&1 ||
    fail "porter -t rejects conf/porter.conf: $(cat "$WORK/out")"
ok "conf/porter.conf passes -t"

for f in "$CONFDIR"/bad/*.conf; do
	want=$(sed -n '1s/^# error: *//p' "$f")
	line=${want%%:*}
	$PORTER -t -c "$f" > "$WORK/out" 2>&1
	rc=$?
	[ $rc = 1 ] || fail "$f: porter -t exited $rc, expected 1"
	grep -q "^$f:$line: " "$WORK/out" ||
	    fail "$f: expected $f:$line:, got: $(cat "$WORK/out")"
done
ok "every bad conf: exit 1 with FILE:LINE"

$PORTER -t -c "$WORK/missing.conf" > "$WORK/out" 2>&1
[ $? = 1 ] || fail "missing conf file: exit code"
grep -q "missing.conf: cannot open" "$WORK/out" || fail "missing: message"

write_conf
$PORTER -t -c "$WORK/porter.conf" -m bogus > "$WORK/out" 2>&1
[ $? = 1 ] || fail "-m bogus accepted"
grep -q "command line: mode" "$WORK/out" || fail "-m bogus: $(cat "$WORK/out")"
$PORTER -t -c "$WORK/porter.conf" -w 0 > /dev/null 2>&1 && fail "-w 0 accepted"
$PORTER -t -c "$WORK/porter.conf" -w auto > /dev/null 2>&1 || fail "-w auto"
$PORTER -t -c "$WORK/porter.conf" -l nonsense > /dev/null 2>&1 &&
    fail "-l nonsense accepted"
$PORTER -x > /dev/null 2>&1
[ $? = 1 ] || fail "unknown option: exit code"
$PORTER -V | grep -q '^porter [0-9]' || fail "-V"
$PORTER -h | grep -q '^usage: porter' || fail "-h"
ok "overrides, -V, -h, usage errors"

# -l and -w override the file.
start_porter -w 3 -l "127.0.0.1:$((WPORT + 7))"
[ "$(ready_count)" = 3 ] || fail "-w 3: $(ready_count) ready"
LPORT=$((WPORT + 7))
[ "$(code /)" = 200 ] || fail "-l: nothing on the new port"
ok "-w 3 and -l take effect"

# A second porter on the same ports cannot bind: exit 2, clear message.
$PORTER -c "$WORK/porter.conf" -l "127.0.0.1:$LPORT" > "$WORK/out" 2>&1
rc=$?
[ $rc = 2 ] || fail "bind conflict: exit $rc, expected 2"
grep -q "cannot listen on 127.0.0.1:$LPORT: Address already in use" \
    "$WORK/out" || fail "bind conflict message: $(cat "$WORK/out")"
ok "address in use: exit 2 with a clear message"

# -s finds the master through the pidfile; a stale pidfile is reported.
$PORTER -c "$WORK/porter.conf" -s stop || fail "-s stop"
wait_exit "$PORTER_PID" 10 || fail "-s stop did not stop porter"
[ "$RC" = 0 ] || fail "porter exited $RC after -s stop"
echo 999999 > "$WORK/porter.pid"
$PORTER -c "$WORK/porter.conf" -s quit > "$WORK/out" 2>&1 && fail "stale -s"
grep -q "stale pidfile" "$WORK/out" || fail "stale: $(cat "$WORK/out")"
ok "-s stop, stale pidfile reported"
