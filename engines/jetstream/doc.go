// Package jetstream keeps pushwire's hub logs in NATS JetStream, so that
// several pushwire nodes share them: it implements hub.Engine, one stream
// per topic.
//
//	eng, err := jetstream.Connect("nats://127.0.0.1:4222", nil)
//	if err != nil { ... }
//	defer eng.Close()
//	chat, err := hub.OpenTopic(ctx, eng, "chat", nil)
//
// # Mapping
//
// A topic is one stream. Its name is the topic name mapped to the
// characters a stream name and a subject token allow: lower-case letters,
// digits and '-' stay, every other byte becomes "_" and two hex digits,
// and the result is prefixed with "pw-" (names whose mapping would pass 64
// bytes become "pwh-" and 32 hex digits of their SHA-256). So two topics
// never share a stream, and no name reaches JetStream's API subjects.
//
// The stream's sequence is the hub sequence: the engine never numbers
// entries itself. MaxMsgs and MaxBytes with DiscardOld are the ring
// (JetStream counts a message's subject and headers in MaxBytes, so a
// stream holds a little less payload than MaxBytes). The entry type is the
// Pushwire-Type header.
//
// The epoch is part of the stream's only subject, "pw.STREAM.EPOCH", and of
// its metadata: a new random epoch whenever the stream is created. A
// stream that was deleted and created again therefore has a new epoch, and
// a node that still publishes to the old subject gets "no responders", not
// a write into the new history; every message read carries its subject,
// so an entry is never taken for one of another epoch.
//
// Appends are JetStream publishes with Nats-Msg-Id set to the idempotency
// key: a retry within the stream's de-duplication window (Duplicates, two
// minutes by default) returns the first one's sequence number. Reads are
// batched direct gets (JetStream's DIRECT.GET with a batch, nats-server
// 2.11 or later). Wait listens to a doorbell: the stream republishes the
// headers of each message it stores, with its sequence number, to
// "pwr.STREAM.EPOCH" (RePublish, headers only), and each open log
// subscribes to its stream's; Wait also checks the stream's info every two
// seconds, so that a lost doorbell costs at most that, and a deleted
// stream is noticed. Publishers never share a subject with a subscriber,
// so a publish to the subject of a deleted epoch gets "no responders" at
// once.
//
// # Concurrency
//
// An Engine and its logs are safe for concurrent use. Each log holds one
// NATS subscription (the doorbell); reads make a short-lived inbox
// subscription each. hub.OpenTopic opens one log per topic per node, whose
// tail is the only reader in the steady state, so a node makes one
// doorbell subscription and a read or two per batch of new entries
// whatever the number of its clients.
//
// # Limits
//
// A request to JetStream is bounded by its ctx and by Options.Timeout
// (5 s). An entry is bounded by the topic's MaxBytes and by nats-server's
// max_payload (1 MB by default) with its headers: above either, Append
// fails with hub.ErrTooLarge. A read returns at most the batch it asks for and what nats-server
// sends in one direct get (its max_pending, 64 MiB by default).
//
// # Security
//
// Topic names are mapped as above, so a client-chosen name cannot address
// another stream or an API subject. The engine trusts the NATS server and
// whoever else may write to the pw.> subjects; restrict them with NATS
// permissions when other applications share the server.
package jetstream
