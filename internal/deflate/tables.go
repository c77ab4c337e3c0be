package deflate

// The fixed facts of the DEFLATE format (RFC 1951), computed once.

const (
	// RFC 1951 §3.2.5: match lengths run from 3 to 258 bytes and distances
	// from 1 to 32768 bytes.
	minMatch = 3
	maxMatch = 258

	// RFC 1951 §3.2.4: a stored block holds at most 65535 bytes (LEN is
	// a 16-bit count).
	maxStored = 65535

	// Symbols of the literal/length alphabet (RFC 1951 §3.2.5): 0..255
	// literals, 256 end of block, 257..285 lengths; 286 and 287 never
	// occur in compressed data.
	endOfBlock = 256
	numLitLen  = 286
	numDist    = 30
	numCodeLen = 19

	// RFC 1951 §3.2.7: literal/length and distance codes are at most 15
	// bits long, code length codes at most 7.
	maxCodeBits    = 15
	maxCodeLenBits = 7
)

// lengthBase and lengthExtra describe length codes 257..285 (RFC 1951
// §3.2.5), indexed by code-257.
var (
	lengthBase  [29]uint16
	lengthExtra [29]uint8
	// lengthCode maps a match length minus 3 (0..255) to its code minus
	// 257.
	lengthCode [256]uint8
)

// distBase and distExtra describe distance codes 0..29 (RFC 1951 §3.2.5).
var (
	distBase  [numDist]uint16
	distExtra [numDist]uint8
	// distCodeLow maps distance-1 for distances 1..256 to their code;
	// distCodeHigh maps (distance-1)>>7 for distances above 256, where
	// every code has at least 7 extra bits.
	distCodeLow  [256]uint8
	distCodeHigh [256]uint8
)

// codeLenOrder is the order in which the code length code lengths are
// sent (RFC 1951 §3.2.7).
var codeLenOrder = [numCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// fixedLitLen and fixedDist are the codes of block type 01 (RFC 1951
// §3.2.6), each packed as code | length<<24 with the code bit-reversed for
// the LSB-first bit stream.
var (
	fixedLitLen [288]uint32
	fixedDist   [32]uint32
	// fixedLitLenBits and fixedDistBits are their lengths, for costing.
	fixedLitLenBits [288]uint8
	fixedDistBits   [32]uint8
)

func init() {
	// RFC 1951 §3.2.5: length codes 257..264 have no extra bits, then
	// four codes each with 1, 2, 3, 4 and 5 extra bits; code 285 is 258.
	base := 3
	for c := 0; c < 28; c++ {
		extra := 0
		if c >= 8 {
			extra = c>>2 - 1
		}
		lengthBase[c], lengthExtra[c] = uint16(base), uint8(extra)
		for l := base; l < base+1<<extra && l <= 257; l++ {
			lengthCode[l-minMatch] = uint8(c)
		}
		base += 1 << extra
	}
	lengthBase[28], lengthExtra[28] = 258, 0
	lengthCode[258-minMatch] = 28

	// Distance codes 0..3 have no extra bits, then two codes each with
	// 1, 2, ... 13 extra bits.
	base = 1
	for c := 0; c < numDist; c++ {
		extra := 0
		if c >= 4 {
			extra = c>>1 - 1
		}
		distBase[c], distExtra[c] = uint16(base), uint8(extra)
		for d := base; d < base+1<<extra; d++ {
			if d <= 256 {
				distCodeLow[d-1] = uint8(c)
			} else {
				distCodeHigh[(d-1)>>7] = uint8(c)
			}
		}
		base += 1 << extra
	}

	// RFC 1951 §3.2.6: literal/length 0..143 have 8 bits, 144..255 9
	// bits, 256..279 7 bits, 280..287 8 bits; distances 5 bits.
	var lens [288]uint8
	for i := range lens {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	fixedLitLenBits = lens
	canonicalCodes(fixedLitLen[:], lens[:])
	var dl [32]uint8
	for i := range dl {
		dl[i] = 5
	}
	fixedDistBits = dl
	canonicalCodes(fixedDist[:], dl[:])

	initInflateTables()
}

// distCode returns the distance code of distance d, 1 <= d <= 32768.
func distCode(d int) int {
	if d <= 256 {
		return int(distCodeLow[d-1])
	}
	return int(distCodeHigh[(d-1)>>7])
}
