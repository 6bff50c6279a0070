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

-- Each key is read once per call (one MGET) and written once at the end, however many of the
-- call's decisions touch it: a batch of calls of one key costs three Redis commands, not four
-- per call. The script runs atomically, so this is the same as reading and writing each time.
local n = #KEYS / 2
local values = redis.call('MGET', unpack(KEYS))
local tats, useds, initial, ttls, touched = {}, {}, {}, {}, {}

local out = {now}
for i = 1, n do
  local bucketKey = KEYS[2 * i - 1]
  local quotaKey = KEYS[2 * i]
  local a = 2 + 5 * (i - 1)
  local interval = tonumber(ARGV[a])
  local tolerance = tonumber(ARGV[a + 1])
  local limit = tonumber(ARGV[a + 2])

  local tat = tats[bucketKey]
  if tat == nil then tat = tonumber(values[2 * i - 1] or '0') end
  if tat < now then tat = now end
  local ahead = tat - now

  local used = -1
  if limit > 0 then
    used = useds[quotaKey]
    if used == nil then
      local stored = values[2 * i]
      if stored then
        used = tonumber(stored)
        initial[quotaKey] = used
      else
        -- Redis lost the count (restart, flush): start from the count persisted in the database.
        used = tonumber(ARGV[a + 4])
        ttls[quotaKey] = ARGV[a + 3]
      end
      useds[quotaKey] = used
      touched[#touched + 1] = quotaKey
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
    if tats[bucketKey] == nil then touched[#touched + 1] = bucketKey end
    tats[bucketKey] = nextTat
    if limit > 0 then
      used = used + 1
      useds[quotaKey] = used
    end
    local remaining = math.floor((tolerance - nextAhead) / interval) + 1
    if remaining < 0 then remaining = 0 end
    out[#out + 1] = 1; out[#out + 1] = 0; out[#out + 1] = remaining
    out[#out + 1] = 0; out[#out + 1] = nextAhead; out[#out + 1] = used
  end
end

-- Write back what changed: a bucket's new arrival time (it expires once the bucket is full
-- again), a quota's new count (added, so the window's TTL stays; set with it if it was lost).
for _, key in ipairs(touched) do
  local tat = tats[key]
  if tat ~= nil then
    redis.call('SET', key, string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
  elseif initial[key] == nil then
    redis.call('SET', key, string.format('%.0f', useds[key]), 'PX', ttls[key])
  elseif useds[key] ~= initial[key] then
    redis.call('INCRBY', key, string.format('%.0f', useds[key] - initial[key]))
  end
end
return out
