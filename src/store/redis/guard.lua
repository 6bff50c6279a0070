-- Counts one invalid key from a client address across all nodes (sliding-window estimate) and
-- blocks the address when it crosses the threshold.
-- KEYS[1] address prefix (e.g. "keygate:guard:203.0.113.5:")
-- ARGV[1] max invalid, ARGV[2] window ms, ARGV[3] block ms, ARGV[4] now ms ('' = Redis TIME)
-- Returns the epoch ms the address is blocked until, or 0.
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local blocked = tonumber(redis.call('GET', KEYS[1] .. 'blocked') or '0')
if blocked > now then return blocked end
local window = tonumber(ARGV[2])
local start = math.floor(now / window) * window
local current = KEYS[1] .. string.format('%.0f', start)
local previous = tonumber(redis.call('GET', KEYS[1] .. string.format('%.0f', start - window)) or '0')
local count = redis.call('INCR', current)
if count == 1 then redis.call('PEXPIRE', current, window * 2) end
local estimate = previous * (1 - (now - start) / window) + count
if estimate >= tonumber(ARGV[1]) then
  local untilMs = now + tonumber(ARGV[3])
  redis.call('SET', KEYS[1] .. 'blocked', string.format('%.0f', untilMs), 'PX', ARGV[3])
  redis.call('DEL', current)
  return untilMs
end
return 0
