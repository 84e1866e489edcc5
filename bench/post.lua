-- wrk script of bench.incidents' load: each thread keeps one connection and POSTs its own
-- request (headers and body from the command line) for wrk's duration.
-- Arguments after "--", per thread: Authorization header, body.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local request_text
answered = 0
failed = 0

function init(args)
  local headers = {["Content-Type"] = "application/json", ["Host"] = "127.0.0.1"}
  local auth = args[1 + id * 2]
  if auth ~= "" then
    headers["Authorization"] = auth
  end
  request_text = wrk.format("POST", nil, headers, args[2 + id * 2])
end

function request()
  return request_text
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
