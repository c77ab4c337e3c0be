package jetstream

import (
	"strings"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/topicname"
)

// maxMapped bounds the length of a mapped topic name; longer ones are
// hashed.
const maxMapped = 64

// streamName maps a topic name to its stream name: "pw-" and the name with
// every byte other than a-z, 0-9 and '-' written as "_XX" (hex), or
// "pwh-" and a hash when that would be longer than maxMapped. The mapping
// is one-to-one on the names it does not hash; stream names are
// case-insensitive on some file systems, so upper case is escaped too.
func streamName(topic string) string {
	return topicname.Map(topic, "pw-", "pwh-", maxMapped)
}

// subjectPrefix is the first token of every subject the engine writes.
const subjectPrefix = "pw."

// subject returns the subject of a stream in an epoch.
func subject(stream string, e hub.Epoch) string {
	return subjectPrefix + stream + "." + string(e)
}

// epochOf returns the epoch of a subject written by subject, or "".
func epochOf(stream, subj string) hub.Epoch {
	rest, ok := strings.CutPrefix(subj, subjectPrefix+stream+".")
	if !ok {
		return ""
	}
	if e := hub.Epoch(rest); e.Valid() {
		return e
	}
	return ""
}
