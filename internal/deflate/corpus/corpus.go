// Package corpus generates the deterministic test and benchmark inputs of
// package deflate: English-like text, JSON messages and binary records,
// with the statistics of real application messages (a skewed vocabulary,
// repeated keys, slowly varying numbers) but no files to commit. The same
// kind, size and seed always give the same bytes.
package corpus

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
)

// Kinds lists the kinds Generate knows, in the order benchmarks report
// them.
var kinds = []string{"text", "json", "binary", "random"}

// Kinds returns the names of the corpus kinds: "text", "json", "binary"
// and "random" (incompressible).
func Kinds() []string { return append([]string(nil), kinds...) }

// Generate returns n bytes of the named kind for seed; it returns nil for
// an unknown kind.
func Generate(kind string, n int, seed uint64) []byte {
	switch kind {
	case "text":
		return Text(n, seed)
	case "json":
		return JSON(n, seed)
	case "binary":
		return Binary(n, seed)
	case "random":
		return Random(n, seed)
	}
	return nil
}

// words is a vocabulary in rough order of frequency; Text draws from it
// with Zipf-like weights.
var words = [...]string{
	"the", "of", "and", "to", "a", "in", "is", "it", "that", "was",
	"for", "on", "are", "with", "as", "his", "they", "be", "at", "one",
	"have", "this", "from", "or", "had", "by", "not", "but", "what", "some",
	"we", "can", "out", "other", "were", "all", "there", "when", "up", "use",
	"your", "how", "said", "an", "each", "she", "which", "do", "their", "time",
	"if", "will", "way", "about", "many", "then", "them", "write", "would", "like",
	"so", "these", "her", "long", "make", "thing", "see", "him", "two", "has",
	"look", "more", "day", "could", "go", "come", "did", "number", "sound", "no",
	"most", "people", "my", "over", "know", "water", "than", "call", "first", "who",
	"may", "down", "side", "been", "now", "find", "any", "new", "work", "part",
	"take", "get", "place", "made", "live", "where", "after", "back", "little", "only",
	"round", "man", "year", "came", "show", "every", "good", "me", "give", "our",
	"under", "name", "very", "through", "just", "form", "sentence", "great", "think", "say",
	"help", "low", "line", "differ", "turn", "cause", "much", "mean", "before", "move",
	"right", "boy", "old", "too", "same", "tell", "does", "set", "three", "want",
	"air", "well", "also", "play", "small", "end", "put", "home", "read", "hand",
	"port", "large", "spell", "add", "even", "land", "here", "must", "big", "high",
	"such", "follow", "act", "why", "ask", "men", "change", "went", "light", "kind",
	"off", "need", "house", "picture", "try", "us", "again", "animal", "point", "mother",
	"world", "near", "build", "self", "earth", "father", "head", "stand", "own", "page",
	"should", "country", "found", "answer", "school", "grow", "study", "still", "learn", "plant",
	"cover", "food", "sun", "four", "between", "state", "keep", "eye", "never", "last",
	"let", "thought", "city", "tree", "cross", "farm", "hard", "start", "might", "story",
	"saw", "far", "sea", "draw", "left", "late", "run", "while", "press", "close",
	"night", "real", "life", "few", "north", "open", "seem", "together", "next", "white",
	"children", "begin", "got", "walk", "example", "ease", "paper", "group", "always", "music",
	"those", "both", "mark", "often", "letter", "until", "mile", "river", "car", "feet",
	"care", "second", "book", "carry", "took", "science", "eat", "room", "friend", "began",
	"idea", "fish", "mountain", "stop", "once", "base", "hear", "horse", "cut", "sure",
	"watch", "color", "face", "wood", "main", "enough", "plain", "girl", "usual", "young",
	"ready", "above", "ever", "red", "list", "though", "feel", "talk", "bird", "soon",
	"body", "dog", "family", "direct", "pose", "leave", "song", "measure", "door", "product",
	"black", "short", "numeral", "class", "wind", "question", "happen", "complete", "ship", "area",
	"half", "rock", "order", "fire", "south", "problem", "piece", "told", "knew", "pass",
	"since", "top", "whole", "king", "space", "heard", "best", "hour", "better", "true",
	"during", "hundred", "five", "remember", "step", "early", "hold", "west", "ground", "interest",
	"reach", "fast", "verb", "sing", "listen", "six", "table", "travel", "less", "morning",
	"ten", "simple", "several", "vowel", "toward", "war", "lay", "against", "pattern", "slow",
	"center", "love", "person", "money", "serve", "appear", "road", "map", "rain", "rule",
	"govern", "pull", "cold", "notice", "voice", "unit", "power", "town", "fine", "certain",
}

