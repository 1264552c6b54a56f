-- wrk script: GET a random path from a file, one path per line; print a JSON summary.
-- Usage: wrk -s bench/lua/paths.lua http://127.0.0.1:PORT -- /path/to/paths.txt
-- init() runs once per wrk thread (each has its own Lua state), done() once at the end.

local paths = {}

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open paths file " .. tostring(args[1]))
  for line in file:lines() do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "no paths in " .. args[1])
  -- A distinct seed per thread: the address of a fresh table differs between Lua states.
  local address = tonumber(string.match(tostring({}), "0x(%x+)") or "0", 16) or 0
  math.randomseed(os.time() + address % 1000003)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], { ["Accept"] = "application/json" })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
