package handshake

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
)

// GUID is the string RFC 6455 §1.3 appends to Sec-WebSocket-Key before
// hashing, "which is unlikely to be used by network endpoints that do not
// understand the WebSocket Protocol".
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Version is the only Sec-WebSocket-Version this package speaks. RFC 6455
// §4.1 item 9: "The value of this header field MUST be 13"; the number is
// registered as "Standard" in the §11.6 registry.
const Version = "13"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
// value: base64(SHA-1(key + GUID)). RFC 6455 §4.2.2 step 5.4: "The value of
// this header field is constructed by concatenating /key/ ... with the
// string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", taking the SHA-1 hash of
// this concatenated value to obtain a 20-byte value and base64-encoding
// ... this 20-byte hash". The key is used as sent, not base64-decoded.
func AcceptKey(key string) string {
	var out [28]byte
	return string(appendAcceptKey(out[:0], key))
}

// appendAcceptKey appends AcceptKey(key) to dst. It allocates only when
// dst lacks room (a key longer than 92 bytes also costs one allocation).
func appendAcceptKey(dst []byte, key string) []byte {
	var buf [128]byte
	sum := sha1.Sum(append(append(buf[:0], key...), GUID...))
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// NewKey returns a fresh Sec-WebSocket-Key value. RFC 6455 §4.1 item 7:
// "The value of this header field MUST be a nonce consisting of a randomly
// selected 16-byte value that has been base64-encoded ... The nonce MUST be
// selected randomly for each connection." The bytes come from crypto/rand,
// whose Read never fails (it ends the program if the operating system's
// source does).
func NewKey() string {
	var nonce [16]byte
	rand.Read(nonce[:])
	var out [24]byte
	base64.StdEncoding.Encode(out[:], nonce[:])
	return string(out[:])
}
