package frame

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// wire builds bytes from fields written as bit strings ("1 000 0001"; spaces
// are ignored, and the bits must add up to whole bytes) or as hex
// ("0x37fa213d").
func wire(fields ...string) []byte {
	var out []byte
	bits := ""
	for _, f := range fields {
		if hx, ok := strings.CutPrefix(f, "0x"); ok {
			b, err := hex.DecodeString(hx)
			if err != nil || bits != "" {
				panic(fmt.Sprintf("wire: bad hex field %q", f))
			}
			out = append(out, b...)
			continue
		}
		bits += strings.ReplaceAll(f, " ", "")
		for len(bits) >= 8 {
			v, err := strconv.ParseUint(bits[:8], 2, 8)
			if err != nil {
				panic(fmt.Sprintf("wire: bad bit field %q", f))
			}
			out = append(out, byte(v))
			bits = bits[8:]
		}
	}
	if bits != "" {
		panic(fmt.Sprintf("wire: %d bits left over", len(bits)))
	}
	return out
}

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// headerTests are frame headers in their minimal encoding, as PutHeader
// writes them and ParseHeader reads them (RFC 6455 §5.2).
var headerTests = []struct {
	name string
	wire []byte
	h    Header
}{
	// Payload lengths at every boundary of the three encodings.
	{
		name: "len 0",
		wire: wire(
			"1 000 0001", // FIN=1 RSV=000 opcode=0x1 text
			"0 0000000",  // MASK=0 len=0
		),
		h: Header{Fin: true, Opcode: OpText},
	},
	{
		name: "len 0 masked",
		wire: wire(
			"1 000 0001", // FIN=1 RSV=000 opcode=0x1 text
			"1 0000000",  // MASK=1 len=0
			"0x37fa213d", // masking key
		),
		h: Header{Fin: true, Opcode: OpText, Masked: true, Mask: testKey},
	},
	{
		name: "len 1",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"0 0000001",  // MASK=0 len=1
		),
		h: Header{Fin: true, Opcode: OpBinary, Length: 1},
	},
	{
		name: "len 1 masked",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"1 0000001",  // MASK=1 len=1
			"0x37fa213d", // masking key
		),
		h: Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 1},
	},
	{
		name: "len 125",
		wire: wire(
			"1 000 1001", // FIN=1 RSV=000 opcode=0x9 ping
			"0 1111101",  // MASK=0 len=125
		),
		h: Header{Fin: true, Opcode: OpPing, Length: 125},
	},
	{
		name: "len 125 masked",
		wire: wire(
			"1 000 1001", // FIN=1 RSV=000 opcode=0x9 ping
			"1 1111101",  // MASK=1 len=125
			"0x37fa213d", // masking key
		),
		h: Header{Fin: true, Opcode: OpPing, Masked: true, Mask: testKey, Length: 125},
	},
	{
		name: "len 126",
		wire: wire(
			"1 000 0010",        // FIN=1 RSV=000 opcode=0x2 binary
			"0 1111110",         // MASK=0 len=126: 16-bit length follows
			"00000000 01111110", // 126
		),
		h: Header{Fin: true, Opcode: OpBinary, Length: 126},
	},
	{
		name: "len 126 masked",
		wire: wire(
			"1 000 0010",        // FIN=1 RSV=000 opcode=0x2 binary
			"1 1111110",         // MASK=1 len=126: 16-bit length follows
			"00000000 01111110", // 126
			"0x37fa213d",        // masking key
		),
		h: Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 126},
	},
	{
		name: "len 127",
		wire: wire(
			"0 000 0001",        // FIN=0 RSV=000 opcode=0x1 text
			"0 1111110",         // MASK=0 len=126: 16-bit length follows
			"00000000 01111111", // 127
		),
		h: Header{Opcode: OpText, Length: 127},
	},
	{
		name: "len 127 masked",
		wire: wire(
			"0 000 0001",        // FIN=0 RSV=000 opcode=0x1 text
			"1 1111110",         // MASK=1 len=126: 16-bit length follows
			"00000000 01111111", // 127
			"0x37fa213d",        // masking key
		),
		h: Header{Opcode: OpText, Masked: true, Mask: testKey, Length: 127},
	},
	{
		name: "len 65535",
		wire: wire(
			"1 000 0000",        // FIN=1 RSV=000 opcode=0x0 continuation
			"0 1111110",         // MASK=0 len=126: 16-bit length follows
			"11111111 11111111", // 65535
		),
		h: Header{Fin: true, Opcode: OpContinuation, Length: 65535},
	},
	{
		name: "len 65535 masked",
		wire: wire(
			"1 000 0000",        // FIN=1 RSV=000 opcode=0x0 continuation
			"1 1111110",         // MASK=1 len=126: 16-bit length follows
			"11111111 11111111", // 65535
			"0x37fa213d",        // masking key
		),
		h: Header{Fin: true, Opcode: OpContinuation, Masked: true, Mask: testKey, Length: 65535},
	},
	{
		name: "len 65536",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"0 1111111",  // MASK=0 len=127: 64-bit length follows
			"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000", // 65536
		),
		h: Header{Fin: true, Opcode: OpBinary, Length: 65536},
	},
	{
		name: "len 65536 masked",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"1 1111111",  // MASK=1 len=127: 64-bit length follows
			"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000", // 65536
			"0x37fa213d", // masking key
		),
		h: Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 65536},
	},
	{
		name: "len 1<<32",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"0 1111111",  // MASK=0 len=127: 64-bit length follows
			"00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000", // 1<<32
		),
		h: Header{Fin: true, Opcode: OpBinary, Length: 1 << 32},
	},
	{
		name: "len 1<<32 masked",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"1 1111111",  // MASK=1 len=127: 64-bit length follows
			"00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000", // 1<<32
			"0x37fa213d", // masking key
		),
		h: Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 1 << 32},
	},
	{
		name: "len 1<<63-1",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"0 1111111",  // MASK=0 len=127: 64-bit length follows
			"01111111 11111111 11111111 11111111 11111111 11111111 11111111 11111111", // 1<<63-1
		),
		h: Header{Fin: true, Opcode: OpBinary, Length: math.MaxInt64},
	},
	{
		name: "len 1<<63-1 masked",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"1 1111111",  // MASK=1 len=127: 64-bit length follows
			"01111111 11111111 11111111 11111111 11111111 11111111 11111111 11111111", // 1<<63-1
			"0xffffffff", // masking key
		),
		h: Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: [4]byte{0xff, 0xff, 0xff, 0xff}, Length: math.MaxInt64},
	},

	// Every combination of the reserved bits.
	{
		name: "rsv 000",
		wire: wire("1 000 0001", "0 0000011"), // FIN=1 RSV=000 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: 0, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 100",
		wire: wire("1 100 0001", "0 0000011"), // FIN=1 RSV=100 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: Rsv1, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 010",
		wire: wire("1 010 0001", "0 0000011"), // FIN=1 RSV=010 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: Rsv2, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 001",
		wire: wire("1 001 0001", "0 0000011"), // FIN=1 RSV=001 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: Rsv3, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 110",
		wire: wire("1 110 0001", "0 0000011"), // FIN=1 RSV=110 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: Rsv1 | Rsv2, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 101",
		wire: wire("1 101 0001", "0 0000011"), // FIN=1 RSV=101 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: Rsv1 | Rsv3, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 011",
		wire: wire("1 011 0001", "0 0000011"), // FIN=1 RSV=011 text, MASK=0 len=3
		h:    Header{Fin: true, Rsv: Rsv2 | Rsv3, Opcode: OpText, Length: 3},
	},
	{
		name: "rsv 111 masked",
		wire: wire("1 111 0001", "1 0000011", "0x37fa213d"), // FIN=1 RSV=111 text, MASK=1 len=3, key
		h:    Header{Fin: true, Rsv: Rsv1 | Rsv2 | Rsv3, Opcode: OpText, Masked: true, Mask: testKey, Length: 3},
	},

	// Opcodes, including ones CheckHeader rejects: decoding does not judge.
	{
		name: "close masked",
		wire: wire(
			"1 000 1000", // FIN=1 RSV=000 opcode=0x8 close
			"1 0000010",  // MASK=1 len=2
			"0x01020304", // masking key
		),
		h: Header{Fin: true, Opcode: OpClose, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 2},
	},
	{
		name: "pong",
		wire: wire(
			"1 000 1010", // FIN=1 RSV=000 opcode=0xA pong
			"0 0000100",  // MASK=0 len=4
		),
		h: Header{Fin: true, Opcode: OpPong, Length: 4},
	},
	{
		name: "reserved opcode 0x3",
		wire: wire(
			"1 000 0011", // FIN=1 RSV=000 opcode=0x3 reserved
			"0 0000000",  // MASK=0 len=0
		),
		h: Header{Fin: true, Opcode: 0x3},
	},
	{
		name: "reserved opcode 0xF fragmented",
		wire: wire(
			"0 000 1111", // FIN=0 RSV=000 opcode=0xF reserved
			"0 0000000",  // MASK=0 len=0
		),
		h: Header{Opcode: 0xF},
	},
	{
		name: "all bits set",
		wire: wire(
			"1 111 1111",        // FIN=1 RSV=111 opcode=0xF reserved
			"1 1111110",         // MASK=1 len=126: 16-bit length follows
			"11111111 11111111", // 65535
			"0xffffffff",        // masking key
		),
		h: Header{Fin: true, Rsv: 0x70, Opcode: 0xF, Masked: true, Mask: [4]byte{0xff, 0xff, 0xff, 0xff}, Length: 65535},
	},
}

