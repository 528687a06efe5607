-- wrk script: every request POSTs 20 RUNNING events for random tasks of 1..TASKS (workflow =
-- (task - 1) / 10 + 1), all with one host unique to the request, so that every event changes its
-- row. Event ids carry a nonce given after "--", unique per wrk run.
--   TASKS=20000 wrk -t2 -c32 -d20s --latency -s post-events.lua http://127.0.0.1:PORT/v1/events -- NONCE
local tasks = tonumber(os.getenv("TASKS") or "20000")
local events = 20
local threads = 0
local counter = 0
local nonce = "n"

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  nonce = (args[1] or tostring(os.time())) .. "-" .. thread_id
  math.randomseed(os.time() * 100 + thread_id)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local host = nonce .. "-" .. counter
  local parts = {}
  for i = 1, events do
    local task = math.random(tasks)
    local workflow = math.floor((task - 1) / 10) + 1
    parts[i] = string.format('{"eventId":"%s-%d","type":"RUNNING","workflowInstanceId":%d,"taskInstanceId":%d,'
      .. '"eventTime":"2026-01-01T00:00:00Z","host":"%s","startTime":"2026-01-01T00:00:00Z"}',
      host, i, workflow, task, host)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end
