-- wrk script: Get one invite, cycling through the IDs in the file $SI_IDS (one a line), with the
-- key and site from $SI_KEY and $SI_SITE. A cross-check of bench/loadgen's figures:
--   SI_KEY=... SI_SITE=... SI_IDS=ids.txt wrk -t1 -c32 -d10s --latency -s bench/wrk/get.lua \
--       http://127.0.0.1:PORT
local ids = {}
for line in io.lines(os.getenv("SI_IDS")) do
  if #line > 0 then ids[#ids + 1] = line end
end
local n = 0
wrk.headers["Authorization"] = os.getenv("SI_KEY")
wrk.headers["wix-site-id"] = os.getenv("SI_SITE")

request = function()
  n = n + 1
  return wrk.format("GET", "/invites/site-invite/" .. ids[(n % #ids) + 1])
end
-- No response() hook: wrk counts "Non-2xx or 3xx responses" itself, and a hook would slow it.