func TestPutHeader(t *testing.T) {
	for _, tt := range headerTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.Size(); got != len(tt.wire) {
				t.Errorf("%+v.Size() = %d, want %d", tt.h, got, len(tt.wire))
			}
			var buf [MaxHeaderSize + 1]byte
			for i := range buf {
				buf[i] = 0xEE
			}
			n := PutHeader(buf[:], tt.h)
			if got := buf[:n]; !bytes.Equal(got, tt.wire) {
				t.Errorf("PutHeader(%+v) wrote %x, want %x", tt.h, got, tt.wire)
			}
			for i := n; i < len(buf); i++ {
				if buf[i] != 0xEE {
					t.Errorf("PutHeader(%+v) wrote byte %d, past the header", tt.h, i)
				}
			}
			// Exactly Size bytes are enough.
			exact := make([]byte, len(tt.wire))
			if n := PutHeader(exact, tt.h); n != len(tt.wire) || !bytes.Equal(exact, tt.wire) {
				t.Errorf("PutHeader(%d-byte buffer, %+v) = %d, %x; want %d, %x", len(exact), tt.h, n, exact, len(tt.wire), tt.wire)
			}
			prefix := []byte("xyz")
			want := append([]byte("xyz"), tt.wire...)
			if got := AppendHeader(prefix, tt.h); !bytes.Equal(got, want) {
				t.Errorf("AppendHeader(%q, %+v) = %x, want %x", prefix, tt.h, got, want)
			}
		})
	}
}

