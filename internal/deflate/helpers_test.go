package deflate

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"

	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// stdInflate inflates one payload with compress/flate after the history
// hist, as RFC 7692 §7.2.2 describes: the payload, 00 00 ff ff, and an
// empty final block so that the reader ends.
func stdInflate(hist, payload []byte) ([]byte, error) {
	tail := []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(tail)), hist)
	return io.ReadAll(r)
}

// peer follows a stream of compressed messages as the receiving end does,
// with two decoders: compress/flate with the window as dictionary, and
// refInflate, which also checks the distances against the window.
type peer struct {
	window   int
	takeover bool
	hist     []byte
	maxDist  int
}

func newPeer(bits int, takeover bool) *peer {
	return &peer{window: 1 << bits, takeover: takeover}
}

// check decodes payload both ways and compares it with want.
func (p *peer) check(t testing.TB, payload, want []byte) {
	t.Helper()
	var hist []byte
	if p.takeover {
		hist = p.hist
	}
	got, err := stdInflate(hist, payload)
	if err != nil {
		t.Fatalf("compress/flate: %v (payload %x)", err, head(payload))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("compress/flate inflates %d bytes %q, want %d bytes %q", len(got), head(got), len(want), head(want))
	}
	ref, d, err := refInflate(hist, payload, p.window)
	if err != nil {
		t.Fatalf("refInflate: %v", err)
	}
	if !bytes.Equal(ref, want) {
		t.Fatalf("refInflate inflates %d bytes %q, want %d bytes %q", len(ref), head(ref), len(want), head(want))
	}
	p.maxDist = max(p.maxDist, d)
	if p.takeover {
		p.hist = append(p.hist, want...)
		if len(p.hist) > p.window {
			p.hist = append([]byte(nil), p.hist[len(p.hist)-p.window:]...)
		}
	}
}

func head(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
