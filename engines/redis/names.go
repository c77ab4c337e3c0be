package redis

import "github.com/pushwire/pushwire/internal/topicname"

// maxMapped bounds the length of a mapped topic name; longer ones are
// hashed.
const maxMapped = 64

// keyPrefix starts every key the engine writes.
const keyPrefix = "pw:"

// topicTag maps a topic name to the hash tag of its keys: "t-" and the
// name with every byte other than a-z, 0-9 and '-' written as "_XX"
// (hex), or "h-" and 32 hex digits of its SHA-256 when that would be
// longer than maxMapped. The mapping is one-to-one on the names it does
// not hash (an escaped byte starts with '_', which no kept byte is), and
// the prefixes keep hashed and unhashed names apart. The tag is never
// empty and never holds '{' or '}', so it is exactly what Redis Cluster
// hashes: every key of a topic is in one slot.
func topicTag(topic string) string {
	return topicname.Map(topic, "t-", "h-", maxMapped)
}

// Keys of a topic's log, in the order the scripts take them (KEYS[1..4]).
const (
	keyMeta   = iota // hash: the epoch, the last seq, the bytes held, the limits
	keyStream        // stream: the entries, ID N-0 for seq N
	keyIDs           // hash: idempotency key -> seq, for the entries held
	keyEpochs        // stream: one entry per creation of the log, the doorbell of a new epoch
	numKeys
)

// topicKeys returns the keys of a topic's log: "pw:{TAG}:m", ":s", ":k"
// and ":e", all in the one hash slot of {TAG}.
func topicKeys(topic string) []string {
	base := keyPrefix + "{" + topicTag(topic) + "}:"
	keys := make([]string, numKeys)
	keys[keyMeta] = base + "m"
	keys[keyStream] = base + "s"
	keys[keyIDs] = base + "k"
	keys[keyEpochs] = base + "e"
	return keys
}
