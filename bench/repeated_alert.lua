-- wrk: PagerDuty v2 trigger events that all carry one dedup key (folded into one alert).
function init(args)
  key = args[1] or "0123456789abcdef0123456789abcdef"
  body = string.format(
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"bench-repeated",' ..
    '"payload":{"summary":"CPU high on web-1","source":"web-1.example.com","severity":"error"}}', key)
end

request = function()
  return wrk.format("POST", "/v2/enqueue", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 202 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
