-- wrk script of the benchmark: one pre-built request body per request.
--
-- Arguments after "--": BODY_FILE THREAD_COUNT [close]. Each line of
-- BODY_FILE is a form-encoded body of POST /oidc/token with its own GitHub
-- token. Thread i (from 0) takes the lines whose index modulo THREAD_COUNT
-- is i, and its request() hands out each of them once. A thread that runs
-- out of lines stops and reports it, because wrk would otherwise count its
-- idle time as part of the run. With "close", every request carries
-- "Connection: close", so that each new connection may go to another
-- gunicorn worker. Without arguments, each request is a plain GET of the
-- URL's path.
--
-- done() prints one line, "BENCH_RESULT {json}", with the counts, the
-- latency percentiles in microseconds and the number of responses per status.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  body_count = 0
  next_body = 1
  exhausted = 0
  statuses = {}
  post_mode = args[1] ~= nil
  if post_mode then
    local thread_count = tonumber(args[2])
    local line_index = 0
    for line in io.lines(args[1]) do
      if line_index % thread_count == thread_index then
        body_count = body_count + 1
        bodies[body_count] = line
      end
      line_index = line_index + 1
    end
  end
  post_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if args[3] == "close" then
    post_headers["Connection"] = "close"
  end
end

function request()
  if not post_mode then
    return wrk.format("GET", wrk.path)
  end
  if next_body > body_count then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/oidc/audience")
  end
  local body = bodies[next_body]
  bodies[next_body] = nil
  next_body = next_body + 1
  return wrk.format("POST", wrk.path, post_headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

local function json_object(values)
  local parts = {}
  for name, value in pairs(values) do
    table.insert(parts, string.format("%q:%d", tostring(name), value))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local statuses_total = {}
  local exhausted_threads = 0
  local bodies_sent = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      statuses_total[status] = (statuses_total[status] or 0) + count
    end
    exhausted_threads = exhausted_threads + thread:get("exhausted")
    bodies_sent = bodies_sent + thread:get("next_body") - 1
  end
  local errors = summary.errors
  local result = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"bodies_sent":%d', bodies_sent),
    string.format('"exhausted_threads":%d', exhausted_threads),
    string.format('"latency_mean_us":%.1f', latency.mean),
    string.format('"latency_max_us":%d', latency.max),
    string.format('"p50_us":%d', latency:percentile(50.0)),
    string.format('"p90_us":%d', latency:percentile(90.0)),
    string.format('"p99_us":%d', latency:percentile(99.0)),
    string.format(
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
      errors.connect, errors.read, errors.write, errors.timeout
    ),
    '"statuses":' .. json_object(statuses_total),
  }
  io.write("BENCH_RESULT {" .. table.concat(result, ",") .. "}\n")
end
