-- wrk script: cycles through requests read from a file (given after `--`) of tab-separated
-- lines "METHOD PATH TOKEN [JSON BODY]", and prints a JSON summary line (p50/p90/p99 in
-- ms, requests/s, errors) that bench/harness.py reads. TOKEN is sent as a bearer token, or,
-- written as "Name: value", as that header instead (a browser's "Cookie: ...").
local requests, count, index = {}, 0, 0

init = function(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t?(.*)$")
    count = count + 1
    local headers = {}
    local name, value = token:match("^([%w-]+): (.*)$")
    if name then headers[name] = value else headers["Authorization"] = "Bearer " .. token end
    if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
    requests[count] = wrk.format(method, path, headers, body)
  end
  index = math.random(count)
end

request = function()
  index = index % count + 1
  return requests[index]
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"p50": %.3f, "p90": %.3f, "p99": %.3f, "rps": %.1f, "requests": %d, "errors": %d}\n',
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
