-- wrk script for hack/bench/tickets. TICKETS_MODE=submit: each request POSTs a new ticket
-- (ids bench-<thread>-<n>) to /invoicing/v2/tickets; TICKETS_MODE=read: each request GETs one of
-- TICKETS_READ tickets by id. Counts answers other than 201 (submit) or 200 (read).
local mode = os.getenv("TICKETS_MODE")
local count = tonumber(os.getenv("TICKETS_READ") or "1")
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
  first_wrong = ""
  n = 0
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TICKETS_TOKEN")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  if mode == "submit" then
    local body = string.format(
      '{"id": "bench-%d-%d-%d", "merchant": "bench", "data": {"total": %d, "rfc": "XAXX010101000"}}',
      tonumber(os.getenv("TICKETS_RUN") or "0"), id, n, n)
    return wrk.format("POST", wrk.path, nil, body)
  end
  return wrk.format("GET", wrk.path .. "/warm-" .. (n % count), nil, nil)
end

function response(status, headers, body)
  local expected = mode == "submit" and 201 or 200
  if status ~= expected then
    wrong = wrong + 1
    if first_wrong == "" then
      first_wrong = status .. " " .. body
    end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("wrong")
    if thread:get("first_wrong") ~= "" then
      io.write("first wrong answer: " .. thread:get("first_wrong") .. "\n")
    end
  end
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f wrong=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
