-- Orderly bench: replay prebuilt raw HTTP requests and judge every response.
--
--   wrk -t T -c C -d Ds -s bench/lua/requests.lua http://127.0.0.1:PORT -- REQUESTS_FILE T
--
-- REQUESTS_FILE holds length-prefixed records ("<n>\n" then n bytes), each a complete
-- HTTP/1.1 request (method, path, headers with cookies, JSON body) written by bench/wire.py.
-- Every thread replays the whole list in order, starting at its own offset, so request
-- bodies and cookies rotate. A response is "ok", "rejected" (only INSUFFICIENT_STOCK user
-- errors) or "error" (any other status, GraphQL errors or user errors): the same rule as
-- bench/wire.py's verdict(). done() prints one line "BENCH_RESULT {json}".

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local function load_requests(path)
   local file = assert(io.open(path, "rb"))
   local data = file:read("*a")
   file:close()
   local list = {}
   local position = 1
   while position <= #data do
      local newline = string.find(data, "\n", position, true)
      local size = tonumber(string.sub(data, position, newline - 1))
      table.insert(list, string.sub(data, newline + 1, newline + size))
      position = newline + 1 + size
   end
   assert(#list > 0, "no requests in " .. path)
   return list
end

function init(args)
   requests = load_requests(args[1])
   local thread_count = tonumber(args[2]) or 1
   index = math.floor(#requests * (thread_number - 1) / thread_count)
   ok = 0
   rejected = 0
   errors = 0
   statuses = {}
   error_sample = ""
end

function request()
   index = index % #requests + 1
   return requests[index]
end

local function judge(status, body)
   if status ~= 200 or string.find(body, '"errors"', 1, true) then
      return "error"
   end
   local any = false
   for code in string.gmatch(body, '"code":%s*"([A-Z_]+)"') do
      if code ~= "INSUFFICIENT_STOCK" then
         return "error"
      end
      any = true
   end
   if any then
      return "rejected"
   end
   return "ok"
end

function response(status, headers, body)
   body = body or ""
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   local verdict = judge(status, body)
   if verdict == "ok" then
      ok = ok + 1
   elseif verdict == "rejected" then
      rejected = rejected + 1
   else
      errors = errors + 1
      if error_sample == "" then
         error_sample = string.sub(key .. " " .. body, 1, 400)
      end
   end
end

local function json_string(text)
   local escaped = string.gsub(text, '[%c"\\\128-\255]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
   local total_ok, total_rejected, total_errors = 0, 0, 0
   local by_status = {}
   local sample = ""
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_rejected = total_rejected + thread:get("rejected")
      total_errors = total_errors + thread:get("errors")
      for key, count in pairs(thread:get("statuses")) do
         by_status[key] = (by_status[key] or 0) + count
      end
      if sample == "" then
         sample = thread:get("error_sample")
      end
   end
   local status_parts = {}
   for key, count in pairs(by_status) do
      table.insert(status_parts, string.format('"%s":%d', key, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_s":%.6f,"ok":%d,"rejected":%d,"errors":%d,'
         .. '"statuses":{%s},'
         .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
         .. '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f},'
         .. '"error_sample":%s}\n',
      summary.requests, summary.duration / 1e6, total_ok, total_rejected, total_errors,
      table.concat(status_parts, ","),
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
      latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
      json_string(sample)))
end
