package conformance

import (
	"bytes"
	"testing"

	"github.com/pushwire/pushwire/handshake"
)

// FuzzParsePMD checks that the permessage-deflate parameters the harness
// accepts survive formatting and parsing again unchanged.
func FuzzParsePMD(f *testing.F) {
	f.Add("server_no_context_takeover", "", "client_max_window_bits", "8")
	f.Add("client_max_window_bits", "", "server_max_window_bits", "15")
	f.Add("client_no_context_takeover", "", "x", "1")
	f.Add("server_max_window_bits", "09", "", "")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		e := handshake.Extension{Name: pmdName, Params: []handshake.Param{{Name: n1, Value: v1}, {Name: n2, Value: v2}}}
		for _, offer := range []bool{false, true} {
			p, err := parsePMD(e, offer)
			if err != nil {
				continue
			}
			c := &pmdCase{offers: []pmdParams{p}}
			again, err := parsePMD(c.extensions()[0], offer)
			if err != nil || again != p {
				t.Fatalf("parsePMD(format(%+v)) = %+v, %v; want the same parameters", p, again, err)
			}
		}
	})
}

// FuzzDeflateRoundTrip compresses a sequence of messages as the harness
// sends them and inflates them as it receives them, with and without
// context takeover and with a small window: every message comes back.
func FuzzDeflateRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), []byte("Hello"), uint8(0))
	f.Add([]byte{}, bytes.Repeat([]byte("ab"), 40000), uint8(1))
	f.Add(bytes.Repeat([]byte{0, 1, 2, 0xfe}, 250), bytes.Repeat([]byte("BAsd7&jh23"), 300), uint8(2))
	f.Fuzz(func(t *testing.T, a, b []byte, mode uint8) {
		noCtx, window := mode&1 != 0, 15
		if mode&2 != 0 {
			window = 8
		}
		tx, rx := newPMD(noCtx, window, false), newPMD(false, 15, noCtx)
		for _, m := range [][]byte{a, b, a} {
			got, err := rx.inflate(tx.deflate(m))
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("inflate(deflate(%d bytes)) = %d bytes, %v; want the message", len(m), len(got), err)
			}
		}
	})
}
