package sseproto

import (
	"math"
	"math/big"
	"strings"
	"time"
)

// This file holds a deliberately simple, line-at-a-time transcription of
// the HTML standard's §9.2.5 "Parsing an event stream" and §9.2.6
// "Interpreting an event stream", and of the Encoding standard's "UTF-8
// decode", used as the reference the Decoder is compared with. It trades
// all speed for being easy to check against the text.

// refEvent is a dispatched event and the stream's reconnection time at the
// moment it was dispatched.
type refEvent struct {
	Type, Data, LastEventID string
	Retry                   time.Duration
	RetrySet                bool
}

// refResult is everything a stream produced.
type refResult struct {
	Events      []refEvent
	LastEventID string // the last event ID string at the end
	Retry       time.Duration
	RetrySet    bool
}

// referenceDecode interprets a whole stream. lastEventID is the last event
// ID string the stream starts with (a reconnection).
func referenceDecode(stream []byte, lastEventID string) refResult {
	// §9.2.5: "Streams must be decoded using the UTF-8 decode algorithm."
	text := whatwgUTF8Decode(stream)

	// §9.2.5: lines end with CRLF, a lone LF or a lone CR. A last line
	// without an end is not a line: §9.2.6 "Once the end of the file is
	// reached, any pending data must be discarded."
	var lines []string
	var line []rune
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\r':
			lines = append(lines, string(line))
			line = line[:0]
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
		case '\n':
			lines = append(lines, string(line))
			line = line[:0]
		default:
			line = append(line, text[i])
		}
	}

	// §9.2.6: "a data buffer, an event type buffer, and a last event ID
	// buffer must be associated with it. They must be initialized to the
	// empty string." The last event ID buffer starts as the last event ID
	// string of the event source, which is what browsers do when they
	// reconnect (web-platform-tests eventsource/format-field-id).
	var res refResult
	res.LastEventID = lastEventID
	var dataBuf strings.Builder // a Builder only so that many data lines cost linear time
	typeBuf, idBuf := "", lastEventID
	for _, line := range lines {
		var field, value string
		switch {
		case line == "":
			// "Dispatch the event". 1: the last event ID string takes
			// the buffer's value.
			res.LastEventID = idBuf
			// 2: "If the data buffer is an empty string, set the data
			// buffer and the event type buffer to the empty string and
			// return."
			if dataBuf.Len() == 0 {
				typeBuf = ""
				continue
			}
			// 3: remove one trailing LF.
			data := strings.TrimSuffix(dataBuf.String(), "\n")
			// 5, 6: type "message" unless the buffer is not empty.
			typ := "message"
			if typeBuf != "" {
				typ = typeBuf
			}
			res.Events = append(res.Events, refEvent{
				Type: typ, Data: data, LastEventID: res.LastEventID,
				Retry: res.Retry, RetrySet: res.RetrySet,
			})
			// 7: reset the data and event type buffers.
			dataBuf.Reset()
			typeBuf = ""
			continue
		case strings.HasPrefix(line, ":"):
			continue
		case strings.Contains(line, ":"):
			i := strings.Index(line, ":")
			field, value = line[:i], line[i+1:]
			value = strings.TrimPrefix(value, " ")
		default:
			field, value = line, ""
		}
		switch field {
		case "event":
			typeBuf = value
		case "data":
			dataBuf.WriteString(value + "\n")
		case "id":
			if !strings.ContainsRune(value, 0) {
				idBuf = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				res.Retry, res.RetrySet = retryDuration(value), true
			}
		}
	}
	return res
}

// retryDuration converts a string of ASCII digits (milliseconds) to a
// time.Duration, saturating where a Duration ends, as the Decoder does.
func retryDuration(digits string) time.Duration {
	n, _ := new(big.Int).SetString(digits, 10)
	maxMS := big.NewInt(math.MaxInt64 / int64(time.Millisecond))
	if n.Cmp(maxMS) > 0 {
		n = maxMS
	}
	return time.Duration(n.Int64()) * time.Millisecond
}

// whatwgUTF8Decode is the Encoding standard's "UTF-8 decode": drop one
// leading BOM, then run the UTF-8 decoder with replacement error mode, one
// byte at a time.
func whatwgUTF8Decode(in []byte) []rune {
	if len(in) >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF {
		in = in[3:]
	}
	var out []rune
	codePoint, bytesNeeded, bytesSeen := 0, 0, 0
	lower, upper := 0x80, 0xBF
	for i := 0; ; {
		if i == len(in) {
			// "If byte is end-of-queue and UTF-8 bytes needed is not 0,
			// set UTF-8 bytes needed to 0 and return error."
			if bytesNeeded != 0 {
				out = append(out, 0xFFFD)
			}
			return out
		}
		b := int(in[i])
		i++
		if bytesNeeded == 0 {
			switch {
			case b <= 0x7F:
				out = append(out, rune(b))
			case 0xC2 <= b && b <= 0xDF:
				bytesNeeded = 1
				codePoint = b & 0x1F
			case 0xE0 <= b && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				}
				if b == 0xED {
					upper = 0x9F
				}
				bytesNeeded = 2
				codePoint = b & 0xF
			case 0xF0 <= b && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				}
				if b == 0xF4 {
					upper = 0x8F
				}
				bytesNeeded = 3
				codePoint = b & 0x7
			default:
				out = append(out, 0xFFFD)
			}
			continue
		}
		// "If byte is not in the range UTF-8 lower boundary to UTF-8
		// upper boundary, inclusive, then: set everything back, restore
		// byte to ioQueue, return error."
		if b < lower || b > upper {
			codePoint, bytesNeeded, bytesSeen = 0, 0, 0
			lower, upper = 0x80, 0xBF
			i--
			out = append(out, 0xFFFD)
			continue
		}
		lower, upper = 0x80, 0xBF
		codePoint = codePoint<<6 | b&0x3F
		bytesSeen++
		if bytesSeen != bytesNeeded {
			continue
		}
		out = append(out, rune(codePoint))
		codePoint, bytesNeeded, bytesSeen = 0, 0, 0
	}
}
