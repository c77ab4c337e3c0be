package conformance

import (
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"
)

// Event is one thing that happened during a case, in the order it
// happened: a frame or chop of bytes sent, a frame or message received, a
// close, the end of the TCP connection, a timeout or a note.
type Event struct {
	// At is the time since the case started, in milliseconds.
	At float64 `json:"at_ms"`
	// Dir is "sent", "recv" or "note".
	Dir string `json:"dir"`
	// Kind names the event: "frame", "bytes", "message", "ping", "pong",
	// "close", "tcp-closed", "violation", "timeout", "handshake", "note".
	Kind string `json:"kind"`
	// Opcode, Fin and Rsv describe a frame.
	Opcode string `json:"opcode,omitempty"`
	Fin    bool   `json:"fin,omitempty"`
	Rsv    int    `json:"rsv,omitempty"`
	// Len is the payload length (or the number of bytes of a "bytes" event).
	Len int64 `json:"len,omitempty"`
	// Data is the payload, or its first 64 bytes: as text when it is
	// printable UTF-8, else as "hex:" and hex digits.
	Data string `json:"data,omitempty"`
	// Code and Reason are a close frame's status code and reason.
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Text explains a note, timeout or violation.
	Text string `json:"text,omitempty"`
}

// preview returns the display form of a payload for Event.Data.
func preview(p []byte) string {
	const max = 64
	cut := p
	if len(cut) > max {
		cut = cut[:max]
	}
	printable := utf8.Valid(p)
	for _, r := range string(cut) {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			printable = false
			break
		}
	}
	var s string
	if printable {
		s = string(cut)
		for !utf8.ValidString(s) { // cut inside a character
			s = s[:len(s)-1]
		}
	} else {
		s = "hex:" + hex.EncodeToString(cut)
	}
	if len(p) > max {
		s += fmt.Sprintf("… (%d bytes)", len(p))
	}
	return s
}

// ms converts a duration to float milliseconds rounded to 0.01 ms.
func ms(d time.Duration) float64 { return float64(d/(10*time.Microsecond)) / 100 }
