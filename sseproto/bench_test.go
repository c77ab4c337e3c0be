package sseproto

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDecode measures decoding throughput on a realistic stream (see
// realisticStream) of 1000 events, about 230 KB.
func BenchmarkDecode(b *testing.B) {
	stream := realisticStream(1000)
	benchmarkDecode(b, stream)
}

// BenchmarkDecodeSmallEvents measures the per-event cost: short
// "data: N" events with no id or type.
func BenchmarkDecodeSmallEvents(b *testing.B) {
	var buf bytes.Buffer
	for range 10000 {
		buf.WriteString("data: 12345\n\n")
	}
	benchmarkDecode(b, buf.Bytes())
}

// BenchmarkDecodeCR measures a stream that ends lines with CR only.
func BenchmarkDecodeCR(b *testing.B) {
	stream := bytes.ReplaceAll(realisticStream(1000), []byte("\n"), []byte("\r"))
	benchmarkDecode(b, stream)
}

func benchmarkDecode(b *testing.B, stream []byte) {
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	r := bytes.NewReader(stream)
	for b.Loop() {
		r.Reset(stream)
		d := NewDecoder(r, nil)
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// BenchmarkEncode measures encoding one typical event.
func BenchmarkEncode(b *testing.B) {
	e := NewEncoder(io.Discard)
	ev := Event{Type: "update", ID: "123456", Data: `{"seq":1,"symbol":"ACME","price":1234.5678,"volume":98765,"note":"the quick brown fox jumps over the lazy dog"}`}
	b.SetBytes(int64(len(ev.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamSend measures Stream.Send, deadline and flush included,
// on a ResponseWriter that discards.
func BenchmarkStreamSend(b *testing.B) {
	s, err := NewStream(discardWriter{make(http.Header)}, httptest.NewRequest("GET", "/", nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	ev := Event{Type: "update", ID: "123456", Data: `{"seq":1,"symbol":"ACME","price":1234.5678}`}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(ev); err != nil {
			b.Fatal(err)
		}
	}
}