func TestPutHeaderShortBuffer(t *testing.T) {
	for _, tt := range headerTests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, len(tt.wire)-1, MaxHeaderSize) // room in cap, not in len
			defer func() {
				if recover() == nil {
					t.Errorf("PutHeader(%d-byte buffer, %+v) did not panic", len(buf), tt.h)
				}
				if !bytes.Equal(buf, make([]byte, len(buf))) {
					t.Errorf("PutHeader(%d-byte buffer, %+v) wrote %x before panicking", len(buf), tt.h, buf)
				}
			}()
			PutHeader(buf, tt.h)
		})
	}
}

func TestPutHeaderIgnoresExtraBits(t *testing.T) {
	h := Header{Rsv: 0xFF, Opcode: 0xF1}
	want := wire(
		"0 111 0001", // FIN=0 from Fin, not from Rsv; RSV=111; opcode=0x1
		"0 0000000",  // MASK=0 len=0
	)
	if got := AppendHeader(nil, h); !bytes.Equal(got, want) {
		t.Errorf("AppendHeader(nil, %+v) = %x, want %x", h, got, want)
	}
}

func TestPutHeaderNegativeLength(t *testing.T) {
	// A negative Length is written as a 64-bit length with its most
	// significant bit set, for conformance tests, and ParseHeader rejects it.
	h := Header{Fin: true, Opcode: OpBinary, Length: -1}
	want := wire(
		"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
		"0 1111111",  // MASK=0 len=127: 64-bit length follows
		"11111111 11111111 11111111 11111111 11111111 11111111 11111111 11111111",
	)
	if got := h.Size(); got != len(want) {
		t.Errorf("%+v.Size() = %d, want %d", h, got, len(want))
	}
	got := AppendHeader(nil, h)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendHeader(nil, %+v) = %x, want %x", h, got, want)
	}
	if _, err := ParseHeader(got); !errors.Is(err, ErrProtocol) {
		t.Errorf("ParseHeader(%x) error = %v, want %v", got, err, ErrProtocol)
	}
}

