package conformance

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// pushwire's own cases, beyond Autobahn: 15.x. They keep their ids.
//
//	15.1  the opening handshake (RFC 6455 §4.2.1, §4.2.2, §4.4), server role,
//	      over the HTTP/1.1 transport
//	15.2  masking and lengths: an unmasked frame to a server, a masked frame
//	      to a client, a 64-bit length with its top bit set
//	15.3  close codes 1012-1014, registered with IANA after RFC 6455
//	15.4  the read limit (1009)
//	15.5  a compression bomb

func init() { builders = append(builders, handshakeCases, extraFrameCases) }

// rawEnv is what an opening-handshake case gets: it makes its own
// connections over the transport and writes its grades into res.
type rawEnv struct {
	ctx   context.Context
	tr    transport
	opts  *Options
	unit  time.Duration
	start time.Time
	res   *Result
}

// runRaw runs an opening-handshake case; its connection is its own, so
// the close is not graded.
func runRaw(e *rawEnv, c *wsCase) {
	e.res.BehaviorClose, e.res.CloseReason = OK, "no WebSocket connection is used"
	c.raw(e)
}

func (e *rawEnv) log(ev Event) {
	ev.At = ms(time.Since(e.start))
	e.res.Events = append(e.res.Events, ev)
}

// request writes a raw handshake request made of lines (without CRLF)
// and reads the response head.
func (e *rawEnv) request(lines []string) (*http.Response, error) {
	conn, err := e.tr.(*tcpTransport).raw(e.ctx, 5*e.unit)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * e.unit))
	req := strings.Join(lines, "\r\n") + "\r\n\r\n"
	e.log(Event{Dir: "sent", Kind: "handshake", Len: int64(len(req)), Text: req})
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\r\n", resp.Proto, resp.Status)
	resp.Header.Write(&b)
	e.log(Event{Dir: "recv", Kind: "handshake", Code: resp.StatusCode, Text: b.String()})
	return resp, nil
}

// hsRequest is a handshake request as header lines, editable by a case.
type hsRequest struct {
	method, target, proto string
	fields                [][2]string
}

func (e *rawEnv) baseRequest(key string) *hsRequest {
	u := e.tr.(*tcpTransport).url
	r := &hsRequest{method: "GET", target: u.RequestURI(), proto: "HTTP/1.1", fields: [][2]string{
		{"Host", u.Host},
		{"Upgrade", "websocket"},
		{"Connection", "Upgrade"},
		{"Sec-WebSocket-Key", key},
		{"Sec-WebSocket-Version", "13"},
	}}
	for k, vs := range e.opts.Header {
		for _, v := range vs {
			r.fields = append(r.fields, [2]string{k, v})
		}
	}
	return r
}

func (r *hsRequest) set(name, value string) {
	for i, f := range r.fields {
		if strings.EqualFold(f[0], name) {
			r.fields[i][1] = value
			return
		}
	}
	r.fields = append(r.fields, [2]string{name, value})
}

func (r *hsRequest) del(name string) {
	out := r.fields[:0]
	for _, f := range r.fields {
		if !strings.EqualFold(f[0], name) {
			out = append(out, f)
		}
	}
	r.fields = out
}

func (r *hsRequest) lines() []string {
	l := []string{r.method + " " + r.target + " " + r.proto}
	for _, f := range r.fields {
		l = append(l, f[0]+": "+f[1])
	}
	return l
}

