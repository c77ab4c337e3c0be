package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"testing"
)

func zechoPayload(n int) []byte {
	events := []string{"trade", "quote", "cancel", "fill"}
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%04d","event":"%s","price":%d.%02d,"qty":%d,"tags":["push","wire"],"ok":%t},`,
			i, i*7919%10000, events[i%len(events)], 100+i*37%900, i*13%100, 1+i*11%250, i%3 == 0)
	}
	return b.Bytes()[:n]
}

func BenchmarkZZ(b *testing.B) {
	m := zechoPayload(1024)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(m)
	fw.Flush()
	p, _ := TrimSyncTail(buf.Bytes())
	var d Decoder
	var e Encoder
	msg := make([]byte, 0, 1024)
	reply := make([]byte, 0, MaxEncodedLen(1024))
	for b.Loop() {
		msg, _ = d.AppendMessage(msg[:0], p, -1)
		reply = e.AppendMessage(reply[:0], msg)
	}
}
