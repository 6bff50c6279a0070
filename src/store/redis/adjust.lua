-- Changes a quota count: sets it (reset) or adds to it, starting from the persisted floor if
-- Redis has no count. KEYS[1] quota key. ARGV[1] 'set' or 'add', ARGV[2] value, ARGV[3] floor,
-- ARGV[4] TTL ms. Returns the new count.
if ARGV[1] == 'set' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
  return tonumber(ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return redis.call('INCRBY', KEYS[1], ARGV[2])