func handshakeCases(b *builder) {
	n := 0
	add := func(desc, expect string, raw func(e *rawEnv)) {
		n++
		b.add(&wsCase{id: fmt.Sprintf("15.1.%d", n), desc: desc, expect: expect, roles: roleServer, raw: raw, transport: transportHTTP1})
	}
	accepted := func(edit func(r *hsRequest)) func(e *rawEnv) {
		return func(e *rawEnv) {
			key := handshake.NewKey()
			req := e.baseRequest(key)
			edit(req)
			e.res.BehaviorClose, e.res.CloseReason = OK, "no WebSocket connection is used"
			resp, err := e.request(req.lines())
			switch {
			case err != nil:
				e.res.Behavior, e.res.BehaviorReason = Failed, "no response: "+err.Error()
			case resp.StatusCode != http.StatusSwitchingProtocols:
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d for a valid handshake, want 101", resp.StatusCode)
			case resp.Header.Get("Sec-WebSocket-Accept") != handshake.AcceptKey(key):
				e.res.Behavior, e.res.BehaviorReason = Failed, "wrong Sec-WebSocket-Accept ("+ruleAccept+")"
			case !handshake.HeaderHasToken(resp.Header, "Upgrade", "websocket") || !handshake.HeaderHasToken(resp.Header, "Connection", "Upgrade"):
				e.res.Behavior, e.res.BehaviorReason = Failed, "101 without Upgrade: websocket and Connection: Upgrade ("+ruleAccept+")"
			case resp.Header.Get("Sec-WebSocket-Extensions") != "":
				e.res.Behavior, e.res.BehaviorReason = Failed, "an extension the client did not offer ("+ruleNoExtension+")"
			case resp.Header.Get("Sec-WebSocket-Protocol") != "":
				e.res.Behavior, e.res.BehaviorReason = Failed, `a subprotocol the client did not offer (RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Protocol| header field and this header field indicates the use of a subprotocol that was not present in the client's handshake ..., the client MUST _Fail the WebSocket Connection_.")`
			default:
				e.res.Behavior, e.res.BehaviorReason = OK, "101 with the right Sec-WebSocket-Accept"
			}
		}
	}
	rejected := func(want []int, edit func(r *hsRequest)) func(e *rawEnv) {
		return func(e *rawEnv) {
			req := e.baseRequest(handshake.NewKey())
			edit(req)
			e.res.BehaviorClose, e.res.CloseReason = OK, "no WebSocket connection is used"
			resp, err := e.request(req.lines())
			switch {
			case err != nil:
				e.res.Behavior, e.res.BehaviorReason = Failed, "no response: "+err.Error()
			case resp.StatusCode == http.StatusSwitchingProtocols:
				e.res.Behavior, e.res.BehaviorReason = Failed, "the server accepted an invalid handshake ("+ruleHandshake+")"
			case want[0] == 426 && !strings.Contains(resp.Header.Get("Sec-WebSocket-Version"), "13"):
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d without Sec-WebSocket-Version: 13 (%s)", resp.StatusCode, ruleVersion)
			case in(resp.StatusCode, want):
				e.res.Behavior, e.res.BehaviorReason = OK, fmt.Sprintf("status %d", resp.StatusCode)
				if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
					e.res.Behavior, e.res.BehaviorReason = NonStrict, `405 without Allow (RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response")`
				}
			case resp.StatusCode >= 400 && resp.StatusCode < 500 && e.opts.Strict:
				e.res.Behavior, e.res.BehaviorReason = NonStrict, fmt.Sprintf("-strict: status %d, where %v fits best (%s)", resp.StatusCode, want, ruleHandshake)
			case resp.StatusCode >= 400 && resp.StatusCode < 500:
				e.res.Behavior, e.res.BehaviorReason = OK, fmt.Sprintf("status %d, an error code (%v would fit best)", resp.StatusCode, want)
			default:
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d, expected %v (%s)", resp.StatusCode, want, ruleHandshake)
			}
		}
	}
	add("A valid opening handshake.", "101 with Sec-WebSocket-Accept computed from the key (RFC 6455 §4.2.2).", accepted(func(*hsRequest) {}))
	add("A valid handshake with tokens in other case and in lists: \"Upgrade: WebSocket\", \"Connection: keep-alive, upgrade\".", "101 (RFC 6455 §4.2.1: the tokens are ASCII case-insensitive).",
		accepted(func(r *hsRequest) { r.set("Upgrade", "WebSocket"); r.set("Connection", "keep-alive, upgrade") }))
	rej := func(desc string, want []int, edit func(r *hsRequest)) {
		add(desc+" (RFC 6455 §4.2.1).", fmt.Sprintf("The server refuses with %v (another 4xx: OK; with -strict NON-STRICT).", want), rejected(want, edit))
	}
	rej("Method POST instead of GET", []int{405, 400}, func(r *hsRequest) { r.method = "POST"; r.set("Content-Length", "0") })
	rej("HTTP/1.0 instead of HTTP/1.1", []int{400, 426, 505}, func(r *hsRequest) { r.proto = "HTTP/1.0" })
	rej("No Host header", []int{400}, func(r *hsRequest) { r.del("Host") })
	rej("No Upgrade header", []int{400, 426}, func(r *hsRequest) { r.del("Upgrade") })
	rej("Upgrade: h2c instead of websocket", []int{400, 426}, func(r *hsRequest) { r.set("Upgrade", "h2c") })
	rej("No Connection header", []int{400, 426}, func(r *hsRequest) { r.del("Connection") })
	rej("Connection: keep-alive without Upgrade", []int{400, 426}, func(r *hsRequest) { r.set("Connection", "keep-alive") })
	rej("No Sec-WebSocket-Version header", []int{400, 426}, func(r *hsRequest) { r.del("Sec-WebSocket-Version") })
	version8 := rejected([]int{426}, func(r *hsRequest) { r.set("Sec-WebSocket-Version", "8") })
	add("Sec-WebSocket-Version: 8 (the hybi-08 draft) (RFC 6455 §4.2.2, §4.4).", "426 (or another 4xx) with Sec-WebSocket-Version: 13. A server that also speaks the draft and accepts it: INFORMATIONAL.",
		func(e *rawEnv) {
			version8(e)
			if e.res.Behavior == Failed && strings.HasPrefix(e.res.BehaviorReason, "the server accepted") {
				e.res.Behavior, e.res.BehaviorReason = Informational, "the server accepted version 8: it speaks the hybi-08 draft too, which RFC 6455 §4.2.2 allows a server that understands it"
			}
		})
	rej("No Sec-WebSocket-Key header", []int{400}, func(r *hsRequest) { r.del("Sec-WebSocket-Key") })
	rej("Sec-WebSocket-Key decoding to 15 bytes instead of 16", []int{400}, func(r *hsRequest) { r.set("Sec-WebSocket-Key", "cHVzaHdpcmUga2V5IDE1") })
	rej("Sec-WebSocket-Key that is not base64", []int{400}, func(r *hsRequest) { r.set("Sec-WebSocket-Key", "not base64 at all!!!!!==") })
	rej("Two Sec-WebSocket-Key headers", []int{400}, func(r *hsRequest) { r.fields = append(r.fields, [2]string{"Sec-WebSocket-Key", handshake.NewKey()}) })
}

