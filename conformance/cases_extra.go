package conformance

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func init() { builders = append(builders, handshakeCases, extraFrameCases) }

// rawEnv is what an opening-handshake case gets: it makes its own
// connections and writes its grades into res.
type rawEnv struct {
	ctx     context.Context
	opts    *Options
	url     *url.URL
	timeout time.Duration
	start   time.Time
	res     *Result
}

func (e *rawEnv) log(ev Event) {
	ev.At = ms(time.Since(e.start))
	e.res.Events = append(e.res.Events, ev)
}

// request writes a raw handshake request made of lines (without CRLF)
// and reads the response head.
func (e *rawEnv) request(lines []string) (*http.Response, error) {
	conn, err := dial(e.ctx, e.opts, e.url, e.timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(e.timeout))
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
	target := e.url.RequestURI()
	r := &hsRequest{method: "GET", target: target, proto: "HTTP/1.1", fields: [][2]string{
		{"Host", e.url.Host},
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
		b.add(&wsCase{id: fmt.Sprintf("15.1.%d", n), desc: desc, expect: expect, roles: roleServer, raw: raw})
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
				e.res.Behavior, e.res.BehaviorReason = Failed, "wrong Sec-WebSocket-Accept (RFC 6455 §4.2.2 step 5.4)"
			case !handshake.HeaderHasToken(resp.Header, "Upgrade", "websocket") || !handshake.HeaderHasToken(resp.Header, "Connection", "Upgrade"):
				e.res.Behavior, e.res.BehaviorReason = Failed, "101 without Upgrade: websocket and Connection: Upgrade (RFC 6455 §4.2.2 step 5)"
			case resp.Header.Get("Sec-WebSocket-Protocol") != "" || resp.Header.Get("Sec-WebSocket-Extensions") != "":
				e.res.Behavior, e.res.BehaviorReason = Failed, "a subprotocol or extension the client did not offer (RFC 6455 §4.1)"
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
				e.res.Behavior, e.res.BehaviorReason = Failed, "the server accepted an invalid handshake (RFC 6455 §4.2.1)"
			case want[0] == 426 && !strings.Contains(resp.Header.Get("Sec-WebSocket-Version"), "13"):
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d without Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2: the server MUST send the versions it understands)", resp.StatusCode)
			case in(resp.StatusCode, want):
				e.res.Behavior, e.res.BehaviorReason = OK, fmt.Sprintf("status %d", resp.StatusCode)
				if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
					e.res.Behavior, e.res.BehaviorReason = NonStrict, "405 without Allow (RFC 9110 §15.5.6 MUST)"
				}
			case resp.StatusCode >= 400 && resp.StatusCode < 500:
				e.res.Behavior, e.res.BehaviorReason = NonStrict, fmt.Sprintf("status %d, expected %v", resp.StatusCode, want)
			default:
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d, expected %v", resp.StatusCode, want)
			}
		}
	}
	add("A valid opening handshake.", "101 with Sec-WebSocket-Accept computed from the key (RFC 6455 §4.2.2).", accepted(func(*hsRequest) {}))
	add("A valid handshake with tokens in other case and in lists: \"Upgrade: WebSocket\", \"Connection: keep-alive, upgrade\".", "101 (RFC 6455 §4.2.1: the tokens are ASCII case-insensitive).",
		accepted(func(r *hsRequest) { r.set("Upgrade", "WebSocket"); r.set("Connection", "keep-alive, upgrade") }))
	rej := func(desc string, want []int, edit func(r *hsRequest)) {
		add(desc+" (RFC 6455 §4.2.1).", fmt.Sprintf("The server refuses with %v (another 4xx: NON-STRICT).", want), rejected(want, edit))
	}
	rej("Method POST instead of GET", []int{405, 400}, func(r *hsRequest) { r.method = "POST"; r.set("Content-Length", "0") })
	rej("HTTP/1.0 instead of HTTP/1.1", []int{400, 426, 505}, func(r *hsRequest) { r.proto = "HTTP/1.0" })
	rej("No Host header", []int{400}, func(r *hsRequest) { r.del("Host") })
	rej("No Upgrade header", []int{400, 426}, func(r *hsRequest) { r.del("Upgrade") })
	rej("Upgrade: h2c instead of websocket", []int{400, 426}, func(r *hsRequest) { r.set("Upgrade", "h2c") })
	rej("No Connection header", []int{400}, func(r *hsRequest) { r.del("Connection") })
	rej("Connection: keep-alive without Upgrade", []int{400}, func(r *hsRequest) { r.set("Connection", "keep-alive") })
	rej("No Sec-WebSocket-Version header", []int{400, 426}, func(r *hsRequest) { r.del("Sec-WebSocket-Version") })
	add("Sec-WebSocket-Version: 8 (an older draft) (RFC 6455 §4.2.2, §4.4).", "426 with Sec-WebSocket-Version: 13 (another 4xx with the header: NON-STRICT).",
		rejected([]int{426}, func(r *hsRequest) { r.set("Sec-WebSocket-Version", "8") }))
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
	b.add(&wsCase{id: "15.2.1", roles: roleServer, desc: "Send an unmasked text frame to the server (RFC 6455 §5.1: the server MUST close the connection upon an unmasked frame).",
		expect: "The server fails the connection with 1002 and echoes nothing.",
		run:    failRun(chopSpec{}, []wsFrame{{Fin: true, Opcode: frame.OpText, Payload: hello, Mask: maskOff}}, nil, 1002)})
	b.add(&wsCase{id: "15.2.2", roles: roleClient, desc: "Send a masked text frame to the client (RFC 6455 §5.1: the client MUST close the connection upon a masked frame).",
		expect: "The client fails the connection with 1002 and echoes nothing.",
		run:    failRun(chopSpec{}, []wsFrame{{Fin: true, Opcode: frame.OpText, Payload: hello, Mask: maskOn}}, nil, 1002)})
	b.add(&wsCase{id: "15.2.3", desc: "Send a binary frame whose 64-bit length has its most significant bit set (RFC 6455 §5.2: \"the most significant bit MUST be 0\"), followed by 16 bytes.",
		expect: "The peer fails the connection with 1002 (or 1009).",
		run: func(s *session) {
			b := s.frameBytes(wsFrame{Fin: true, Opcode: frame.OpBinary, Length: -1 << 62, Payload: binaryPayload(16)})
			s.sendBytes(b, chopSpec{})
			s.expectFail(nil, 1002, 1009)
		}})
	for i, code := range []int{1012, 1013, 1014} {
		b.add(&wsCase{id: fmt.Sprintf("15.3.%d", i+1), desc: fmt.Sprintf("Send a close frame with code %d (registered with IANA after RFC 6455).", code),
			expect: fmt.Sprintf("The peer answers the close with %d or 1000.", code),
			run:    func(s *session) { s.closeWith(closeCode(code, ""), []int{code, 1000}); s.gradeNothing() }})
	}
	b.add(&wsCase{id: "15.4.1", desc: "Send the header of a binary message one byte longer than the peer's advertised read limit (1 TiB when unknown), then 1 KiB of it.",
		expect: "The peer fails the connection with 1009 (RFC 6455 §7.4.1) without reading the message.",
		run: func(s *session) {
			n := int64(1 << 40)
			if s.peerLimit > 0 {
				n = s.peerLimit + 1
			}
			b := s.frameBytes(wsFrame{Fin: true, Opcode: frame.OpBinary, Length: n, Payload: binaryPayload(1024)})
			s.note("announcing a %d-byte message", n)
			s.sendBytes(b, chopSpec{})
			s.expectFail(nil, 1009)
		}})
	b.add(&wsCase{id: "15.4.2", desc: "Send a binary message in four fragments that together are one byte longer than the peer's advertised read limit (only when the limit is given and at most 64 MiB).",
		expect: "The peer fails the connection with 1009 by the last fragment; INFORMATIONAL when the limit is unknown.",
		run: func(s *session) {
			if s.peerLimit <= 0 || s.peerLimit > 64<<20 {
				s.setBehavior(Informational, "the peer's read limit is not known (set Options.ReadLimit)")
				s.closeNormal()
				s.expClose.any = true
				return
			}
			p := binaryPayload(int(s.peerLimit + 1))
			s.send(fragments(frame.OpBinary, p, len(p)/4+1)...)
			s.expectFail(nil, 1009)
		}})
}
