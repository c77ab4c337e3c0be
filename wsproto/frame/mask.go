package frame

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key, as RFC 6455 §5.3 defines:
// "Octet i of the transformed data ("transformed-octet-i") is the XOR of
// octet i of the original data ("original-octet-i") with octet at index i
// modulo 4 of the masking key". Masking and unmasking are the same
// operation.
//
// pos is the key offset of b[0], taken modulo 4, so that a payload can be
// masked in pieces: Mask returns the key offset of the byte after b,
// (pos+len(b))%4, which is the pos for the next piece. Start a payload with
// pos 0.
//
// Mask works on 32 and 8 bytes per step and allocates nothing.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	next := (pos + len(b)) & 3
	if len(b) >= 8 {
		// k8 is the key repeated twice, rotated so that its first byte
		// in memory order is key[pos]: a little-endian load of eight payload
		// bytes lines up with it, and as 8 is a multiple of 4 the rotation
		// stays right for every following word.
		k4 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
		k8 := uint64(k4)<<32 | uint64(k4)
		for len(b) >= 32 {
			v0 := binary.LittleEndian.Uint64(b[0:8])
			v1 := binary.LittleEndian.Uint64(b[8:16])
			v2 := binary.LittleEndian.Uint64(b[16:24])
			v3 := binary.LittleEndian.Uint64(b[24:32])
			binary.LittleEndian.PutUint64(b[0:8], v0^k8)
			binary.LittleEndian.PutUint64(b[8:16], v1^k8)
			binary.LittleEndian.PutUint64(b[16:24], v2^k8)
			binary.LittleEndian.PutUint64(b[24:32], v3^k8)
			b = b[32:]
		}
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b[0:8])
			binary.LittleEndian.PutUint64(b[0:8], v^k8)
			b = b[8:]
		}
	}
	// Fewer than 8 bytes are left; the key offset is still pos.
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return next
}
