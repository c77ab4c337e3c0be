// Package redis keeps pushwire's hub logs in Redis Streams, so that
// several pushwire nodes share them: it implements hub.Engine, one stream
// per topic, on Redis 6.2 or later (tested on 7.0; a single server or a
// Redis Cluster), with github.com/redis/go-redis/v9.
//
//	eng, err := redis.Connect("redis://127.0.0.1:6379", nil)
//	if err != nil { ... }
//	defer eng.Close()
//	chat, err := hub.OpenTopic(ctx, eng, "chat", nil)
//
// # Keys
//
// A topic's log is four keys that share the hash tag {TAG}, so that a
// Redis Cluster keeps them in one slot and a script may use them all:
//
//	pw:{TAG}:s  the stream: entry N has the ID "N-0" and the fields d
//	            (data), u (the server's time in µs), t (type, if any)
//	            and k (idempotency key, if any)
//	pw:{TAG}:m  the meta hash: e (the epoch), l (the last seq), b (the
//	            bytes held), n and m (the limits it was created with), x
//	            (its entry in the epochs stream)
//	pw:{TAG}:k  the idempotency keys of the entries held, key -> seq
//	pw:{TAG}:e  the epochs stream: one entry per creation of the log
//
// TAG is "t-" and the topic name with every byte other than a-z, 0-9 and
// '-' written as "_XX" (hex), or "h-" and 32 hex digits of the name's
// SHA-256 when that would pass 64 bytes: two topics never share a key, and
// a client-chosen name never holds a brace.
//
// # Scripts
//
// Every request is one Lua script (go-redis's Script: EVALSHA, EVAL when
// the server does not know it yet), atomic on the node of the topic's
// slot. Append makes room by dropping the oldest entries until one more
// fits MaxEntries and MaxBytes (Redis has no byte bound for streams: the
// meta hash counts len(type)+len(data) of the entries held, and the keys
// of dropped entries leave the keys hash with them), adds the entry as ID
// last+1 with XADD MAXLEN (the count bound), and answers its sequence
// number; an idempotency key that maps to an entry still held answers
// that entry's sequence number and appends nothing, so the de-duplication
// window is exactly what the log holds. Read answers the epoch, the first
// and last sequence numbers and up to a batch of entries after a sequence
// number (XRANGE) in one atomic view. Bounds is Read of no entries.
//
// # Epochs
//
// The epoch is in the meta hash, which is created with the log. Each
// script creates a missing log first, in a fresh random epoch, and then
// does its work: a log that FLUSHALL, a deleted key or a restart without
// persistence removed comes back in a new epoch as soon as any node
// appends, reads or waits, and every client of the old one gets a reset.
// A new log also adds an entry to its epochs stream, which wakes the
// other nodes' waits at once.
//
// The epoch survives a restart only with the data: run Redis with
// appendonly yes and appendfsync always, as the tests do, so that an
// answered append is on disk. With appendfsync everysec, a killed Redis
// loses nothing, but a crashed machine may lose the last second; with
// snapshots only, everything since the last one. A log rolled back that
// way keeps its epoch, which the engine cannot tell from a log that never
// went further: readers whose cursors are past its end get a reset, but
// sequence numbers after its end are given again to new entries. The
// same holds for a failover to a replica that missed the last writes.
// Keep maxmemory-policy at noeviction (Redis's default) or a volatile-*
// policy: the keys never expire, and an evicted meta hash starts a new
// epoch, an evicted stream reads as entries lost, and evicted
// idempotency keys let a retried append in twice. A log stays until its
// four keys are deleted.
//
// # Concurrency
//
// An Engine and its logs are safe for concurrent use; requests share the
// client's connection pool. hub.OpenTopic starts one tail per topic per
// node, the only caller of Wait in the steady state: Wait blocks in
// XREAD BLOCK on the stream and the epochs stream, on a connection of the
// log's own (made on first use; concurrent Waits of one log take turns on
// it), pipelined with a Read of the bounds so that a wake-up costs one
// round trip. So a node holds one blocked connection per topic, whatever
// its number of clients, and its clients read from its memory.
//
// # Limits
//
// A request is bounded by its ctx and by Options.Timeout (5 s); a Wait
// blocks at most Options.Poll (2 s) in Redis and then returns the current
// bounds, which notices a FLUSHALL when nobody appends. An entry is
// bounded by the topic's MaxBytes (hub.ErrTooLarge above it); a read
// returns at most the batch it asks for. An append does work in
// proportion to the entries it drops, usually one. MaxBytes counts the
// data and types only: Redis 7.0 holds about 35 bytes more per entry, and
// about 110 more for an idempotency key of the 27 bytes hub's Publish
// sets (MEMORY USAGE of 10,000 entries of 64 bytes: 1.0 MB without keys,
// 2.1 MB with).
//
// # Security
//
// Topic names are mapped as above, so a client-chosen name cannot address
// another log or another slot's keys. The engine trusts the Redis server
// and whoever else may write to the pw:* keys; when other applications
// share the server, restrict them with an ACL (a user for pushwire with
// the key pattern ~pw:*).
package redis