func TestParseHeader(t *testing.T) {
	for _, tt := range headerTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HeaderSize(tt.wire); got != len(tt.wire) {
				t.Errorf("HeaderSize(% x) = %d, want %d", tt.wire, got, len(tt.wire))
			}
			h, err := ParseHeader(tt.wire)
			if err != nil || h != tt.h {
				t.Errorf("ParseHeader(%x) = %+v, %v; want %+v, nil", tt.wire, h, err, tt.h)
			}
			// Bytes after the header are not part of it.
			long := append(append([]byte(nil), tt.wire...), 0xFF, 0xFF, 0xFF, 0xFF)
			h, err = ParseHeader(long)
			if err != nil || h != tt.h {
				t.Errorf("ParseHeader(%x) = %+v, %v; want %+v, nil", long, h, err, tt.h)
			}
		})
	}
}

func TestParseHeaderNonMinimal(t *testing.T) {
	// RFC 6455 §5.2's "the minimal number of bytes MUST be used" binds the
	// sender; a receiver that decodes these loses nothing.
	tests := []struct {
		name string
		wire []byte
		h    Header
	}{
		{
			name: "len 5 in 16 bits",
			wire: wire(
				"1 000 0001",        // FIN=1 RSV=000 opcode=0x1 text
				"0 1111110",         // MASK=0 len=126: 16-bit length follows
				"00000000 00000101", // 5
			),
			h: Header{Fin: true, Opcode: OpText, Length: 5},
		},
		{
			name: "len 0 in 64 bits masked",
			wire: wire(
				"1 000 0001", // FIN=1 RSV=000 opcode=0x1 text
				"1 1111111",  // MASK=1 len=127: 64-bit length follows
				"00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000", // 0
				"0x37fa213d", // masking key
			),
			h: Header{Fin: true, Opcode: OpText, Masked: true, Mask: testKey},
		},
		{
			name: "len 65535 in 64 bits",
			wire: wire(
				"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
				"0 1111111",  // MASK=0 len=127: 64-bit length follows
				"00000000 00000000 00000000 00000000 00000000 00000000 11111111 11111111", // 65535
			),
			h: Header{Fin: true, Opcode: OpBinary, Length: 65535},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HeaderSize(tt.wire); got != len(tt.wire) {
				t.Errorf("HeaderSize(% x) = %d, want %d", tt.wire, got, len(tt.wire))
			}
			h, err := ParseHeader(tt.wire)
			if err != nil || h != tt.h {
				t.Errorf("ParseHeader(%x) = %+v, %v; want %+v, nil", tt.wire, h, err, tt.h)
			}
			if h.Size() >= len(tt.wire) {
				t.Errorf("%+v.Size() = %d, want less than the %d bytes received", h, h.Size(), len(tt.wire))
			}
		})
	}
}

