package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/pushwire/pushwire/internal/deflate/corpus"
)

// cpuTime returns the CPU time of the process, in nanoseconds: on a
// machine shared with other work it varies far less than wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchMessages returns distinct messages of one kind and size: enough
// of them that a 32 KiB window never holds a message seen before.
func benchMessages(kind string, size int) [][]byte {
	n := max(4, 2*(1<<MaxWindowBits)/size+1)
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = corpus.Generate(kind, size, uint64(i))
	}
	return msgs
}

// benchCompress runs compress over msgs and reports MB/s by CPU time and
// the compression ratio (compressed/original, lower is better).
func benchCompress(b *testing.B, msgs [][]byte, compress func(m []byte) int) {
	size := len(msgs[0])
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for _, m := range msgs {
		compress(m) // warm up: history, pools
	}
	in, out := 0, 0
	i := 0
	c0 := cpuTime()
	for b.Loop() {
		m := msgs[i%len(msgs)]
		out += compress(m)
		in += len(m)
		i++
	}
	cpu := float64(cpuTime()-c0) / 1e9
	b.ReportMetric(float64(in)/cpu/1e6, "cpuMB/s")
	b.ReportMetric(float64(out)/float64(in), "ratio")
}

// BenchmarkEncode compresses text, JSON and binary messages of 1 KiB
// (a stream of distinct messages with context takeover, as a connection
// sends them) and 64 KiB, with this package's Encoder and with
// compress/flate at BestSpeed and DefaultCompression, each keeping its
// state across messages (compress/flate's Flush between messages is
// context takeover). The random kind shows the stored-block path.
func BenchmarkEncode(b *testing.B) {
	for _, kind := range corpus.Kinds() {
		for _, size := range []int{1 << 10, 64 << 10} {
			msgs := benchMessages(kind, size)
			b.Run(fmt.Sprintf("%s/%d/pushwire", kind, size), func(b *testing.B) {
				var e Encoder
				dst := make([]byte, 0, size+size/8+64)
				benchCompress(b, msgs, func(m []byte) int {
					dst = e.AppendMessage(dst[:0], m)
					return len(dst)
				})
			})
			for _, level := range []struct {
				name  string
				level int
			}{{"flate-BestSpeed", flate.BestSpeed}, {"flate-Default", flate.DefaultCompression}} {
				b.Run(fmt.Sprintf("%s/%d/%s", kind, size, level.name), func(b *testing.B) {
					var buf bytes.Buffer
					fw, _ := flate.NewWriter(&buf, level.level)
					benchCompress(b, msgs, func(m []byte) int {
						buf.Reset()
						fw.Write(m)
						fw.Flush()
						return buf.Len() - 4 // RFC 7692 §7.2.1: the tail is removed
					})
				})
			}
		}
	}
}

// BenchmarkDecode inflates the same messages with Decoder (context
// takeover, its window as the dictionary) and with compress/flate's
// reader reset with the same dictionary for every message, the way a
// bounded-memory receiver uses it.
func BenchmarkDecode(b *testing.B) {
	for _, kind := range corpus.Kinds() {
		for _, size := range []int{1 << 10, 64 << 10} {
			msgs := benchMessages(kind, size)
			var e Encoder
			payloads := make([][]byte, len(msgs))
			dicts := make([][]byte, len(msgs))
			var hist []byte
			for i, m := range msgs {
				payloads[i] = e.AppendMessage(nil, m)
				dicts[i] = hist
				hist = append(append([]byte(nil), hist...), m...)
				hist = hist[max(0, len(hist)-1<<15):]
			}
			// Decoder reads the messages in order, as a connection does;
			// the messages repeat, so its window after the last one is
			// not the first one's dictionary: it starts each round
			// afresh.
			b.Run(fmt.Sprintf("%s/%d/pushwire", kind, size), func(b *testing.B) {
				var d Decoder
				dst := make([]byte, 0, size)
				benchInflate(b, size, len(payloads), func(i int) int {
					if i == 0 {
						d.Reset(MaxWindowBits, false)
					}
					var err error
					if dst, err = d.AppendMessage(dst[:0], payloads[i], -1); err != nil {
						b.Fatal(err)
					}
					return len(dst)
				})
			})
			b.Run(fmt.Sprintf("%s/%d/flate", kind, size), func(b *testing.B) {
				tail := []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
				var src bytes.Reader
				var tr bytes.Reader
				mr := &multiReader{}
				fr := flate.NewReader(nil)
				dst := make([]byte, size+1)
				benchInflate(b, size, len(payloads), func(i int) int {
					src.Reset(payloads[i])
					tr.Reset(tail)
					mr.a, mr.b = &src, &tr
					fr.(flate.Resetter).Reset(mr, dicts[i])
					n, err := io.ReadFull(fr, dst)
					if err != io.ErrUnexpectedEOF {
						b.Fatal(err)
					}
					return n
				})
			})
		}
	}
}

// multiReader reads a, then b, with ReadByte, so that compress/flate
// reads it directly.
type multiReader struct{ a, b *bytes.Reader }

func (m *multiReader) Read(p []byte) (int, error) {
	if m.a.Len() > 0 {
		return m.a.Read(p)
	}
	return m.b.Read(p)
}

func (m *multiReader) ReadByte() (byte, error) {
	if m.a.Len() > 0 {
		return m.a.ReadByte()
	}
	return m.b.ReadByte()
}

func benchInflate(b *testing.B, size, n int, inflate func(i int) int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for i := range n {
		inflate(i)
	}
	i := 0
	c0 := cpuTime()
	for b.Loop() {
		if got := inflate(i % n); got != size {
			b.Fatalf("inflated %d bytes, want %d", got, size)
		}
		i++
	}
	b.ReportMetric(float64(size)*float64(b.N)/(float64(cpuTime()-c0)/1e9)/1e6, "cpuMB/s")
}

// BenchmarkEcho is the codec work of one compressed echo as peers/cmd/results'
// zecho rows load a server: inflate a message the client compressed on
// its own (compress/flate BestSpeed, RFC 7692 §7.2.1 tail removed) on a
// connection with context takeover, then compress it back with context
// takeover. "repeat" sends one message again and again, as zecho does (the
// reply is then mostly a reference to the previous one); "stream" sends
// distinct messages.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, mode := range []string{"repeat", "stream"} {
			msgs := benchMessages("json", size)
			if mode == "repeat" {
				msgs = msgs[:1]
			}
			payloads := make([][]byte, len(msgs))
			for i, m := range msgs {
				var buf bytes.Buffer
				fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
				fw.Write(m)
				fw.Flush()
				payloads[i], _ = TrimSyncTail(buf.Bytes())
			}
			b.Run(fmt.Sprintf("json/%d/%s", size, mode), func(b *testing.B) {
				var d Decoder
				var e Encoder
				msg := make([]byte, 0, size)
				reply := make([]byte, 0, MaxEncodedLen(size))
				i := 0
				benchCompress(b, msgs, func([]byte) int {
					var err error
					if msg, err = d.AppendMessage(msg[:0], payloads[i%len(payloads)], -1); err != nil {
						b.Fatal(err)
					}
					i++
					reply = e.AppendMessage(reply[:0], msg)
					return len(reply)
				})
			})
		}
	}
}
