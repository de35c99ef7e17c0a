-- wrk: PagerDuty v2 trigger events, each with a new dedup key (a new alert and incident).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  key = args[1] or "0123456789abcdef0123456789abcdef"
  counter = 0
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"bench-%d-%d-%d",' ..
    '"payload":{"summary":"CPU high on web-%d","source":"web-%d.example.com","severity":"error"}}',
    key, tid, os.time(), counter, counter % 50, counter % 50)
  return wrk.format("POST", "/v2/enqueue", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 202 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