var headerErrorTests = []struct {
	name string
	wire []byte
	err  error
}{
	{
		name: "64-bit length with the top bit set",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"0 1111111",  // MASK=0 len=127: 64-bit length follows
			"10000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000", // 1<<63
		),
		err: ErrProtocol,
	},
	{
		name: "64-bit length all ones masked",
		wire: wire(
			"1 000 0010", // FIN=1 RSV=000 opcode=0x2 binary
			"1 1111111",  // MASK=1 len=127: 64-bit length follows
			"11111111 11111111 11111111 11111111 11111111 11111111 11111111 11111111", // 1<<64-1
			"0x37fa213d", // masking key
		),
		err: ErrProtocol,
	},
	{name: "empty", wire: nil, err: io.ErrUnexpectedEOF},
	{name: "1 byte", wire: wire("1 000 0001"), err: io.ErrUnexpectedEOF},
	{
		name: "16-bit length cut",
		wire: wire("1 000 0001", "0 1111110", "00000001"), // 1 of 2 length bytes
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "64-bit length cut",
		wire: wire("1 000 0001", "0 1111111", "0x00000000000001"), // 7 of 8 length bytes
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "masking key cut",
		wire: wire("1 000 0001", "1 0000001", "0x37fa21"), // 3 of 4 key bytes
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "masking key missing after 16-bit length",
		wire: wire("1 000 0001", "1 1111110", "0x0100"), // no key bytes
		err:  io.ErrUnexpectedEOF,
	},
}

func TestParseHeaderErrors(t *testing.T) {
	for _, tt := range headerErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(tt.wire)
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseHeader(%x) = %+v, %v; want error %v", tt.wire, h, err, tt.err)
			}
			if h != (Header{}) {
				t.Errorf("ParseHeader(%x) = %+v with its error, want the zero Header", tt.wire, h)
			}
		})
	}
}

func TestHeaderSize(t *testing.T) {
	tests := []struct {
		b1   byte
		want int
	}{
		{0x00, 2},  // MASK=0 len=0
		{0x7D, 2},  // MASK=0 len=125
		{0x7E, 4},  // MASK=0 len=126
		{0x7F, 10}, // MASK=0 len=127
		{0x80, 6},  // MASK=1 len=0
		{0xFD, 6},  // MASK=1 len=125
		{0xFE, 8},  // MASK=1 len=126
		{0xFF, 14}, // MASK=1 len=127
	}
	for _, tt := range tests {
		for _, b0 := range []byte{0x00, 0x81, 0xFF} {
			if got := HeaderSize([]byte{b0, tt.b1}); got != tt.want {
				t.Errorf("HeaderSize([%#x %#x]) = %d, want %d", b0, tt.b1, got, tt.want)
			}
		}
	}
}

// headerStream is every header of headerTests, one after another.
func headerStream() []byte {
	var s []byte
	for _, tt := range headerTests {
		s = append(s, tt.wire...)
	}
	return s
}

var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
}

func TestReadHeader(t *testing.T) {
	stream := headerStream()
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.wrap(bytes.NewReader(stream))
			var scratch [MaxHeaderSize]byte
			for _, tt := range headerTests {
				h, err := ReadHeader(r, &scratch)
				if err != nil || h != tt.h {
					t.Fatalf("ReadHeader(%x) = %+v, %v; want %+v, nil", tt.wire, h, err, tt.h)
				}
			}
			if h, err := ReadHeader(r, &scratch); err != io.EOF {
				t.Errorf("ReadHeader(end of stream) = %+v, %v; want %v", h, err, io.EOF)
			}
		})
	}
}

func TestReadHeaderTruncated(t *testing.T) {
	for _, tt := range headerTests {
		for cut := 0; cut < len(tt.wire); cut++ {
			want := io.ErrUnexpectedEOF
			if cut == 0 {
				want = io.EOF
			}
			for _, rd := range readers {
				t.Run(fmt.Sprintf("%s/%d of %d bytes/%s", tt.name, cut, len(tt.wire), rd.name), func(t *testing.T) {
					var scratch [MaxHeaderSize]byte
					r := rd.wrap(bytes.NewReader(tt.wire[:cut]))
					if h, err := ReadHeader(r, &scratch); err != want {
						t.Errorf("ReadHeader(%x) = %+v, %v; want %v", tt.wire[:cut], h, err, want)
					}
				})
			}
		}
	}
}

func TestReadHeaderErrors(t *testing.T) {
	var scratch [MaxHeaderSize]byte
	// A read error other than EOF comes back as it is.
	errRead := errors.New("read failed")
	r := io.MultiReader(bytes.NewReader(headerTests[len(headerTests)-1].wire[:3]), iotest.ErrReader(errRead))
	if h, err := ReadHeader(r, &scratch); err != errRead {
		t.Errorf("ReadHeader(3 bytes, then an error) = %+v, %v; want %v", h, err, errRead)
	}
	// ParseHeader's checks apply.
	top := headerErrorTests[0].wire
	if h, err := ReadHeader(iotest.OneByteReader(bytes.NewReader(top)), &scratch); !errors.Is(err, ErrProtocol) {
		t.Errorf("ReadHeader(%x) = %+v, %v; want %v", top, h, err, ErrProtocol)
	}
}

