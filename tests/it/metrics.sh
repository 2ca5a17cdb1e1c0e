#!/bin/bash
# /metrics read by a real Prometheus parser (Debian's python3-prometheus-
# client): the naming rules (one porter_ prefix, counters in _total, HELP
# and TYPE for every family, porter_build_info, bounded labels only), and
# the same figures as /status, across a reload (two generations at once).
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
$PY -c "import prometheus_client" 2> /dev/null ||
    fail "python3-prometheus-client is not installed"

cat > "$WORK/check.py" <<'EOF'
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families

base = sys.argv[1]
def fetch(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.read().decode()

# Read both with nothing moving in between (the test sends no traffic).
text = fetch("/metrics")
st = json.loads(fetch("/status"))
if json.loads(fetch("/status"))["master"]["accepted"] != st["master"]["accepted"]:
    sys.exit("traffic while comparing")

def bad(msg):
    sys.exit("FAIL: " + msg)

helps = [l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")]
types = {l.split()[2]: l.split()[3] for l in text.splitlines()
         if l.startswith("# TYPE ")}
if sorted(helps) != sorted(types):
    bad("HELP and TYPE differ: %s / %s" % (helps, list(types)))
fams = {}
seen = set()
for f in text_string_to_metric_families(text):
    fams[f.name] = f
    if not f.name.startswith("porter_"):
        bad("family without the porter_ prefix: " + f.name)
    if f.type not in ("counter", "gauge"):
        bad("%s: type %s" % (f.name, f.type))
    for s in f.samples:
        if f.type == "counter" and not s.name.endswith("_total"):
            bad("counter sample without _total: " + s.name)
        if set(s.labels) - {"worker", "generation", "version", "mode"}:
            bad("%s: unexpected labels %s" % (s.name, s.labels))
        key = (s.name, tuple(sorted(s.labels.items())))
        if key in seen:
            bad("duplicate series %s" % (key,))
        seen.add(key)
# Every TYPE line names a family the parser saw (counters: without _total).
for name, t in types.items():
    fam = name[:-6] if t == "counter" and name.endswith("_total") else name
    if fam not in fams:
        bad("TYPE %s %s not parsed" % (name, t))

def one(name, **labels):
    fam = name[:-6] if name.endswith("_total") else name
    for s in fams[fam].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    bad("no sample %s %s" % (name, labels))

bi = fams["porter_build_info"].samples[0]
if bi.value != 1 or bi.labels != {"version": st["version"], "mode": st["mode"]}:
    bad("build_info %s" % (bi,))
m = st["master"]
for k, name in (("accepted", "porter_connections_accepted_total"),
                ("relayed", "porter_connections_relayed_total"),
                ("handed_off", "porter_connections_handed_off_total"),
                ("refused", "porter_connections_refused_total"),
                ("active_connections", "porter_connections_active"),
                ("generation", "porter_generation")):
    if one(name) != m[k]:
        bad("%s %s, /status %s %s" % (name, one(name), k, m[k]))
# Per worker slot and generation: the sum of its processes in /status.
want = {}
for w in st["workers"]:
    key = (str(w["id"]), str(w["generation"]))
    acc = want.setdefault(key, [0, 0])
    acc[0] += w["accepted"]
    acc[1] = max(acc[1], 1 if w["state"] == "ready" else 0)
for (wid, gen), (accepted, ready) in want.items():
    if one("porter_worker_connections_total", worker=wid, generation=gen) != accepted:
        bad("worker %s gen %s: accepted differs" % (wid, gen))
    if one("porter_worker_ready", worker=wid, generation=gen) != ready:
        bad("worker %s gen %s: ready differs" % (wid, gen))
if len(fams["porter_worker_ready"].samples) != len(want):
    bad("series %d, worker slots x generations %d" %
        (len(fams["porter_worker_ready"].samples), len(want)))
print("%d families, %d series, %d workers in /status" %
      (len(fams), len(seen), len(st["workers"])))
EOF

write_conf "workers 2" "graceful_timeout 20s" "reload_probation 100ms"
start_porter
for i in $(seq 1 10); do
	[ "$(code /)" = 200 ] || fail "request $i failed"
done
wait_for '[ "$(status_get .master.active_connections)" = 0 ]' ||
    fail "connections still live"
out=$($PY "$WORK/check.py" "http://127.0.0.1:$SPORT") || fail "$out"
ok "/metrics parses, follows the naming rules, equals /status: $out"

# A reload with a connection held open to an old worker: two generations
# in the table, and each keeps its own series.
curl -s -m 30 -o /dev/null "http://127.0.0.1:$LPORT/delay/8000" &
c=$!
wait_for '[ "$(status_get .master.active_connections)" = 1 ]' ||
    fail "the slow request is not live"
kill -HUP "$(master_pid)"
wait_log "reload: done" || fail "reload not done"
wait_for '[ "$(status_get "[.workers[].generation] | unique | length")" = 2 ]' ||
    fail "no two generations in /status"
out=$($PY "$WORK/check.py" "http://127.0.0.1:$SPORT") || fail "$out"
ok "two generations at once: $out"
kill "$c" 2> /dev/null
wait "$c" 2> /dev/null || true
