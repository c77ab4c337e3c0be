// Package topicname maps hub topic names, which may hold any byte, to
// names a shared store accepts (a NATS stream name, a Redis hash tag):
// the engine modules' one mapping, so that two engines never disagree on
// which names are kept apart.
package topicname

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Map returns prefix and topic with every byte other than a-z, 0-9 and
// '-' written as "_XX" (two lower-case hex digits), or, when that would
// be longer than max bytes after the prefix, hashedPrefix and 32 hex
// digits of the topic's SHA-256 (its first 16 bytes).
//
// The mapping is one-to-one on the names it does not hash: an escaped
// byte starts with '_', which no kept byte is. Distinct prefixes keep
// hashed and unhashed names apart. Upper case is escaped too, since some
// stores fold case. Besides the prefixes' bytes the result holds only
// a-z, 0-9, '-' and '_', and is never longer than len(prefix)+max+3.
func Map(topic, prefix, hashedPrefix string, max int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
			b.WriteString(hex.EncodeToString([]byte{c}))
		}
		if b.Len() > max+len(prefix) {
			sum := sha256.Sum256([]byte(topic))
			return hashedPrefix + hex.EncodeToString(sum[:16])
		}
	}
	return b.String()
}
