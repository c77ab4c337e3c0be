package conformance

import (
	"bytes"
	"fmt"
	"time"
)

// Autobahn|Testsuite's categories 12 and 13, permessage-deflate (RFC
// 7692), as in its case12_x_x.py: 1000 messages per case, each sent after
// the echo of the one before, cut from a test file (see testdata.go); 18
// sizes and fragmentations per file or parameter set.

func init() { builders = append(builders, compressionCases) }

// msgSizes are Autobahn's MSG_SIZES: message length (characters of text
// files, bytes of binary ones), case timeout in seconds, and the fragment
// size of the compressed payload (0: one frame).
var msgSizes = []struct {
	n    int
	wait float64
	frag int
}{
	{16, 60, 0}, {64, 60, 0}, {256, 120, 0}, {1024, 240, 0}, {4096, 480, 0},
	{8192, 480, 0}, {16384, 480, 0}, {32768, 480, 0}, {65536, 480, 0}, {131072, 480, 0},
	{8192, 480, 256}, {16384, 480, 256}, {32768, 480, 256}, {65536, 480, 256}, {131072, 480, 256},
	{131072, 480, 1024}, {131072, 480, 4096}, {131072, 480, 32768},
}

// pmdEcho runs 1000 round trips of compressed messages cut from test file
// k (Autobahn's sendOne and onMessage).
func pmdEcho(k, n int, wait float64, frag int) func(*session) {
	return func(s *session) {
		td := s.data[k]
		kind := "text"
		if td.src.binary {
			kind = "binary"
		}
		s.autoFragment = frag
		notDone := fmt.Sprintf("Case did not finish within %g seconds.", wait)
		s.result = notDone
		s.closeAfter(wait)
		const total = 1000
		ptr, count := 0, 0
		// Autobahn's text stays when the time ran out; a connection that
		// ended first says how far the echoes got and which rule they owe.
		s.onLost = func() {
			if s.result == notDone && !s.closedByMe {
				s.result = fmt.Sprintf("the connection ended after %d of %d echoes (%s)", max(count-1, 0), total, rulePMDEcho)
			}
		}
		var want []byte
		start := time.Now()
		sendOne := func() {
			want = td.cut(&ptr, n)
			s.sendMessage(want, td.src.binary, 0)
			count++
		}
		s.onMessage = func(o obs) {
			switch {
			case o.binary != td.src.binary:
				s.behavior, s.result = Failed, fmt.Sprintf("echo %d: expected a %s message, received %v (%s)", count, kind, o, rulePMDEcho)
				s.sendClose(1000)
			case !bytes.Equal(o.data, want):
				s.behavior, s.result = Failed, fmt.Sprintf("echo %d: the %d-byte echo differs from the %d-byte message sent, at byte %d (%s)", count, len(o.data), len(want), firstDiff(o.data, want), rulePMDEcho)
				s.sendClose(1000)
			case count < total:
				sendOne()
			default:
				s.behavior, s.result = OK, fmt.Sprintf("Ok, received all echo'ed messages in %v.", time.Since(start).Round(time.Millisecond))
				s.sendClose(1000)
			}
		}
		sendOne()
	}
}

func compressionCases(b *builder) {
	const expect = "The peer echoes all 1000 messages (compressed or not) within the case's time; the harness then closes with 1000. UNIMPLEMENTED when permessage-deflate is not agreed."
	accept1 := &pmdCase{offers: []pmdParams{autobahnOffer(false, 0)}}
	for k, src := range dataSources {
		for i, m := range msgSizes {
			b.add(&wsCase{id: fmt.Sprintf("12.%d.%d", k+1, i+1), pmd: accept1, rule: rulePMDEcho,
				desc: fmt.Sprintf("%s: send 1000 compressed messages of %d %s each, the compressed payload in frames of %d bytes (0: one frame), with Autobahn's default offer (%s).",
					src.desc, m.n, unitName(src.binary), m.frag, accept1.header()),
				expect: expect,
				run:    pmdEcho(k, m.n, m.wait, m.frag)})
		}
	}
	// Autobahn's DEFLATE_PARAMS: the offers the harness makes as the client
	// and the acceptance it gives as the server.
	accept2 := &pmdCase{offers: []pmdParams{autobahnOffer(true, 0)}, requestNoCtx: true}
	accept5 := &pmdCase{offers: []pmdParams{autobahnOffer(true, 9)}, requestNoCtx: true, requestWindow: 9}
	params := []*pmdCase{
		accept1,
		accept2,
		{offers: []pmdParams{autobahnOffer(false, 9)}, requestWindow: 9},
		{offers: []pmdParams{autobahnOffer(false, 15)}, requestWindow: 15},
		accept5,
		{offers: []pmdParams{autobahnOffer(true, 15)}, requestNoCtx: true, requestWindow: 15},
		{offers: []pmdParams{autobahnOffer(true, 9), autobahnOffer(true, 0), autobahnOffer(false, 0)}, requestNoCtx: true, requestWindow: 9,
			fallback: &pmdCase{requestNoCtx: true, fallback: &pmdCase{}}},
	}
	accepts := []string{"(no request)", "client_no_context_takeover", "client_max_window_bits=9", "client_max_window_bits=15",
		"client_no_context_takeover and client_max_window_bits=9", "client_no_context_takeover and client_max_window_bits=15",
		"client_no_context_takeover and client_max_window_bits=9, else client_no_context_takeover, else nothing"}
	for j, pc := range params {
		for i, m := range msgSizes {
			b.add(&wsCase{id: fmt.Sprintf("13.%d.%d", j+1, i+1), pmd: pc, rule: rulePMDEcho,
				desc: fmt.Sprintf("%s: send 1000 compressed messages of %d characters each, the compressed payload in frames of %d bytes (0: one frame). "+
					"As the client the harness offers %q; as the server it accepts the first offer it can answer with %s.",
					dataSources[0].desc, m.n, m.frag, pc.header(), accepts[j]),
				expect: expect,
				run:    pmdEcho(0, m.n, m.wait, m.frag)})
		}
	}
}

func unitName(binary bool) string {
	if binary {
		return "bytes"
	}
	return "characters"
}
