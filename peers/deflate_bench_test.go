package peers

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"syscall"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	"github.com/pushwire/pushwire/internal/deflate"
	"github.com/pushwire/pushwire/internal/deflate/corpus"
)

func cpuNow() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkDeflatePeers(b *testing.B) {
	for _, kind := range []string{"text", "json", "binary"} {
		for _, size := range []int{1 << 10, 64 << 10} {
			msgs := make([][]byte, max(4, 2*32768/size+1))
			for i := range msgs {
				msgs[i] = corpus.Generate(kind, size, uint64(i))
			}
			run := func(name string, f func(m []byte) int) {
				b.Run(fmt.Sprintf("%s/%d/%s", kind, size, name), func(b *testing.B) {
					b.SetBytes(int64(size))
					b.ReportAllocs()
					i, out := 0, 0
					c0 := cpuNow()
					for b.Loop() {
						out += f(msgs[i%len(msgs)])
						i++
					}
					b.ReportMetric(float64(size)*float64(b.N)/(float64(cpuNow()-c0)/1e9)/1e6, "cpuMB/s")
					b.ReportMetric(float64(out)/float64(size*b.N), "ratio")
				})
			}
			var e deflate.Encoder
			dst := make([]byte, 0, 2*size+1024)
			run("pushwire", func(m []byte) int { dst = e.AppendMessage(dst[:0], m); return len(dst) })
			var sb bytes.Buffer
			sw, _ := stdflate.NewWriter(&sb, stdflate.BestSpeed)
			run("std1", func(m []byte) int { sb.Reset(); sw.Write(m); sw.Flush(); return sb.Len() - 4 })
			var kb bytes.Buffer
			kw, _ := kflate.NewWriter(&kb, 1)
			run("klauspost1", func(m []byte) int { kb.Reset(); kw.Write(m); kw.Flush(); return kb.Len() - 4 })
			// gws's way: a pooled writer reset with the connection's last
			// 32 KiB as the dictionary for every message.
			var db bytes.Buffer
			dw, _ := kflate.NewWriter(&db, 1)
			var win []byte
			run("klauspost1-dict", func(m []byte) int {
				db.Reset()
				dw.ResetDict(&db, win)
				dw.Write(m)
				dw.Flush()
				win = append(win, m...)
				win = win[max(0, len(win)-32768):]
				return db.Len() - 4
			})
		}
	}
}

// BenchmarkInflatePeers inflates the same stream of messages (pushwire's
// encoder, context takeover) with pushwire's Decoder, compress/flate and
// klauspost/compress, the last two reset with the 32 KiB window as the
// dictionary for each message.
func BenchmarkInflatePeers(b *testing.B) {
	tail := []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
	for _, kind := range []string{"text", "json", "binary"} {
		for _, size := range []int{1 << 10, 64 << 10} {
			msgs := make([][]byte, max(4, 2*32768/size+1))
			payloads := make([][]byte, len(msgs))
			dicts := make([][]byte, len(msgs))
			var e deflate.Encoder
			var hist []byte
			for i := range msgs {
				msgs[i] = corpus.Generate(kind, size, uint64(i))
				payloads[i] = append(e.AppendMessage(nil, msgs[i]), tail...)
				dicts[i] = hist
				hist = append(append([]byte(nil), hist...), msgs[i]...)
				hist = hist[max(0, len(hist)-32768):]
			}
			run := func(name string, f func(i int) int) {
				b.Run(fmt.Sprintf("%s/%d/%s", kind, size, name), func(b *testing.B) {
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for i := range payloads {
						f(i)
					}
					i := 0
					c0 := cpuNow()
					for b.Loop() {
						if n := f(i % len(payloads)); n != size {
							b.Fatalf("%d bytes, want %d", n, size)
						}
						i++
					}
					b.ReportMetric(float64(size)*float64(b.N)/(float64(cpuNow()-c0)/1e9)/1e6, "cpuMB/s")
				})
			}
			var d deflate.Decoder
			dst := make([]byte, 0, size)
			run("pushwire", func(i int) int {
				if i == 0 {
					d.Reset(15, false)
				}
				out, err := d.AppendMessage(dst[:0], payloads[i][:len(payloads[i])-len(tail)], -1)
				if err != nil {
					b.Fatal(err)
				}
				return len(out)
			})
			buf := make([]byte, size+1)
			var br bytes.Reader
			sr := stdflate.NewReader(nil)
			run("std", func(i int) int {
				br.Reset(payloads[i])
				sr.(stdflate.Resetter).Reset(&br, dicts[i])
				n, _ := io.ReadFull(sr, buf)
				return n
			})
			kr := kflate.NewReader(nil)
			run("klauspost", func(i int) int {
				br.Reset(payloads[i])
				kr.(kflate.Resetter).Reset(&br, dicts[i])
				n, _ := io.ReadFull(kr, buf)
				return n
			})
		}
	}
}

