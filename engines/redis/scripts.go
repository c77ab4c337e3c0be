package redis

import goredis "github.com/redis/go-redis/v9"

// The scripts take the keys of one topic (topicKeys: KEYS[1] the meta
// hash, KEYS[2] the stream, KEYS[3] the idempotency keys, KEYS[4] the
// epochs stream), all in one hash slot, so that each runs atomically on
// the one node that holds the topic, in a Redis Cluster too. ARGV[1] to
// ARGV[3] are a fresh epoch and the limits (entries, bytes) to create the
// log with if its meta hash is missing: a new log, or one that FLUSHALL,
// an eviction or a restart without persistence removed. Each script then
// creates it in that epoch before it does its work, so a log that lost
// its history always comes back in a new epoch, whichever node notices
// first, and never in its old one.
//
// The meta hash holds e (the epoch), l (the sequence number of the last
// entry appended in the epoch), b (the bytes held: len(type)+len(data)
// summed over the entries held), n and m (the limits the log was created
// with) and x (the ID of the epochs-stream entry written when the log was
// created). Entry N is the stream entry of ID "N-0" with the fields d (the
// data), u (the server's time in microseconds), t (the type, when not
// empty) and k (the idempotency key, when not empty). Trimming only ever
// drops the oldest entries, so the stream holds l-XLEN+1..l without
// holes, and the first sequence number held is l-XLEN+1.
const prelude = `
local function meta()
	local m = redis.call('HMGET', KEYS[1], 'e', 'l', 'b', 'n', 'm', 'x')
	if m[1] then
		return m[1], tonumber(m[2]) or 0, tonumber(m[3]) or 0,
			tonumber(m[4]) or tonumber(ARGV[2]), tonumber(m[5]) or tonumber(ARGV[3]), m[6] or '0-0'
	end
	redis.call('DEL', KEYS[2], KEYS[3])
	local x = redis.call('XADD', KEYS[4], 'MAXLEN', '1', '*', 'e', ARGV[1])
	redis.call('HSET', KEYS[1], 'e', ARGV[1], 'l', '0', 'b', '0', 'n', ARGV[2], 'm', ARGV[3], 'x', x)
	return ARGV[1], 0, 0, tonumber(ARGV[2]), tonumber(ARGV[3]), x
end
`

// appendScript appends one entry.
//
// ARGV[4] is the idempotency key ("" for none), ARGV[5] the type, ARGV[6]
// the data. If the key maps to an entry still held, nothing is appended
// and the reply is {that seq, epoch}. An entry larger than the log's byte
// bound gets {0, epoch, max bytes}. Otherwise the oldest entries are
// dropped until one more fits both bounds (their sizes come off the byte
// counter and their keys out of the keys hash, then one XTRIM MINID), the
// entry is added as ID last+1 with XADD MAXLEN (the count bound, which the
// trimming has already met), and the reply is {seq, epoch}.
var appendScript = goredis.NewScript(prelude + `
local e, l, b, n, m = meta()
local key, typ, data = ARGV[4], ARGV[5], ARGV[6]
if key ~= '' then
	local s = redis.call('HGET', KEYS[3], key)
	if s then return {tonumber(s), e} end
end
local size = #typ + #data
if size > m then return {0, e, m} end
local held = redis.call('XLEN', KEYS[2])
local cut = l - held
local dropped = false
while held > 0 and (held >= n or b + size > m) do
	local batch = redis.call('XRANGE', KEYS[2], string.format('%d-0', cut + 1), '+', 'COUNT', 64)
	if #batch == 0 then break end
	for _, en in ipairs(batch) do
		if held < n and b + size <= m then break end
		local f = en[2]
		for i = 1, #f, 2 do
			if f[i] == 'd' or f[i] == 't' then
				b = b - #f[i + 1]
			elseif f[i] == 'k' then
				redis.call('HDEL', KEYS[3], f[i + 1])
			end
		end
		held = held - 1
		cut = tonumber(string.match(en[1], '^%d+'))
		dropped = true
	end
end
if dropped then
	redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', cut + 1))
end
if held == 0 or b < 0 then b = 0 end
local seq = l + 1
local now = redis.call('TIME')
local args = {'XADD', KEYS[2], 'MAXLEN', n, string.format('%d-0', seq), 'd', data,
	'u', now[1] .. string.format('%06d', tonumber(now[2]))}
if typ ~= '' then
	args[#args + 1] = 't'
	args[#args + 1] = typ
end
if key ~= '' then
	args[#args + 1] = 'k'
	args[#args + 1] = key
	redis.call('HSET', KEYS[3], key, seq)
end
redis.call(unpack(args))
redis.call('HSET', KEYS[1], 'l', seq, 'b', b + size)
return {seq, e}
`)

// readScript reads the bounds and, when ARGV[5] (a count) is above 0,
// up to that many entries after ARGV[4] (a seq), starting at the oldest
// held when the ones right after it are gone. The reply is {epoch, first,
// last, x[, entries as XRANGE gives them]}: one atomic view, so the
// entries are of that epoch and none is past last.
var readScript = goredis.NewScript(prelude + `
local e, l, b, n, m, x = meta()
local first = l - redis.call('XLEN', KEYS[2]) + 1
local out = {e, first, l, x}
local after, count = tonumber(ARGV[4]), tonumber(ARGV[5])
if count > 0 and after < l then
	out[5] = redis.call('XRANGE', KEYS[2], string.format('%d-0', math.max(after + 1, first)), '+', 'COUNT', count)
end
return out
`)
