package conformance

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/pushwire/pushwire/wsproto/frame"
)

func init() { builders = append(builders, compressionCases, bombCases) }

// randFor returns a generator for payloads, seeded deterministically.
func randFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x7692)) }

// payloadKind generates message payloads of one flavour, deterministically
// from a seed.
type payloadKind struct {
	name string
	op   frame.Opcode
	gen  func(r *rand.Rand, n int) []byte
}

var englishWords = strings.Fields(`the of and to in is was that for it with as his on be at by had are but from
or have an they which one you were all her she there would their we him been has when who will no more if out
so up said what its about than into them can only other time new some could these two may first then do any
like my now over such our man me even most made after also did many off before must well back through years
message frame server client window stream event socket push wire bytes every`)

var payloadKinds = []payloadKind{
	{"JSON", frame.OpText, func(r *rand.Rand, n int) []byte {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%d,"user":"user%d","active":%t,"score":%.3f,"tags":["%s","%s"],"text":"%s %s %s"}`,
				r.IntN(1e6), r.IntN(1000), r.IntN(2) == 0, r.Float64()*100,
				englishWords[r.IntN(len(englishWords))], englishWords[r.IntN(len(englishWords))],
				englishWords[r.IntN(len(englishWords))], englishWords[r.IntN(len(englishWords))], englishWords[r.IntN(len(englishWords))])
		}
		return b.Bytes()[:n]
	}},
	{"English-like text", frame.OpText, func(r *rand.Rand, n int) []byte {
		var b bytes.Buffer
		for b.Len() < n {
			w := englishWords[r.IntN(len(englishWords))]
			if r.IntN(12) == 0 {
				w += "."
			} else if r.IntN(10) == 0 {
				w += ","
			}
			b.WriteString(w)
			b.WriteByte(' ')
		}
		return b.Bytes()[:n]
	}},
	{"bitmap-like binary", frame.OpBinary, func(r *rand.Rand, n int) []byte {
		b := make([]byte, n)
		px := byte(r.IntN(256))
		for i := 0; i < n; {
			run := 1 + r.IntN(48)
			for j := 0; j < run && i < n; j++ {
				b[i] = px + byte(r.IntN(3)) - 1 // a little noise
				i++
			}
			if r.IntN(4) == 0 {
				px = byte(r.IntN(256))
			}
		}
		return b
	}},
	{"random binary", frame.OpBinary, func(r *rand.Rand, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}},
}

var pmdSizes = []int{16, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 128 << 10}

// compressedFrames compresses msg and splits it into frames of up to
// frag bytes (0: one frame); RSV1 marks the first frame only (RFC 7692
// §6.1).
func (s *session) compressedFrames(op frame.Opcode, msg []byte, frag int) []wsFrame {
	z := s.pmd.deflate(msg)
	if frag <= 0 {
		frag = len(z) + 1
	}
	fs := fragments(op, z, frag)
	fs[0].Rsv = frame.Rsv1
	return fs
}

// pmdRun sends 1000 compressed messages of size n and kind k, in batches
// of 10, each batch waiting for its echoes.
func pmdRun(k payloadKind, n int, fragmented bool, seed uint64) func(*session) {
	return func(s *session) {
		r := rand.New(rand.NewPCG(seed, uint64(n)))
		const total, batch = 1000, 10
		msgObs := func(p []byte) obs {
			if k.op == frame.OpText {
				return msgText(p)
			}
			return msgBinary(p)
		}
		for i := 0; i < total; i += batch {
			var want []obs
			for range batch {
				p := k.gen(r, n)
				frag := 0
				if fragmented {
					frag = max(len(p)/4, 1)
				}
				s.send(s.compressedFrames(k.op, p, frag)...)
				want = append(want, msgObs(p))
			}
			ok := s.wait(s.timeout, func() bool { return len(s.received) >= batch || s.closedByPeer() })
			s.mu.Lock()
			got := slices.Clone(s.received)
			s.received = s.received[:0]
			s.mu.Unlock()
			if !ok || !equalObs(got, want) {
				s.setBehavior(Failed, "messages %d to %d: expected %s, received %s", i, i+batch-1, summarize(want), summarize(got))
				s.closeNormal()
				return
			}
		}
		s.setBehavior(OK, "1000 compressed messages echoed")
		s.closeNormal()
	}
}

// respondWith returns a server response function that answers every
// offer with want, as far as the offer allows (RFC 7692 §7.1).
func respondWith(want pmdParams) func(pmdParams) (pmdParams, bool) {
	return func(offer pmdParams) (pmdParams, bool) {
		resp := want
		// client_max_window_bits only if offered (RFC 7692 §7.1.2.2).
		if resp.clientMaxWindow > 0 && offer.clientMaxWindow == 0 {
			return resp, false
		}
		if offer.clientMaxWindow > 0 && resp.clientMaxWindow > offer.clientMaxWindow {
			resp.clientMaxWindow = offer.clientMaxWindow
		}
		// A client's server_max_window_bits binds the harness's window;
		// server_no_context_takeover asked for must be granted.
		if offer.serverMaxWindow > 0 && (resp.serverMaxWindow == 0 || resp.serverMaxWindow > offer.serverMaxWindow) {
			resp.serverMaxWindow = offer.serverMaxWindow
		}
		if offer.serverNoCtx {
			resp.serverNoCtx = true
		}
		if offer.clientNoCtx {
			resp.clientNoCtx = true
		}
		return resp, true
	}
}

func compressionCases(b *builder) {
	plain := &pmdCase{offers: offerOf(pmdParams{}), respond: respondWith(pmdParams{})}
	for ki, k := range payloadKinds {
		for fi, fragmented := range []bool{false, true} {
			for si, n := range pmdSizes {
				how := "one frame each"
				if fragmented {
					how = "each compressed message split into 4 frames"
				}
				b.add(&wsCase{id: fmt.Sprintf("12.%d.%d", ki+1, fi*len(pmdSizes)+si+1), slow: 10, offer: plain,
					desc:   fmt.Sprintf("Offer permessage-deflate; send 1000 compressed %s messages of %s, %s, in batches of 10.", k.name, size(n), how),
					expect: "The peer echoes every message (compressed or not). UNIMPLEMENTED if it declines permessage-deflate.",
					run:    pmdRun(k, n, fragmented, uint64(ki*100+fi))})
			}
		}
	}
	combos := []struct {
		desc   string
		offers []pmdParams // server role: the harness's offers, in order
		resp   pmdParams   // client role: the harness's response
		roles  role
	}{
		{"client_no_context_takeover", []pmdParams{{clientNoCtx: true}}, pmdParams{clientNoCtx: true}, roleBoth},
		{"server_no_context_takeover", []pmdParams{{serverNoCtx: true}}, pmdParams{serverNoCtx: true}, roleBoth},
		{"client_max_window_bits=8", []pmdParams{{clientMaxWindow: 8}}, pmdParams{clientMaxWindow: 8}, roleBoth},
		{"client_max_window_bits=15", []pmdParams{{clientMaxWindow: 15}}, pmdParams{clientMaxWindow: 15}, roleBoth},
		{"client_no_context_takeover; client_max_window_bits=8", []pmdParams{{clientNoCtx: true, clientMaxWindow: 8}}, pmdParams{clientNoCtx: true, clientMaxWindow: 8}, roleBoth},
		{"server_no_context_takeover; client_no_context_takeover", []pmdParams{{serverNoCtx: true, clientNoCtx: true}}, pmdParams{serverNoCtx: true, clientNoCtx: true}, roleBoth},
		{"server_max_window_bits=8 (a window compress/flate cannot keep to, except Huffman-only)", []pmdParams{{serverMaxWindow: 8}}, pmdParams{serverMaxWindow: 8}, roleBoth},
		{"fallback: server_max_window_bits=9, then client_no_context_takeover, then no parameter", []pmdParams{{serverMaxWindow: 9}, {clientNoCtx: true}, {}}, pmdParams{}, roleServer},
		{"fallback: server_no_context_takeover; server_max_window_bits=10, then client_max_window_bits (no value)", []pmdParams{{serverNoCtx: true, serverMaxWindow: 10}, {clientMaxWindow: -1}}, pmdParams{}, roleServer},
	}
	k := payloadKinds[1]
	for ci, c := range combos {
		pc := &pmdCase{offers: offerOf(c.offers...), respond: respondWith(c.resp)}
		for fi, fragmented := range []bool{false, true} {
			for si, n := range pmdSizes {
				how := ""
				if fragmented {
					how = ", each split into 4 frames"
				}
				b.add(&wsCase{id: fmt.Sprintf("13.%d.%d", ci+1, fi*len(pmdSizes)+si+1), slow: 10, offer: pc, roles: c.roles,
					desc: fmt.Sprintf("permessage-deflate with %s (offered by the harness as client, or answered by it as server); send 1000 compressed English-like messages of %s%s.",
						c.desc, size(n), how),
					expect: "The peer keeps to the parameters and echoes every message. UNIMPLEMENTED if it declines the offer.",
					run:    pmdRun(k, n, fragmented, uint64(1000+ci*10+fi))})
			}
		}
	}
}

func bombCases(b *builder) {
	plain := &pmdCase{offers: offerOf(pmdParams{}), respond: respondWith(pmdParams{})}
	b.add(&wsCase{id: "15.5.1", offer: plain, slow: 5,
		desc:   "Compression bomb: send a compressed binary message of zeros that inflates to one byte more than the peer's read limit (1 GiB when unknown), about 1/1000 of that on the wire.",
		expect: "The peer fails the connection with 1009 without inflating the whole message. UNIMPLEMENTED if it declines permessage-deflate.",
		run: func(s *session) {
			n := int64(1 << 30)
			if s.peerLimit > 0 {
				n = s.peerLimit + 1
			}
			z := s.pmd.deflateZeros(n)
			s.note("sending %d zero bytes compressed to %d bytes", n, len(z))
			fs := fragments(frame.OpBinary, z, len(z)+1)
			fs[0].Rsv = frame.Rsv1
			s.send(fs...)
			s.expectFail(nil, 1009)
		}})
}