func TestCheckHeader(t *testing.T) {
	const (
		server = true  // wantMasked: frames from a client are masked
		client = false // wantMasked: frames from a server are not
	)
	tests := []struct {
		name       string
		h          Header
		rsvAllowed byte
		wantMasked bool
		err        string // part of the error naming the rule; "" for none
	}{
		{"server: masked text", Header{Fin: true, Opcode: OpText, Masked: true, Length: 10}, 0, server, ""},
		{"client: unmasked text", Header{Fin: true, Opcode: OpText, Length: 10}, 0, client, ""},
		{"server: first fragment", Header{Opcode: OpBinary, Masked: true, Length: 1 << 40}, 0, server, ""},
		{"client: continuation", Header{Opcode: OpContinuation, Length: 3}, 0, client, ""},
		{"server: final continuation", Header{Fin: true, Opcode: OpContinuation, Masked: true}, 0, server, ""},
		{"server: close 125", Header{Fin: true, Opcode: OpClose, Masked: true, Length: 125}, 0, server, ""},
		{"client: ping 0", Header{Fin: true, Opcode: OpPing}, 0, client, ""},
		{"client: pong 125", Header{Fin: true, Opcode: OpPong, Length: 125}, 0, client, ""},
		{"deflate server: compressed text", Header{Fin: true, Rsv: Rsv1, Opcode: OpText, Masked: true}, Rsv1, server, ""},
		{"deflate client: compressed first fragment", Header{Rsv: Rsv1, Opcode: OpBinary}, Rsv1, client, ""},
		{"deflate client: uncompressed ping", Header{Fin: true, Opcode: OpPing}, Rsv1, client, ""},
		{"all rsv allowed", Header{Fin: true, Rsv: 0x70, Opcode: OpText}, 0x70, client, ""},

		// RFC 6455 §5.2: unknown opcodes.
		{"server: opcode 0x3", Header{Fin: true, Opcode: 0x3, Masked: true}, 0, server, "reserved opcode 0x3"},
		{"client: opcode 0x7", Header{Fin: true, Opcode: 0x7}, 0, client, "reserved opcode 0x7"},
		{"server: opcode 0xB", Header{Fin: true, Opcode: 0xB, Masked: true}, 0, server, "reserved opcode 0xb"},
		{"client: opcode 0xF", Header{Fin: true, Opcode: 0xF}, 0, client, "reserved opcode 0xf"},
		{"client: opcode 0x10", Header{Fin: true, Opcode: 0x10}, 0, client, "reserved opcode 0x10"},

		// RFC 6455 §5.2: reserved bits without an extension.
		{"server: rsv1", Header{Fin: true, Rsv: Rsv1, Opcode: OpText, Masked: true}, 0, server, "reserved bits 0x40"},
		{"client: rsv2", Header{Fin: true, Rsv: Rsv2, Opcode: OpText}, 0, client, "reserved bits 0x20"},
		{"client: rsv3", Header{Fin: true, Rsv: Rsv3, Opcode: OpBinary}, 0, client, "reserved bits 0x10"},
		{"deflate server: rsv2", Header{Fin: true, Rsv: Rsv1 | Rsv2, Opcode: OpText, Masked: true}, Rsv1, server, "reserved bits 0x20"},
		{"deflate client: rsv3 on ping", Header{Fin: true, Rsv: Rsv3, Opcode: OpPing}, Rsv1, client, "reserved bits 0x10"},
		{"bit outside 0x70", Header{Fin: true, Rsv: 0x80, Opcode: OpText}, 0xFF, client, "reserved bits 0x80"},

		// RFC 7692 §6: no compressed bit on control frames and non-first fragments.
		{"deflate server: rsv1 on close", Header{Fin: true, Rsv: Rsv1, Opcode: OpClose, Masked: true}, Rsv1, server, "RSV1"},
		{"deflate client: rsv1 on ping", Header{Fin: true, Rsv: Rsv1, Opcode: OpPing}, Rsv1, client, "RSV1"},
		{"deflate client: rsv1 on pong", Header{Fin: true, Rsv: Rsv1, Opcode: OpPong}, Rsv1, client, "RSV1"},
		{"deflate server: rsv1 on continuation", Header{Rsv: Rsv1, Opcode: OpContinuation, Masked: true}, Rsv1, server, "RSV1"},

		// RFC 6455 §5.1: masking direction.
		{"server: unmasked text", Header{Fin: true, Opcode: OpText}, 0, server, "not masked"},
		{"server: unmasked close", Header{Fin: true, Opcode: OpClose}, 0, server, "not masked"},
		{"client: masked text", Header{Fin: true, Opcode: OpText, Masked: true}, 0, client, "is masked"},
		{"client: masked pong", Header{Fin: true, Opcode: OpPong, Masked: true}, 0, client, "is masked"},

		// RFC 6455 §5.5: control frames are short and whole.
		{"server: ping 126", Header{Fin: true, Opcode: OpPing, Masked: true, Length: 126}, 0, server, "more than 125"},
		{"client: close 126", Header{Fin: true, Opcode: OpClose, Length: 126}, 0, client, "more than 125"},
		{"client: pong 1<<63-1", Header{Fin: true, Opcode: OpPong, Length: math.MaxInt64}, 0, client, "more than 125"},
		{"server: fragmented ping", Header{Opcode: OpPing, Masked: true}, 0, server, "fragmented"},
		{"client: fragmented close", Header{Opcode: OpClose, Length: 2}, 0, client, "fragmented"},
		{"client: fragmented pong", Header{Opcode: OpPong}, 0, client, "fragmented"},

		// RFC 6455 §5.2: a length that only a hand-built Header can have.
		{"negative length", Header{Fin: true, Opcode: OpBinary, Length: -1}, 0, client, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHeader(tt.h, tt.rsvAllowed, sender(tt.wantMasked))
			if tt.err == "" {
				if err != nil {
					t.Errorf("CheckHeader(%+v, %#x, %v) = %v, want nil", tt.h, tt.rsvAllowed, tt.wantMasked, err)
				}
				return
			}
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("CheckHeader(%+v, %#x, %v) = %v, want %v naming %q", tt.h, tt.rsvAllowed, tt.wantMasked, err, ErrProtocol, tt.err)
			}
		})
	}
}

