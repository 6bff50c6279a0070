-- Limit decisions, atomically and in order: for each one, a token from the bucket (GCRA over
-- integer microseconds, the same arithmetic as src/limits/token-bucket.ts), then one unit of
-- quota; both committed only if both admit. The gateway sends every decision of one event-loop
-- turn in one call. Runs on Redis's clock unless a time is passed (tests).
--
-- KEYS: for decision i, KEYS[2i-1] bucket key, KEYS[2i] quota key ('' for none)
-- ARGV[1]: now in us ('' = Redis TIME); then for decision i, five values from ARGV[2 + 5(i-1)]:
--   interval us, tolerance us, quota limit (0 = none), quota key TTL ms,
--   quota floor (persisted count, used if the key is missing)
-- Returns {nowUs, then for each decision: allowed, refusal (0 none, 1 rate, 2 quota),
--   remaining, retryAfterUs, resetUs, quotaUsed}

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local out = {now}
local n = #KEYS / 2
for i = 1, n do
  local bucketKey = KEYS[2 * i - 1]
  local quotaKey = KEYS[2 * i]
  local a = 2 + 5 * (i - 1)
  local interval = tonumber(ARGV[a])
  local tolerance = tonumber(ARGV[a + 1])
  local limit = tonumber(ARGV[a + 2])
  local floor = ARGV[a + 4]

  local tat = tonumber(redis.call('GET', bucketKey) or '0')
  if tat < now then tat = now end
  local ahead = tat - now

  local used = -1
  local missing = false
  if limit > 0 then
    local stored = redis.call('GET', quotaKey)
    if stored then
      used = tonumber(stored)
    else
      -- Redis lost the count (restart, flush): start from the count persisted in the database.
      used = tonumber(floor)
      missing = true
    end
  end

  if ahead > tolerance then
    out[#out + 1] = 0; out[#out + 1] = 1; out[#out + 1] = 0
    out[#out + 1] = ahead - tolerance; out[#out + 1] = ahead; out[#out + 1] = used
  elseif limit > 0 and used >= limit then
    out[#out + 1] = 0; out[#out + 1] = 2; out[#out + 1] = math.floor((tolerance - ahead) / interval) + 1
    out[#out + 1] = 0; out[#out + 1] = ahead; out[#out + 1] = used
  else
    local nextTat = tat + interval
    local nextAhead = nextTat - now
    redis.call('SET', bucketKey, string.format('%.0f', nextTat), 'PX', math.floor(nextAhead / 1000) + 1000)
    if limit > 0 then
      if missing then redis.call('SET', quotaKey, floor, 'PX', ARGV[a + 3]) end
      used = redis.call('INCR', quotaKey)
    end
    local remaining = math.floor((tolerance - nextAhead) / interval) + 1
    if remaining < 0 then remaining = 0 end
    out[#out + 1] = 1; out[#out + 1] = 0; out[#out + 1] = remaining
    out[#out + 1] = 0; out[#out + 1] = nextAhead; out[#out + 1] = used
  end
end
return out
