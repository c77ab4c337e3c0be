package conformance

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/h2stream"
)

// WebSocket over HTTP/2 (RFC 8441). The opening handshake is an extended
// CONNECT request on a new stream of an HTTP/2 connection (§4, §5): no
// Sec-WebSocket-Key, no Sec-WebSocket-Accept, a 2xx answer; then the
// stream's DATA frames carry the WebSocket frames unchanged, masking
// included (§5: "the peers should proceed with The WebSocket Protocol
// Data Framing"). internal/h2stream gives such a stream as a net.Conn,
// so every case but the HTTP/1.1 opening-handshake ones (15.1.x) runs
// over it as over TCP; 15.6.x are the HTTP/2 handshake's own cases.
//
// What is "the TCP connection" of RFC 6455 is the stream here: the
// server closing TCP is the server ending its half of the stream
// (END_STREAM, or RST_STREAM), which the harness reads as the end of its
// connection; the harness's own close resets the stream. Many cases share
// one HTTP/2 connection, as browsers share one per origin.

// transportH2 names the RFC 8441 transport.
const transportH2 = "h2"

// h2Transport opens each case's connection as a stream of the HTTP/2
// connections of one http.Transport.
type h2Transport struct {
	url    *url.URL // https://, as given
	wsURL  *url.URL // the same as wss://, for handshake.NewConnectRequest
	header http.Header
	t      *http.Transport
}

func newH2Transport(u *url.URL, opts *Options) *h2Transport {
	cfg := &tls.Config{}
	if opts.TLSConfig != nil {
		cfg = opts.TLSConfig.Clone()
	}
	ws := *u
	ws.Scheme = "wss"
	return &h2Transport{url: u, wsURL: &ws, header: opts.Header, t: &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: true,
		// Each case has its own stream; a server under test that limits
		// concurrent streams makes the later ones wait for a new connection
		// instead of failing.
		MaxIdleConnsPerHost: 4,
	}}
}

func (t *h2Transport) name() string { return transportH2 }

func (t *h2Transport) close() { t.t.CloseIdleConnections() }

// open sends the extended CONNECT request of RFC 8441 §5 offering exts
// and checks the answer as a client must (handshake.CheckConnectResponse).
func (t *h2Transport) open(ctx context.Context, exts []handshake.Extension, timeout time.Duration) (*stream, error) {
	copts := &handshake.ClientOptions{Header: t.header, Extensions: exts}
	req, err := handshake.NewConnectRequest(t.wsURL, copts)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cc, resp, err := h2stream.Dial(hctx, t.t, req)
	if err != nil {
		return nil, fmt.Errorf("extended CONNECT: %w", err)
	}
	res, err := handshake.CheckConnectResponse(resp, copts)
	if err != nil {
		if cc != nil {
			cc.Close()
		} else {
			resp.Body.Close()
		}
		return nil, err
	}
	info := fmt.Sprintf("%s %s (RFC 8441 extended CONNECT)", resp.Proto, resp.Status)
	if e := resp.Header.Get("Sec-WebSocket-Extensions"); e != "" {
		info += "; Sec-WebSocket-Extensions: " + e
	}
	return &stream{conn: cc, br: bufio.NewReaderSize(cc, 64<<10), agreed: res.Extensions, info: info}, nil
}

// roundTrip sends an extended CONNECT request edited by edit, for the
// handshake cases, and returns the response with its body closed. A 2xx
// answer's stream is closed at once.
func (t *h2Transport) roundTrip(ctx context.Context, timeout time.Duration, edit func(h http.Header)) (*http.Response, error) {
	req, err := handshake.NewConnectRequest(t.wsURL, &handshake.ClientOptions{Header: t.header})
	if err != nil {
		return nil, err
	}
	edit(req.Header)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cc, resp, err := h2stream.Dial(hctx, t.t, req)
	if err != nil {
		return nil, err
	}
	if cc != nil {
		cc.Close()
	} else {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
	}
	return resp, nil
}

// upgradeH2 answers a client's extended CONNECT request (RFC 8441 §5) as
// the server, with the extensions exts, and returns the stream. The
// handler must not return before the stream is closed (h2stream.Accept):
// the FuzzingServer's handlers close it before they return.
func upgradeH2(w http.ResponseWriter, r *http.Request, exts string) (*stream, error) {
	if _, err := handshake.CheckConnect(r); err != nil {
		handshake.Reject(w, err)
		return nil, err
	}
	handshake.WriteConnectResponse(w, "", exts, nil)
	c, err := h2stream.Accept(w, r)
	if err != nil {
		return nil, err
	}
	info := "200 (RFC 8441 extended CONNECT over " + r.Proto + ")"
	if e := r.Header.Get("Sec-WebSocket-Extensions"); e != "" {
		info += "; the client offered Sec-WebSocket-Extensions: " + e
	}
	return &stream{conn: c, br: bufio.NewReaderSize(c, 64<<10), info: info}, nil
}