func TestHeaderAllocs(t *testing.T) {
	h := headerTests[len(headerTests)-1].h
	var buf [MaxHeaderSize]byte
	if n := testing.AllocsPerRun(100, func() { PutHeader(buf[:], h) }); n != 0 {
		t.Errorf("PutHeader: %v allocs per run, want 0", n)
	}
	w := AppendHeader(nil, h)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ParseHeader(w); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ParseHeader: %v allocs per run, want 0", n)
	}
	br := bytes.NewReader(w)
	var scratch [MaxHeaderSize]byte
	if n := testing.AllocsPerRun(100, func() {
		br.Reset(w)
		if _, err := ReadHeader(br, &scratch); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ReadHeader: %v allocs per run, want 0", n)
	}
}

// minimalLength reports whether the header at the start of b encodes its
// payload length in the fewest bytes (RFC 6455 §5.2).
func minimalLength(b []byte) bool {
	switch b[1] & 0x7F {
	case 126:
		return binary.BigEndian.Uint16(b[2:4]) > 125
	case 127:
		return binary.BigEndian.Uint64(b[2:10]) > 0xFFFF
	}
	return true
}

// checkRef is CheckHeader's rules written out plainly: whether h, received by
// an endpoint that expects masking or not, breaks none of them.
func checkRef(h Header, rsvAllowed byte, wantMasked bool) bool {
	known := map[Opcode]bool{0x0: true, 0x1: true, 0x2: true, 0x8: true, 0x9: true, 0xA: true}
	control := h.Opcode >= 0x8
	switch {
	case !known[h.Opcode]:
		return false
	case h.Rsv&^rsvAllowed != 0:
		return false
	case h.Rsv&Rsv1 != 0 && (control || h.Opcode == OpContinuation):
		return false
	case h.Masked != wantMasked:
		return false
	case control && (h.Length > 125 || !h.Fin):
		return false
	}
	return true
}