// BenchmarkEchoCodecPeers is the codec work of one compressed echo, as
// peers/cmd/results measures it end to end: inflate a message the client
// compressed on its own (compress/flate BestSpeed, as the load generator
// sends it) on a connection with context takeover, then compress it back
// with context takeover. pushwire: Decoder and Encoder, 32 KiB windows
// kept per connection. gws: what gws does per message (klauspost/compress
// inflater reset with the read window as dictionary, writer reset with
// the write window by ResetDict, both windows kept per connection).
// flate: pushwire before this package (compress/flate reader reset with
// the window, a compress/flate writer kept per connection).
func BenchmarkEchoCodecPeers(b *testing.B) {
	tail := []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
	for _, size := range []int{1 << 10, 64 << 10} {
		msgs := make([][]byte, max(4, 2*32768/size+1))
		payloads := make([][]byte, len(msgs))
		for i := range msgs {
			msgs[i] = corpus.JSON(size, uint64(i))
			var buf bytes.Buffer
			fw, _ := stdflate.NewWriter(&buf, stdflate.BestSpeed)
			fw.Write(msgs[i])
			fw.Flush()
			payloads[i], _ = deflate.TrimSyncTail(buf.Bytes())
		}
		run := func(name string, echo func(p []byte) int) {
			b.Run(fmt.Sprintf("json/%d/%s", size, name), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for _, p := range payloads {
					echo(p)
				}
				i, out := 0, 0
				c0 := cpuNow()
				for b.Loop() {
					out += echo(payloads[i%len(payloads)])
					i++
				}
				b.ReportMetric(float64(size)*float64(b.N)/(float64(cpuNow()-c0)/1e9)/1e6, "cpuMB/s")
				b.ReportMetric(float64(out)/float64(size*b.N), "ratio")
			})
		}

		var dec deflate.Decoder
		var enc deflate.Encoder
		msg := make([]byte, 0, size)
		reply := make([]byte, 0, deflate.MaxEncodedLen(size))
		run("pushwire", func(p []byte) int {
			var err error
			if msg, err = dec.AppendMessage(msg[:0], p, -1); err != nil {
				b.Fatal(err)
			}
			reply = enc.AppendMessage(reply[:0], msg)
			return len(reply)
		})

		slide := func(w, m []byte) []byte {
			w = append(w, m...)
			return w[:copy(w, w[max(0, len(w)-32768):])]
		}
		var in bytes.Buffer
		var kin bytes.Buffer
		kr := kflate.NewReader(nil)
		var kout bytes.Buffer
		kw, _ := kflate.NewWriter(&kout, 1)
		rwin, wwin := make([]byte, 0, 32768+size), make([]byte, 0, 32768+size)
		run("gws", func(p []byte) int {
			in.Reset()
			in.Write(p)
			in.Write(tail)
			kr.(kflate.Resetter).Reset(&in, rwin)
			kin.Reset()
			kin.ReadFrom(kr)
			m := kin.Bytes()
			rwin = slide(rwin, m)
			kout.Reset()
			kw.ResetDict(&kout, wwin)
			kw.Write(m)
			kw.Flush()
			wwin = slide(wwin, m)
			return kout.Len() - 4
		})

		sr := stdflate.NewReader(nil)
		var sin, sout bytes.Buffer
		sw, _ := stdflate.NewWriter(&sout, stdflate.BestSpeed)
		swin := make([]byte, 0, 32768+size)
		run("flate", func(p []byte) int {
			in.Reset()
			in.Write(p)
			in.Write(tail)
			sr.(stdflate.Resetter).Reset(&in, swin)
			sin.Reset()
			sin.ReadFrom(sr)
			m := sin.Bytes()
			swin = slide(swin, m)
			sout.Reset()
			sw.Write(m)
			sw.Flush()
			return sout.Len() - 4
		})
	}
}
