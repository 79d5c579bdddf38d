package limits

import "github.com/redis/go-redis/v9"

// The Redis scripts. Each runs atomically on the server, so replicas that
// check and reserve at the same moment are serialised. Money is integer
// nanodollars; Lua numbers are doubles, exact up to 2^53 (about $9M), which
// bounds any one budget.
//
// A budget period has four keys (prefix b:SCOPE:PERIOD:START:HOSTING):
//   :spent  string, settled spend, seeded from the store with SET NX
//   :res    sorted set of reservation ids scored by their expiry (ms)
//   :amt    hash of reservation id -> reserved nanodollars
//   :sum    string, the sum of :amt
// Expired reservations (a replica died before settling) are pruned by every
// script that reads the budget, so a reservation never outlives its TTL.

// pruneLua removes the expired reservations of the budget whose keys
// follow KEYS[base] (base = 4×(budget index), 0-based).
const pruneLua = `
local function prune(base, now)
  local ids = redis.call('ZRANGEBYSCORE', KEYS[base+2], '-inf', now)
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local a = redis.call('HGET', KEYS[base+3], id)
    if a then
      redis.call('DECRBY', KEYS[base+4], a)
      redis.call('HDEL', KEYS[base+3], id)
    end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[base+2], '-inf', now)
end
`

// reserveScript: KEYS are 4 per budget; ARGV[1] now (ms), ARGV[2] the
// reservation's expiry (ms), ARGV[3] its id, then per budget: limit,
// amount, the keys' time to live (ms, 0 for none).
// Returns {1} when reserved, {-2, i} when budget i is not seeded, or
// {-1, i, spent, reserved} when budget i refuses.
var reserveScript = redis.NewScript(pruneLua + `
local now = tonumber(ARGV[1])
local n = #KEYS / 4
local spent = {}
for i = 0, n-1 do
  local s = redis.call('GET', KEYS[i*4+1])
  if not s then return {-2, i+1} end
  spent[i] = tonumber(s)
end
for i = 0, n-1 do
  prune(i*4, now)
  local limit = tonumber(ARGV[4+i*3])
  local amount = tonumber(ARGV[5+i*3])
  local reserved = tonumber(redis.call('GET', KEYS[i*4+4]) or '0')
  if limit > 0 and spent[i] + reserved + amount > limit then
    return {-1, i+1, spent[i], reserved}
  end
end
for i = 0, n-1 do
  -- Write the ARGV strings, not Lua numbers: Redis formats those with
  -- %.14g, which would round a 15-digit amount.
  local ttl = tonumber(ARGV[6+i*3])
  redis.call('ZADD', KEYS[i*4+2], ARGV[2], ARGV[3])
  redis.call('HSET', KEYS[i*4+3], ARGV[3], ARGV[5+i*3])
  redis.call('INCRBY', KEYS[i*4+4], ARGV[5+i*3])
  if ttl > 0 then
    for k = 2, 4 do redis.call('PEXPIRE', KEYS[i*4+k], ttl) end
  end
end
return {1}
`)

// settleScript: KEYS 4 per budget; ARGV[1] the reservation id, then per
// budget the actual cost. A spent key that has gone (expired, evicted) is
// not recreated: the store has the record and seeds it again.
var settleScript = redis.NewScript(`
local n = #KEYS / 4
for i = 0, n-1 do
  local a = redis.call('HGET', KEYS[i*4+3], ARGV[1])
  if a then
    redis.call('HDEL', KEYS[i*4+3], ARGV[1])
    redis.call('ZREM', KEYS[i*4+2], ARGV[1])
    redis.call('DECRBY', KEYS[i*4+4], a)
  end
  if ARGV[2+i] ~= '0' and redis.call('EXISTS', KEYS[i*4+1]) == 1 then
    redis.call('INCRBY', KEYS[i*4+1], ARGV[2+i])
  end
end
return 1
`)

