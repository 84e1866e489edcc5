-- wrk script of bench.incidents' load: each thread keeps one connection and POSTs its own
-- requests (headers and bodies from the command line), in turns, for wrk's duration.
-- Arguments after "--", per thread: Authorization header, bodies (one per line).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local request_texts = {}
local sent = 0
answered = 0
failed = 0

function init(args)
  local headers = {["Content-Type"] = "application/json", ["Host"] = "127.0.0.1"}
  local auth = args[1 + id * 2]
  if auth ~= "" then
    headers["Authorization"] = auth
  end
  for body in string.gmatch(args[2 + id * 2], "[^\n]+") do
    table.insert(request_texts, wrk.format("POST", nil, headers, body))
  end
end

function request()
  sent = sent + 1
  return request_texts[(sent - 1) % #request_texts + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 201 then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local answers, failures = 0, 0
  for _, thread in ipairs(threads) do
    answers = answers + thread:get("answered")
    failures = failures + thread:get("failed")
  end
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "RESULT %d %d %d %.3f %.3f %.3f %.3f %.3f\n",
    answers, failures, socket_errors, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
