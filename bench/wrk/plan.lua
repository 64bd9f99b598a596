-- wrk script of bench/run: replays the requests of a plan file round-robin and
-- counts every answer that is not a 200 (wrk itself only counts 4xx/5xx, so a
-- redirect to the age gate would pass unnoticed).
--
--   wrk -s bench/wrk/plan.lua URL -- PLAN_FILE THREADS
--
-- A plan line is: group TAB method TAB path TAB headers TAB body, headers being
-- "Name: value" pairs joined by the ASCII record separator (\30). Thread n keeps
-- the lines whose group is n modulo THREADS, so two threads never share a visitor.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local plan, nthreads = args[1], tonumber(args[2])
  requests = {}
  for line in io.lines(plan) do
    local group, method, path, headers_s, body = line:match("^(%d+)\t(%u+)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if group == nil then error("bad plan line: " .. line) end
    if tonumber(group) % nthreads == id then
      local headers = {}
      for pair in headers_s:gmatch("[^\30]+") do
        local name, value = pair:match("^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      if body == "" then body = nil end
      table.insert(requests, wrk.format(method, path, headers, body))
    end
  end
  if #requests == 0 then error("no request for thread " .. id) end
  position = 0
  bad = 0
  first_bad = ""
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if first_bad == "" then first_bad = tostring(status) end
  end
end

function done(summary, latency, requests)
  local total, first = 0, ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
    local seen = thread:get("first_bad")
    if first == "" and seen ~= "" then first = seen end
  end
  io.write(string.format("CHAI_NON200 %d %s\n", total, first))
end
