-- wrk script: Create one invite with a new email per request (the thread's id and a counter
-- keep them unique), key and site from $SI_KEY and $SI_SITE; $SI_TAG tells runs apart.
--   SI_KEY=... SI_SITE=... SI_TAG=run1 wrk -t1 -c32 -d10s --latency -s bench/wrk/create.lua \
--       http://127.0.0.1:PORT
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = os.getenv("SI_KEY")
wrk.headers["wix-site-id"] = os.getenv("SI_SITE")
wrk.headers["Content-Type"] = "application/json"
local tag = os.getenv("SI_TAG") or "w"

request = function()
  n = n + 1
  local body = string.format(
    '{"email":"%s.%d.%d@wrk.example.com","policyIds":["1000000000000000001"]}', tag, tid or 0, n)
  return wrk.format(nil, "/invites/site-invite", nil, body)
end