func in(x int, xs []int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func extraFrameCases(b *builder) {
	hello := []byte("Hello, unmasked")
	fails := func(id string, roles role, desc, expect, rule string, code []int, send func(s *session)) {
		b.add(&wsCase{id: id, roles: roles, desc: desc, expect: expect, rule: rule,
			run: func(s *session) {
				s.expect(OK)
				s.expectClose(false, false, code...)
				send(s)
				s.killAfter(1)
			}})
	}
	fails("15.2.1", roleServer, "Send an unmasked text frame to the server (\"Hello, unmasked\").",
		"The server fails the connection with 1002 and echoes nothing.", ruleServerUnmask, []int{1002},
		func(s *session) { s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, mask: maskOff}) })
	fails("15.2.2", roleClient, "Send a masked text frame to the client (\"Hello, unmasked\").",
		"The client fails the connection with 1002 and echoes nothing.", ruleClientMasked, []int{1002},
		func(s *session) { s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, mask: maskOn}) })
	fails("15.2.3", roleBoth, "Send a binary frame whose 64-bit payload length has its most significant bit set, followed by 16 bytes.",
		"The peer fails the connection with 1002 (or 1009).", ruleLength63, []int{1002, 1009},
		func(s *session) {
			s.sendFrame(frameSpec{op: opBinary, fin: true, length: -1, payload: bytes.Repeat([]byte{0xfe}, 16)})
		})
	for i, code := range []int{1012, 1013, 1014} {
		b.add(&wsCase{id: fmt.Sprintf("15.3.%d", i+1), rule: ruleCloseReply,
			desc:   fmt.Sprintf("Send a close frame with the code %d, registered with IANA after RFC 6455.", code),
			expect: fmt.Sprintf("A clean close with 1000 or %d. A peer that treats the code as reserved and answers 1002: INFORMATIONAL (RFC 6455 §7.4.2 reserves 1000-2999 for later definition).", code),
			run: func(s *session) {
				s.suppressClose = true
				s.expect(OK)
				s.expectClose(true, true, 1000, code)
				s.sendClose(code)
				s.killAfter(1)
				s.onLost = func() {
					if s.gotClose && s.remoteCode == 1002 && len(s.violations) == 0 && s.behaviorClose == NonStrict {
						s.behaviorClose = Informational
						s.resultClose = fmt.Sprintf("the peer answered %d with 1002: it does not know the code, which RFC 6455 §7.4.2 left reserved", code)
					}
				}
			}})
	}
	b.add(&wsCase{id: "15.4.1", rule: ruleLimits,
		desc:   "Send the header of a binary message one byte longer than the peer's read limit (1 TiB when the limit is not given), then 1 KiB of it.",
		expect: "The peer fails the connection with 1009 without waiting for the rest (OK). Waiting for the rest: INFORMATIONAL; with -strict NON-STRICT, as RFC 6455 §10.4 asks a peer to protect itself against limits it has.",
		run: func(s *session) {
			n := int64(1 << 40)
			if s.peerLimit > 0 {
				n = s.peerLimit + 1
			}
			s.expect(OK)
			s.expectClose(false, false, 1009)
			s.note("announcing a %d-byte message", n)
			s.sendFrame(frameSpec{op: opBinary, fin: true, length: n, payload: bytes.Repeat([]byte{0xfe}, 1024)})
			s.killAfter(1)
			s.onLost = func() {
				if !s.closedByMe || len(s.violations) > 0 {
					return // the peer failed the connection, or broke a rule
				}
				s.behavior, s.behaviorClose = Informational, Informational
				s.result = "the peer waited for the rest of the message instead of refusing it at its header"
				s.resultClose = "closed by the harness after 1 s"
				if s.strict {
					s.behavior, s.result = NonStrict, "-strict: "+s.result+" ("+ruleLimits+")"
				}
			}
		}})
	b.add(&wsCase{id: "15.4.2", rule: ruleLimits,
		desc:   "Send a binary message in four fragments that together are one byte longer than the peer's read limit (only when the limit is given and at most 64 MiB).",
		expect: "The peer fails the connection with 1009 by the last fragment; INFORMATIONAL when the limit is not given.",
		run: func(s *session) {
			if s.peerLimit <= 0 || s.peerLimit > 64<<20 {
				s.expect(Informational)
				normalClose(s)
				s.note("the peer's read limit is not known (Options.ReadLimit)")
				s.sendClose(1000)
				s.onLost = func() { s.result = "the peer's read limit is not known (set Options.ReadLimit)" }
				return
			}
			s.expect(OK)
			s.expectClose(false, false, 1009)
			p := bytes.Repeat([]byte{0xfe}, int(s.peerLimit+1))
			q := len(p)/4 + 1
			s.send(frameSpec{op: opBinary, payload: p[:q]}, frameSpec{op: opCont, payload: p[q : 2*q]},
				frameSpec{op: opCont, payload: p[2*q : 3*q]}, frameSpec{op: opCont, fin: true, payload: p[3*q:]})
			s.killAfter(5)
		}})
	b.add(&wsCase{id: "15.5.1", pmd: &pmdCase{offers: []pmdParams{autobahnOffer(false, 0)}}, rule: ruleLimits,
		desc:   "Compression bomb: send a compressed binary message of zeros that inflates to one byte more than the peer's read limit (1 GiB when the limit is not given), about a thousandth of that on the wire.",
		expect: "The peer fails the connection with 1009 without inflating the whole message. UNIMPLEMENTED when permessage-deflate is not agreed.",
		run: func(s *session) {
			n := int64(1 << 30)
			if s.peerLimit > 0 {
				n = s.peerLimit + 1
			}
			s.expect(OK)
			s.expectClose(false, false, 1009)
			z := s.pmd.deflateZeros(n)
			s.note("sending %d zero bytes compressed to %d bytes", n, len(z))
			s.sendFrame(frameSpec{op: opBinary, fin: true, rsv: 4, payload: z})
			s.killAfter(5)
		}})
}
