-- wrk script: cycles through requests read from a file of "path<TAB>token" lines (given
-- after `--`), and prints a JSON summary (p50/p90/p99 in ms, requests/s, errors).
local paths, tokens, count, index = {}, {}, 0, 0

init = function(args)
  for line in io.lines(args[1]) do
    local path, token = line:match("([^\t]+)\t(.+)")
    count = count + 1
    paths[count], tokens[count] = path, token
  end
  index = math.random(count)
end

request = function()
  index = index % count + 1
  return wrk.format("GET", paths[index], { ["Authorization"] = "Bearer " .. tokens[index] })
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"p50": %.3f, "p90": %.3f, "p99": %.3f, "rps": %.1f, "requests": %d, "errors": %d}\n',
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