// extendScript: KEYS 4 per budget; ARGV[1] the reservation id, ARGV[2]
// its new expiry (ms). Only a reservation still held is extended: one
// settled (or pruned) meanwhile is not brought back.
var extendScript = redis.NewScript(`
local n = #KEYS / 4
for i = 0, n-1 do
  if redis.call('HEXISTS', KEYS[i*4+3], ARGV[1]) == 1 then
    redis.call('ZADD', KEYS[i*4+2], 'XX', ARGV[2], ARGV[1])
  end
end
return 1
`)

// peekScript: KEYS 4 per budget; ARGV[1] now (ms). Returns {-2, i} when
// budget i is not seeded, else {spent1, reserved1, spent2, ...}.
var peekScript = redis.NewScript(pruneLua + `
local now = tonumber(ARGV[1])
local n = #KEYS / 4
local out = {}
for i = 0, n-1 do
  local s = redis.call('GET', KEYS[i*4+1])
  if not s then return {-2, i+1} end
  prune(i*4, now)
  out[#out+1] = tonumber(s)
  out[#out+1] = tonumber(redis.call('GET', KEYS[i*4+4]) or '0')
end
return out
`)

// rateScript is gcraStep (gcra.go) for requests then tokens.
// KEYS[1] requests TAT, KEYS[2] tokens TAT; ARGV: now (µs), rpm, tpm,
// tokens, tau (the burst tolerance, µs). Returns {ok, reqDelta, tokDelta, which, retry, tooLarge}: the
// TATs' distance ahead of now (µs) after the call, which limit refused
// (0 none, 1 requests, 2 tokens) and the wait (µs).
var rateScript = redis.NewScript(`
local W = 60000000
local now = tonumber(ARGV[1])
local lim = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local cost = {1, tonumber(ARGV[4])}
local tau = tonumber(ARGV[5])
local tat = {}
local new = {}
for j = 1, 2 do
  tat[j] = tonumber(redis.call('GET', KEYS[j]) or '0')
  if tat[j] < now then tat[j] = now end
  new[j] = tat[j]
end
for j = 1, 2 do
  if lim[j] > 0 and cost[j] > 0 then
    local inc = math.ceil(cost[j] * W / lim[j])
    if inc > tau then return {0, tat[1]-now, tat[2]-now, j, 0, 1} end
    local n = tat[j] + inc
    if n - now > tau then return {0, tat[1]-now, tat[2]-now, j, n-now-tau, 0} end
    new[j] = n
  end
end
for j = 1, 2 do
  if lim[j] > 0 and new[j] > now then
    redis.call('SET', KEYS[j], string.format('%d', new[j]), 'PX', math.ceil((new[j]-now)/1000)+1000)
  end
end
return {1, new[1]-now, new[2]-now, 0, 0, 0}
`)

// adjustScript is adjustTAT: KEYS[1], KEYS[2] as rateScript; ARGV: now
// (µs), rpm, tpm, request delta, token delta.
var adjustScript = redis.NewScript(`
local W = 60000000
local now = tonumber(ARGV[1])
for j = 1, 2 do
  local lim = tonumber(ARGV[1+j])
  local d = tonumber(ARGV[3+j])
  if lim > 0 and d ~= 0 then
    local tat = tonumber(redis.call('GET', KEYS[j]) or '0')
    if d > 0 then
      if tat < now then tat = now end
      tat = tat + math.ceil(d * W / lim)
    else
      tat = tat - math.ceil(-d * W / lim)
    end
    if tat > now then
      redis.call('SET', KEYS[j], string.format('%d', tat), 'PX', math.ceil((tat-now)/1000)+1000)
    else
      redis.call('DEL', KEYS[j])
    end
  end
end
return 1
`)

