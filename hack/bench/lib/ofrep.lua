-- wrk script for hack/bench/flags: one OFREP evaluation per request, as tenant bench-0.
-- Counts answers other than 200 so the benchmark can fail on them (wrk only counts non-2xx/3xx).
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OFREP_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"context": {"targetingKey": "bench-0"}}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
  first_wrong = ""
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"key":"bench%-flag%-0"', 1) then
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
    if total > 0 and thread:get("first_wrong") ~= "" then
      io.write("first wrong answer: " .. thread:get("first_wrong") .. "\n")
    end
  end
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f wrong=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
