-- wrk: Alertmanager API v2 alerts that all carry one label set (one alert, updated).
body = '[{"labels":{"alertname":"CPUHigh","instance":"web-1","severity":"error"},' ..
       '"annotations":{"summary":"CPU high on web-1"}}]'

request = function()
  return wrk.format("POST", "/api/v2/alerts", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
