-- wrk: Alertmanager API v2 alerts, each with a new label set (a new alert).
local thread_id = 0

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  counter = 0
end

request = function()
  counter = counter + 1
  local body = string.format(
    '[{"labels":{"alertname":"CPUHigh","instance":"web-%d-%d-%d","severity":"error"},' ..
    '"annotations":{"summary":"CPU high on web-%d"}}]', tid, os.time(), counter, counter % 50)
  return wrk.format("POST", "/api/v2/alerts", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