// refHeaderSize is the header size RFC 6455 §5.2 implies by the second byte.
func refHeaderSize(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2 // 16-bit extended payload length
	case 127:
		n += 8 // 64-bit extended payload length
	}
	if b1&0x80 != 0 {
		n += 4 // masking key
	}
	return n
}

func FuzzParseHeader(f *testing.F) {
	for _, tt := range headerTests {
		f.Add(tt.wire)
	}
	for _, tt := range headerErrorTests {
		f.Add(tt.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)

		// The reference: a short input, or a 64-bit length with its top
		// bit set; nothing else is an error.
		var want error
		switch {
		case len(b) < 2:
			want = io.ErrUnexpectedEOF
		case len(b) < refHeaderSize(b[1]):
			want = io.ErrUnexpectedEOF
		case b[1]&0x7F == 127 && b[2]&0x80 != 0:
			want = ErrProtocol
		}
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("ParseHeader(%x) = %+v, %v; want error %v", b, h, err, want)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseHeader(%x) = %v, want no error", b, err)
		}
		n := HeaderSize(b)

		// Reading gives the same header, however the input is chunked.
		var scratch [MaxHeaderSize]byte
		for _, rd := range readers {
			rh, err := ReadHeader(rd.wrap(bytes.NewReader(b)), &scratch)
			if err != nil || rh != h {
				t.Fatalf("ReadHeader(%s(%x)) = %+v, %v; want %+v, nil", rd.name, b, rh, err, h)
			}
		}

		// Re-encoding gives the same header, and the same bytes when the
		// sender used the minimal length encoding.
		var buf [MaxHeaderSize]byte
		m := PutHeader(buf[:], h)
		if m != h.Size() || m != HeaderSize(buf[:]) {
			t.Fatalf("PutHeader(%+v) = %d, Size() = %d, HeaderSize = %d", h, m, h.Size(), HeaderSize(buf[:]))
		}
		h2, err := ParseHeader(buf[:m])
		if err != nil || h2 != h {
			t.Fatalf("ParseHeader(PutHeader(%+v)) = %+v, %v; want the same header", h, h2, err)
		}
		if minimalLength(b) {
			if !bytes.Equal(buf[:m], b[:n]) {
				t.Fatalf("PutHeader(ParseHeader(%x)) = %x, want the same bytes", b[:n], buf[:m])
			}
		} else if m >= n {
			t.Fatalf("PutHeader(ParseHeader(%x)) = %x, want a shorter encoding", b[:n], buf[:m])
		}

		// CheckHeader agrees with the plain reading of its rules.
		for _, rsv := range []byte{0, Rsv1, Rsv1 | Rsv2 | Rsv3} {
			for _, wantMasked := range []bool{true, false} {
				err := CheckHeader(h, rsv, sender(wantMasked))
				if ok := checkRef(h, rsv, wantMasked); (err == nil) != ok || err != nil && !errors.Is(err, ErrProtocol) {
					t.Fatalf("CheckHeader(%+v, %#x, %v) = %v, want ok = %v", h, rsv, wantMasked, err, ok)
				}
			}
		}
	})
}

func BenchmarkParseHeader(b *testing.B) {
	for _, tt := range []struct {
		name string
		h    Header
	}{
		{"2 bytes", Header{Fin: true, Opcode: OpText, Length: 100}},
		{"8 bytes masked", Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 1000}},
		{"14 bytes masked", Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 1 << 20}},
	} {
		w := AppendHeader(nil, tt.h)
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				if _, err := ParseHeader(w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPutHeader(b *testing.B) {
	h := Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: testKey, Length: 1000}
	var buf [MaxHeaderSize]byte
	b.ReportAllocs()
	for b.Loop() {
		PutHeader(buf[:], h)
	}
}

// sender maps the old "server expects masked frames" flag to a Sender.
func sender(wantMasked bool) Sender {
	if wantMasked {
		return FromClient
	}
	return FromServer
}