// h2HandshakeCases are the opening-handshake cases of RFC 8441 (15.6.x),
// for servers reached over HTTP/2: the request is net/http's HTTP/2
// client's, edited.
func h2HandshakeCases(b *builder) {
	n := 0
	add := func(desc, expect string, edit func(h http.Header), grade func(e *rawEnv, resp *http.Response)) {
		n++
		b.add(&wsCase{id: fmt.Sprintf("15.6.%d", n), desc: desc, expect: expect, roles: roleServer, transport: transportH2,
			raw: func(e *rawEnv) {
				t := e.tr.(*h2Transport)
				e.log(Event{Dir: "note", Kind: "handshake", Text: "extended CONNECT " + t.url.String() + ": " + desc})
				resp, err := t.roundTrip(e.ctx, 5*e.unit, edit)
				if err != nil {
					e.res.Behavior, e.res.BehaviorReason = Failed, "no response: "+err.Error()
					return
				}
				var sb strings.Builder
				fmt.Fprintf(&sb, "%s %s\r\n", resp.Proto, resp.Status)
				resp.Header.Write(&sb)
				e.log(Event{Dir: "recv", Kind: "handshake", Code: resp.StatusCode, Text: sb.String()})
				grade(e, resp)
			}})
	}
	accepted := func(e *rawEnv, resp *http.Response) {
		switch {
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d for a valid extended CONNECT, want 2xx (%s)", resp.StatusCode, ruleH2Accept)
		case resp.Header.Get("Sec-WebSocket-Accept") != "":
			e.res.Behavior, e.res.BehaviorReason = NonStrict, "a Sec-WebSocket-Accept header, which RFC 8441 §5 does not use (\"The Sec-WebSocket-Key and Sec-WebSocket-Accept header fields are not used\")"
		case resp.Header.Get("Sec-WebSocket-Extensions") != "":
			e.res.Behavior, e.res.BehaviorReason = Failed, "an extension the client did not offer ("+ruleNoExtension+")"
		default:
			e.res.Behavior, e.res.BehaviorReason = OK, fmt.Sprintf("status %d, no Sec-WebSocket-Accept", resp.StatusCode)
		}
	}
	rejected := func(rule string, want ...int) func(e *rawEnv, resp *http.Response) {
		return func(e *rawEnv, resp *http.Response) {
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode <= 299:
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d: the server accepted an invalid handshake (%s)", resp.StatusCode, rule)
			case want[0] == 426 && in(resp.StatusCode, want) && !strings.Contains(resp.Header.Get("Sec-WebSocket-Version"), "13"):
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d without Sec-WebSocket-Version: 13 (%s)", resp.StatusCode, ruleVersion)
			case in(resp.StatusCode, want):
				e.res.Behavior, e.res.BehaviorReason = OK, fmt.Sprintf("status %d", resp.StatusCode)
			case resp.StatusCode >= 400 && resp.StatusCode < 500 && e.opts.Strict:
				e.res.Behavior, e.res.BehaviorReason = NonStrict, fmt.Sprintf("-strict: status %d, where %v fits best", resp.StatusCode, want)
			case resp.StatusCode >= 400 && resp.StatusCode < 600:
				e.res.Behavior, e.res.BehaviorReason = OK, fmt.Sprintf("status %d, an error status (%v would fit best)", resp.StatusCode, want)
			default:
				e.res.Behavior, e.res.BehaviorReason = Failed, fmt.Sprintf("status %d, expected %v", resp.StatusCode, want)
			}
		}
	}
	add("A valid extended CONNECT: :protocol websocket, Sec-WebSocket-Version: 13, no Sec-WebSocket-Key (RFC 8441 §5).",
		"A 2xx answer without Sec-WebSocket-Accept (RFC 8441 §5).", func(http.Header) {}, accepted)
	add("An extended CONNECT that also carries a Sec-WebSocket-Key, which RFC 8441 §5 does not use.",
		"A 2xx answer without Sec-WebSocket-Accept: the unused field is ignored.",
		func(h http.Header) { h.Set("Sec-WebSocket-Key", handshake.NewKey()) }, accepted)
	add("An extended CONNECT with :protocol \"chat\" instead of websocket (RFC 8441 §5).",
		"The server refuses (4xx, 400 or 501 fitting best); a 2xx is FAILED.",
		func(h http.Header) { h[handshake.ProtocolHeader] = []string{"chat"} }, rejected(ruleH2Protocol, 400, 501))
	add("An extended CONNECT without Sec-WebSocket-Version (RFC 8441 §5, RFC 6455 §4.2.1).",
		"The server refuses with 426 and Sec-WebSocket-Version: 13, or 400 (another 4xx: OK; with -strict NON-STRICT).",
		func(h http.Header) { h.Del("Sec-WebSocket-Version") }, rejected(ruleHandshake, 426, 400))
	add("An extended CONNECT with Sec-WebSocket-Version: 8 (RFC 6455 §4.2.2).",
		"426 with Sec-WebSocket-Version: 13 (another 4xx: OK; with -strict NON-STRICT).",
		func(h http.Header) { h.Set("Sec-WebSocket-Version", "8") }, rejected(ruleVersion, 426))
	add("An extended CONNECT whose Sec-WebSocket-Extensions is malformed (\"permessage-deflate; =\").",
		"The server refuses with 400 (another 4xx: OK; with -strict NON-STRICT).",
		func(h http.Header) { h.Set("Sec-WebSocket-Extensions", "permessage-deflate; =") }, rejected(ruleHandshake, 400))
}

func init() { builders = append(builders, h2HandshakeCases) }
