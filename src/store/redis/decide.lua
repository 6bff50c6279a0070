-- Limit decisions, atomically and in order: for each one, a token from the bucket (GCRA over
-- integer microseconds, the same arithmetic as src/limits/token-bucket.ts), then one unit of
-- quota; both committed only if both admit. The gateway sends every decision of one event-loop
-- turn in one call. Runs on Redis's clock unless a time is passed (tests).
--
-- KEYS: the distinct bucket and quota keys of the batch
-- ARGV[1]: now in us ('' = Redis TIME)
-- ARGV[2]: JSON array, seven numbers per decision: bucket key index (into KEYS), quota key
--   index (0 = no quota), interval us, tolerance us, quota limit, quota key TTL ms, quota
--   floor (the persisted count, used if the key is missing)
-- Returns one string, six comma-separated integers per decision: allowed, refusal (0 none,
--   1 rate, 2 quota), remaining, retryAfterUs, resetUs, quotaUsed (-1 without a quota)
--
-- Each key is read once per call (one MGET) and written once at the end, however many of the
-- call's decisions touch it: a batch of calls of one key costs three Redis commands, not four
-- per call. The script runs atomically, so this is the same as reading and writing each time.

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local d = cjson.decode(ARGV[2])
local values = redis.call('MGET', unpack(KEYS))
local tats, useds, initial, ttls, touched = {}, {}, {}, {}, {}
local out = {}

for i = 0, #d / 7 - 1 do
  local o = 7 * i
  local b, q = d[o + 1], d[o + 2]
  local interval, tolerance, limit = d[o + 3], d[o + 4], d[o + 5]

  local tat = tats[b]
  if tat == nil then tat = tonumber(values[b] or '0') end
  if tat < now then tat = now end
  local ahead = tat - now

  local used = -1
  if q > 0 then
    used = useds[q]
    if used == nil then
      local stored = values[q]
      if stored then
        used = tonumber(stored)
        initial[q] = used
      else
        -- Redis lost the count (restart, flush): start from the count persisted in the database.
        used = d[o + 7]
        ttls[q] = d[o + 6]
      end
      useds[q] = used
      touched[#touched + 1] = q
    end
  end

  if ahead > tolerance then
    out[#out + 1] = string.format('0,1,0,%d,%d,%d', ahead - tolerance, ahead, used)
  elseif q > 0 and used >= limit then
    out[#out + 1] = string.format('0,2,%d,0,%d,%d', math.floor((tolerance - ahead) / interval) + 1, ahead, used)
  else
    local nextAhead = tat + interval - now
    if tats[b] == nil then touched[#touched + 1] = b end
    tats[b] = tat + interval
    if q > 0 then
      used = used + 1
      useds[q] = used
    end
    local remaining = math.floor((tolerance - nextAhead) / interval) + 1
    if remaining < 0 then remaining = 0 end
    out[#out + 1] = string.format('1,0,%d,0,%d,%d', remaining, nextAhead, used)
  end
end

-- Write back what changed: a bucket's new arrival time (it expires a minute after the bucket
-- is full again: KEEP_AFTER.bucketMs in src/store/interface.ts), a quota's new count (added, so
-- the window's TTL stays; set with it if it was lost).
for _, k in ipairs(touched) do
  local tat = tats[k]
  if tat ~= nil then
    redis.call('SET', KEYS[k], string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 60000)
  elseif initial[k] == nil then
    redis.call('SET', KEYS[k], string.format('%d', useds[k]), 'PX', string.format('%d', ttls[k]))
  elseif useds[k] ~= initial[k] then
    redis.call('INCRBY', KEYS[k], string.format('%d', useds[k] - initial[k]))
  end
end
return table.concat(out, ',')
