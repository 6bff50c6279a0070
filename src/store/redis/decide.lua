-- One limit decision, atomically: a token from the bucket (GCRA over integer microseconds,
-- the same arithmetic as src/limits/token-bucket.ts), then one unit of quota. Both are
-- committed only if both admit. Runs on Redis's clock unless a time is passed (tests).
--
-- KEYS[1] bucket key, KEYS[2] quota key ('' for none)
-- ARGV[1] interval us, ARGV[2] tolerance us, ARGV[3] quota limit (0 = none),
-- ARGV[4] quota key TTL ms, ARGV[5] quota floor (persisted count, used if the key is missing),
-- ARGV[6] now us ('' = Redis TIME)
-- Returns {allowed, refusal (0 none, 1 rate, 2 quota), remaining, retryAfterUs, resetUs, quotaUsed, nowUs}

local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local now
if ARGV[6] ~= '' then
  now = tonumber(ARGV[6])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ahead = tat - now

local used = -1
local missing = false
if limit > 0 then
  local stored = redis.call('GET', KEYS[2])
  if stored then
    used = tonumber(stored)
  else
    -- Redis lost the count (restart, flush): start from the count persisted in the database.
    used = tonumber(ARGV[5])
    missing = true
  end
end

if ahead > tolerance then
  return {0, 1, 0, ahead - tolerance, ahead, used, now}
end

if limit > 0 and used >= limit then
  local left = math.floor((tolerance - ahead) / interval) + 1
  return {0, 2, left, 0, ahead, used, now}
end

local nextTat = tat + interval
local nextAhead = nextTat - now
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.floor(nextAhead / 1000) + 1000)
if limit > 0 then
  if missing then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4]) end
  used = redis.call('INCR', KEYS[2])
end
local remaining = math.floor((tolerance - nextAhead) / interval) + 1
if remaining < 0 then remaining = 0 end
return {1, 0, remaining, 0, nextAhead, used, now}
