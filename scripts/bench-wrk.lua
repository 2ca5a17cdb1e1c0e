-- scripts/bench-wrk.lua: wrk reports one run of scripts/bench as CSV rows
-- (front,round,scenario,metric,value) appended to $BENCH_CSV from its
-- done() hook, so that nothing scrapes wrk's text. $BENCH_FRONT,
-- $BENCH_ROUND and $BENCH_SCENARIO label the rows: done() runs in wrk's
-- main Lua state, which never sees the arguments given after "--", only
-- the environment.
--
-- With BENCH_COUNT set (the fairness scenario) it also counts answers by
-- their X-Porter-Worker header. Only then is response() defined: with it
-- wrk parses every answer's headers and calls Lua for each, which would
-- slow down the throughput scenarios.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

if os.getenv("BENCH_COUNT") then
  function init(args)
    counts = {}
  end

  function response(status, headers, body)
    local id = headers["X-Porter-Worker"] or headers["x-porter-worker"]
        or "none"
    counts[id] = (counts[id] or 0) + 1
  end
end

-- Answers per worker, summed over wrk's threads; max/min and Jain's
-- index over the workers that answered (inf and 0 if fewer than two did).
local function fairness(put)
  local total, ids = {}, {}
  for _, t in ipairs(threads) do
    for id, n in pairs(t:get("counts") or {}) do
      if not total[id] then table.insert(ids, id) end
      total[id] = (total[id] or 0) + n
    end
  end
  table.sort(ids)
  local k, sum, sum2, max, min = 0, 0, 0, 0, nil
  for _, id in ipairs(ids) do
    local n = total[id]
    put("answers_" .. (id:gsub("[^%w_-]", "_")), "%d", n)
    k, sum, sum2 = k + 1, sum + n, sum2 + n * n
    if n > max then max = n end
    if not min or n < min then min = n end
  end
  put("workers", "%d", k)
  if k < 2 or min <= 0 then
    put("max_min", "%s", "inf")
    put("jain", "%s", "0")
  else
    put("max_min", "%.3f", max / min)
    put("jain", "%.4f", sum * sum / (k * sum2))
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(assert(os.getenv("BENCH_CSV")), "a"))
  local label = os.getenv("BENCH_FRONT") .. "," ..
      (os.getenv("BENCH_ROUND") or "0") .. "," ..
      os.getenv("BENCH_SCENARIO") .. ","
  local function put(metric, fmt, value)
    out:write(label .. metric .. "," .. string.format(fmt, value) .. "\n")
  end
  local secs = summary.duration / 1e6	-- wrk counts microseconds

  put("duration_s", "%.3f", secs)
  put("requests", "%d", summary.requests)
  put("req_s", "%.2f", summary.requests / secs)
  put("bytes", "%d", summary.bytes)
  put("bytes_s", "%.0f", summary.bytes / secs)
  for _, p in ipairs({ 50, 90, 99 }) do
    put("p" .. p .. "_ms", "%.3f", latency:percentile(p) / 1000)
  end
  put("max_ms", "%.3f", latency.max / 1000)
  -- status: answers other than 2xx and 3xx.
  for _, kind in ipairs({ "connect", "read", "write", "status", "timeout" }) do
    put("errors_" .. kind, "%d", summary.errors[kind])
  end
  if os.getenv("BENCH_COUNT") then fairness(put) end
  out:close()
end