// zipf draws an index below n with probability about proportional to
// 1/(rank+1).
func zipf(r *rand.Rand, n int) int {
	// Inverse of the continuous approximation: rank = n^u - 1.
	x := math.Pow(float64(n+1), r.Float64()) - 1
	return min(int(x), n-1)
}

// Text returns n bytes of English-like prose: sentences of Zipf-drawn
// words with capitals, commas and paragraphs.
func Text(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x7e47))
	b := make([]byte, 0, n+64)
	for len(b) < n {
		sentences := 3 + r.IntN(5)
		for s := 0; s < sentences && len(b) < n; s++ {
			nw := 5 + r.IntN(16)
			for w := range nw {
				word := words[zipf(r, len(words))]
				if w == 0 {
					b = append(b, word[0]-'a'+'A')
					b = append(b, word[1:]...)
				} else {
					b = append(b, word...)
				}
				switch {
				case w == nw-1:
					b = append(b, ".?!."[r.IntN(4)])
				case r.IntN(9) == 0:
					b = append(b, ',')
				}
				b = append(b, ' ')
			}
		}
		b = append(b, '\n', '\n')
	}
	return b[:n]
}

var (
	events = [...]string{"join", "leave", "message", "typing", "trade", "quote", "cancel", "fill", "presence", "ack"}
	rooms  = [...]string{"general", "random", "engineering", "support", "market-eu", "market-us", "ops"}
)

// JSON returns n bytes of JSON-like event records of the kind a push
// service sends: an array of objects with the same keys, counters,
// user names from a small population, timestamps, prices and short text.
// A record may be cut at the end.
func JSON(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x150e))
	b := make([]byte, 0, n+512)
	b = append(b, '[')
	id := int(seed%100000) * 1000
	ts := int64(1_700_000_000_000) + int64(seed%1000)*60_000
	price := 10000 + int(seed%5000)
	for len(b) < n {
		id++
		ts += int64(r.IntN(2000))
		price += r.IntN(41) - 20
		ev := events[zipf(r, len(events))]
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, `,"ts":`...)
		b = strconv.AppendInt(b, ts, 10)
		b = append(b, `,"room":"`...)
		b = append(b, rooms[zipf(r, len(rooms))]...)
		b = append(b, `","user":{"id":"u-`...)
		u := zipf(r, 5000)
		b = strconv.AppendInt(b, int64(u*7919%100000), 10)
		b = append(b, `","name":"`...)
		b = append(b, words[u%len(words)]...)
		b = append(b, '_')
		b = append(b, words[(u/7)%len(words)]...)
		b = append(b, `"},"event":"`...)
		b = append(b, ev...)
		b = append(b, '"')
		switch ev {
		case "trade", "quote", "fill", "cancel":
			b = append(b, `,"price":`...)
			b = strconv.AppendInt(b, int64(price/100), 10)
			b = append(b, '.')
			b = append(b, byte('0'+price/10%10), byte('0'+price%10))
			b = append(b, `,"qty":`...)
			b = strconv.AppendInt(b, int64(1+r.IntN(500)), 10)
			b = append(b, `,"side":"`...)
			b = append(b, [2]string{"buy", "sell"}[r.IntN(2)]...)
			b = append(b, '"')
		case "message":
			b = append(b, `,"text":"`...)
			b = append(b, Text(20+r.IntN(100), r.Uint64())...)
			b = append(b, '"')
		}
		b = append(b, `,"ok":`...)
		b = append(b, [2]string{"true", "false"}[min(1, r.IntN(8))]...)
		b = append(b, "},"...)
	}
	for i, c := range b {
		if c == '\n' {
			b[i] = ' '
		}
	}
	return b[:n]
}

// Binary returns n bytes of binary telemetry records: a little-endian
// header with a counter, a timestamp and flags, then sensor readings as
// float32 random walks, and now and then a short random blob.
func Binary(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0xb1a7))
	b := make([]byte, 0, n+128)
	var vals [6]float32
	for i := range vals {
		vals[i] = float32(r.IntN(1000))
	}
	seq := uint32(seed)
	ts := uint64(1_700_000_000_000_000) + seed
	for len(b) < n {
		seq++
		ts += uint64(900 + r.IntN(200))
		b = binary.LittleEndian.AppendUint32(b, 0xCAFE0001)
		b = binary.LittleEndian.AppendUint32(b, seq)
		b = binary.LittleEndian.AppendUint64(b, ts)
		b = binary.LittleEndian.AppendUint16(b, uint16(r.IntN(4))<<8|uint16(zipf(r, 16)))
		for i := range vals {
			vals[i] += float32(r.IntN(21)-10) / 4
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(vals[i]))
		}
		if r.IntN(4) == 0 {
			k := 4 + r.IntN(24)
			b = append(b, byte(k))
			for range k {
				b = append(b, byte(r.Uint32()))
			}
		}
	}
	return b[:n]
}

// Random returns n bytes that do not compress.
func Random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
	return b
}