// slideLua is the sliding log (window.go) in Redis. Per limit j, KEYS are
// a sorted set of entries (member "ID:COST", scored by time in µs) and a
// string holding the sum of their costs. prune drops entries that left the
// window (time + W <= now) and returns the sum still in it.
const slideLua = `
local W = 60000000
local function cost(m) return tonumber(string.match(m, ':(%-?%d+)$')) end
local function prune(log, sum, now)
  local old = redis.call('ZRANGEBYSCORE', log, '-inf', now - W)
  if #old > 0 then
    local freed = 0
    for _, m in ipairs(old) do freed = freed + cost(m) end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - W)
    redis.call('DECRBY', sum, freed)
  end
  if redis.call('ZCARD', log) == 0 then
    redis.call('DEL', sum)
    return 0
  end
  return tonumber(redis.call('GET', sum) or '0')
end
local function reset(log, now)
  local e = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
  if #e == 0 then return 0 end
  return tonumber(e[2]) + W - now
end
local function book(log, sum, now, member, c)
  redis.call('ZADD', log, now, member .. ':' .. c)
  redis.call('INCRBY', sum, c)
  redis.call('PEXPIRE', log, 61000)
  redis.call('PEXPIRE', sum, 61000)
end
`

// slideScript admits one request in sliding mode. KEYS: requests log, its
// sum, tokens log, its sum. ARGV: now (µs), rpm, tpm, tokens, a unique
// entry id. Returns {which, retry, tooLarge, reqUsed, reqReset, tokUsed,
// tokReset}: which limit refused (0 none, 1 requests, 2 tokens), the wait
// (µs), and each limit's position after the call.
var slideScript = redis.NewScript(slideLua + `
local now = tonumber(ARGV[1])
local lim = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local c = {1, tonumber(ARGV[4])}
local used = {0, 0}
local which, retry, big = 0, 0, 0
for j = 1, 2 do
  if lim[j] > 0 then
    used[j] = prune(KEYS[2*j-1], KEYS[2*j], now)
    if which == 0 and c[j] > 0 then
      if c[j] > lim[j] then
        which, big = j, 1
      elseif used[j] + c[j] > lim[j] then
        which = j
        local need = used[j] + c[j] - lim[j]
        retry = W
        local es = redis.call('ZRANGE', KEYS[2*j-1], 0, -1, 'WITHSCORES')
        for i = 1, #es, 2 do
          need = need - cost(es[i])
          if need <= 0 then retry = tonumber(es[i+1]) + W - now; break end
        end
      end
    end
  end
end
if which == 0 then
  for j = 1, 2 do
    if lim[j] > 0 and c[j] > 0 then
      book(KEYS[2*j-1], KEYS[2*j], now, ARGV[5], c[j])
      used[j] = used[j] + c[j]
    end
  end
end
return {which, retry, big, used[1], reset(KEYS[1], now), used[2], reset(KEYS[3], now)}
`)

// slideAdjustScript is slidingLog.add for both limits. KEYS as
// slideScript; ARGV: now (µs), rpm, tpm, request delta, token delta, a
// unique entry id. A negative delta takes back from the newest entries.
var slideAdjustScript = redis.NewScript(slideLua + `
local now = tonumber(ARGV[1])
for j = 1, 2 do
  local lim = tonumber(ARGV[1+j])
  local d = tonumber(ARGV[3+j])
  local log, sum = KEYS[2*j-1], KEYS[2*j]
  if lim > 0 and d ~= 0 then
    prune(log, sum, now)
    if d > 0 then
      book(log, sum, now, ARGV[6], d)
    else
      local take = -d
      while take > 0 do
        local e = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
        if #e == 0 then break end
        local ec = cost(e[1])
        redis.call('ZREM', log, e[1])
        if ec > take then
          redis.call('ZADD', log, e[2], string.match(e[1], '^(.*):') .. ':' .. (ec - take))
          redis.call('DECRBY', sum, take)
          take = 0
        else
          redis.call('DECRBY', sum, ec)
          take = take - ec
        end
      end
      if redis.call('ZCARD', log) == 0 then redis.call('DEL', sum) end
    end
  end
end
return 1
`)
