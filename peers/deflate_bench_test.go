package peers

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
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
		}
	}
}
