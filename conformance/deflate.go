package conformance

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/pushwire/pushwire/handshake"
)

// pmdName is the extension token of RFC 7692.
const pmdName = "permessage-deflate"

// tail is the end of a flush that RFC 7692 §7.2.1 strips from a
// compressed message and §7.2.2 appends before inflating.
var tail = []byte{0x00, 0x00, 0xff, 0xff}

// finalBlock is an empty final stored block: appended after tail, it
// ends the deflate stream so that the reader returns io.EOF.
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// pmdState compresses the messages the harness sends and inflates those
// it receives, with the parameters the handshake agreed on. It is the
// harness's own transcription of RFC 7692 §7.2 on compress/flate.
type pmdState struct {
	sendNoCtx  bool // reset the compressor for every message
	sendWindow int  // window bits allowed for what the harness sends
	recvNoCtx  bool // the peer promised to compress every message alone
	limit      int64

	fw   *flate.Writer
	fr   io.ReadCloser
	out  bytes.Buffer
	dict []byte // the last 32 KiB the peer sent, for context takeover
}

func newPMD(sendNoCtx bool, sendWindow int, recvNoCtx bool) *pmdState {
	return &pmdState{sendNoCtx: sendNoCtx, sendWindow: sendWindow, recvNoCtx: recvNoCtx, limit: maxMessage}
}

// deflate compresses one message (RFC 7692 §7.2.1): compress, flush, and
// remove the 4 octets 0x00 0x00 0xff 0xff at the tail end.
func (p *pmdState) deflate(msg []byte) []byte {
	p.out.Reset()
	switch {
	case p.fw == nil:
		// compress/flate always uses a 32 KiB window; when a smaller window
		// was agreed (max_window_bits < 15), Huffman-only coding, which
		// has no back-references, stays within any window.
		level := flate.BestSpeed
		if p.sendWindow < 15 {
			level = flate.HuffmanOnly
		}
		p.fw, _ = flate.NewWriter(&p.out, level)
	case p.sendNoCtx:
		p.fw.Reset(&p.out) // an empty window for every message
	}
	p.fw.Write(msg)
	p.fw.Flush()
	b := bytes.Clone(p.out.Bytes())
	return bytes.TrimSuffix(b, tail)
}

// deflateZeros compresses a message of n zero bytes without holding it
// in memory: the compression bomb.
func (p *pmdState) deflateZeros(n int64) []byte {
	p.out.Reset()
	if p.fw == nil {
		p.fw, _ = flate.NewWriter(&p.out, flate.BestSpeed)
	}
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(zeros)))
		p.fw.Write(zeros[:k])
		n -= k
	}
	p.fw.Flush()
	return bytes.TrimSuffix(bytes.Clone(p.out.Bytes()), tail)
}

// inflate decompresses one message (RFC 7692 §7.2.2): append 0x00 0x00
// 0xff 0xff to the payload and decompress, with the window of the
// previous messages unless the peer works without context takeover.
func (p *pmdState) inflate(b []byte) ([]byte, error) {
	in := make([]byte, 0, len(b)+len(tail)+len(finalBlock))
	in = append(append(append(in, b...), tail...), finalBlock...)
	var dict []byte
	if !p.recvNoCtx {
		dict = p.dict
	}
	if p.fr == nil {
		p.fr = flate.NewReaderDict(bytes.NewReader(in), dict)
	} else if err := p.fr.(flate.Resetter).Reset(bytes.NewReader(in), dict); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(p.fr, p.limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > p.limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errInflateLimit, p.limit)
	}
	if !p.recvNoCtx {
		p.dict = append(p.dict, out...)
		if len(p.dict) > 32<<10 {
			p.dict = bytes.Clone(p.dict[len(p.dict)-32<<10:])
		}
	}
	return out, nil
}

// pmdParams are the parameters of one permessage-deflate offer or
// response (RFC 7692 §7.1). A window of 0 means the parameter is absent;
// -1 means present without a value (client_max_window_bits in an offer).
// pmdParams are the parameters of one permessage-deflate offer or
// response (RFC 7692 §7.1). A window of 0 means the parameter is absent;
// -1 means present without a value (client_max_window_bits in an offer).
type pmdParams struct {
	serverNoCtx, clientNoCtx         bool
	serverMaxWindow, clientMaxWindow int
}

// offerString formats an offer in the order Autobahn writes its offers.
func (p pmdParams) offerString() string {
	s := pmdName
	if p.clientNoCtx {
		s += "; client_no_context_takeover"
	}
	switch {
	case p.clientMaxWindow < 0:
		s += "; client_max_window_bits"
	case p.clientMaxWindow > 0:
		s += "; client_max_window_bits=" + strconv.Itoa(p.clientMaxWindow)
	}
	if p.serverNoCtx {
		s += "; server_no_context_takeover"
	}
	if p.serverMaxWindow > 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(p.serverMaxWindow)
	}
	return s
}

// responseString formats a response in the order Autobahn writes its
// responses.
func (p pmdParams) responseString() string {
	s := pmdName
	if p.serverNoCtx {
		s += "; server_no_context_takeover"
	}
	if p.serverMaxWindow > 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(p.serverMaxWindow)
	}
	if p.clientNoCtx {
		s += "; client_no_context_takeover"
	}
	if p.clientMaxWindow > 0 {
		s += "; client_max_window_bits=" + strconv.Itoa(p.clientMaxWindow)
	}
	return s
}

// parsePMD reads the parameters of a permessage-deflate element, checking
// them as RFC 7692 §7.1 requires: known names, each at most once, window
// bits 8 to 15 ("a decimal integer value without leading zeroes between 8
// and 15"), no value on the no_context_takeover ones. In an offer,
// client_max_window_bits may come without a value (-1).
func parsePMD(e handshake.Extension, offer bool) (pmdParams, error) {
	var p pmdParams
	seen := map[string]bool{}
	for _, prm := range e.Params {
		if seen[prm.Name] {
			return p, fmt.Errorf("parameter %s appears twice (RFC 7692 §7.1)", prm.Name)
		}
		seen[prm.Name] = true
		bits := func() (int, error) {
			n, err := strconv.Atoi(prm.Value)
			if err != nil || n < 8 || n > 15 || prm.Value[0] == '0' {
				return 0, fmt.Errorf("%s=%q is not 8 to 15 (RFC 7692 §7.1.2)", prm.Name, prm.Value)
			}
			return n, nil
		}
		var err error
		switch prm.Name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if prm.Value != "" {
				return p, fmt.Errorf("%s has a value (RFC 7692 §7.1.1)", prm.Name)
			}
			if prm.Name[0] == 's' {
				p.serverNoCtx = true
			} else {
				p.clientNoCtx = true
			}
		case "server_max_window_bits":
			p.serverMaxWindow, err = bits()
		case "client_max_window_bits":
			if offer && prm.Value == "" {
				p.clientMaxWindow = -1
			} else {
				p.clientMaxWindow, err = bits()
			}
		default:
			return p, fmt.Errorf("unknown parameter %s (RFC 7692 §7.1: the client MUST _Fail the WebSocket Connection_)", prm.Name)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// pmdCase is the permessage-deflate part of a compression case: the offers
// the harness makes when it tests a server (Autobahn's CLIENT_OFFERS), and
// how it answers a client's offers when it tests one (Autobahn's
// SERVER_ACCEPT).
type pmdCase struct {
	offers []pmdParams
	// requestNoCtx and requestWindow are what the harness, as the server,
	// asks of the client: client_no_context_takeover and
	// client_max_window_bits=requestWindow (0: not asked).
	requestNoCtx  bool
	requestWindow int
	// fallback, when set, is tried when no offer suits this acceptance
	// (Autobahn's accept7: (True, 9), then (True, 0), then (False, 0)).
	fallback *pmdCase
}

// autobahnOffer is Autobahn's PerMessageDeflateOffer: it accepts that the
// server asks for no context takeover and a window of its choosing, and
// requests server_no_context_takeover and server_max_window_bits=window
// (0: not requested).
func autobahnOffer(serverNoCtx bool, window int) pmdParams {
	return pmdParams{clientNoCtx: true, clientMaxWindow: -1, serverNoCtx: serverNoCtx, serverMaxWindow: window}
}

// extensions returns the offers for the opening handshake.
func (c *pmdCase) extensions() []handshake.Extension {
	var out []handshake.Extension
	for _, o := range c.offers {
		e := handshake.Extension{Name: pmdName}
		if o.clientNoCtx {
			e.Params = append(e.Params, handshake.Param{Name: "client_no_context_takeover"})
		}
		if o.clientMaxWindow != 0 {
			v := ""
			if o.clientMaxWindow > 0 {
				v = strconv.Itoa(o.clientMaxWindow)
			}
			e.Params = append(e.Params, handshake.Param{Name: "client_max_window_bits", Value: v})
		}
		if o.serverNoCtx {
			e.Params = append(e.Params, handshake.Param{Name: "server_no_context_takeover"})
		}
		if o.serverMaxWindow > 0 {
			e.Params = append(e.Params, handshake.Param{Name: "server_max_window_bits", Value: strconv.Itoa(o.serverMaxWindow)})
		}
		out = append(out, e)
	}
	return out
}

// header returns the Sec-WebSocket-Extensions value of the offers.
func (c *pmdCase) header() string {
	var parts []string
	for _, o := range c.offers {
		parts = append(parts, o.offerString())
	}
	return strings.Join(parts, ", ")
}

// accept chooses, as the server, the first of a client's offers this case
// accepts and returns the response and the offer. Like Autobahn's offer
// parser, it takes every offer to accept client_no_context_takeover, and
// client_max_window_bits only when the offer has it.
func (c *pmdCase) accept(offers []handshake.Extension) (resp, offer pmdParams, ok bool) {
	for ; c != nil; c = c.fallback {
		for _, e := range offers {
			if e.Name != pmdName {
				continue
			}
			p, err := parsePMD(e, true)
			if err != nil {
				continue
			}
			if c.requestWindow > 0 && p.clientMaxWindow == 0 {
				continue
			}
			resp := pmdParams{serverNoCtx: p.serverNoCtx, serverMaxWindow: p.serverMaxWindow, clientNoCtx: c.requestNoCtx, clientMaxWindow: c.requestWindow}
			// RFC 7692 §7.1.2.2: a response's client_max_window_bits may not
			// exceed the value the client offered.
			if p.clientMaxWindow > 0 && resp.clientMaxWindow > p.clientMaxWindow {
				resp.clientMaxWindow = p.clientMaxWindow
			}
			return resp, p, true
		}
	}
	return pmdParams{}, pmdParams{}, false
}

var errNoPMD = errors.New("the peer did not negotiate permessage-deflate")

// errInflateLimit reports a compressed message that inflates to more than
// the harness keeps: the harness's limit, not the peer's violation.
var errInflateLimit = errors.New("the message inflates past the harness's limit")

// setupClient installs, for the harness as the client, the compression the
// server's response agreed on. It returns errNoPMD when the response has
// none, another error when it is invalid.
func (c *pmdCase) setupClient(s *session, agreed []handshake.Extension) error {
	var got *handshake.Extension
	for i, e := range agreed {
		if e.Name != pmdName {
			return fmt.Errorf("the response has the extension %q, which the harness did not offer (%s)", e.Name, ruleNoExtension)
		}
		if got != nil {
			return errors.New("permessage-deflate appears twice in the response (" + rulePMDNegotiate + ")")
		}
		got = &agreed[i]
	}
	if got == nil {
		return errNoPMD
	}
	p, err := parsePMD(*got, false)
	if err != nil {
		return fmt.Errorf("%v (%s)", err, rulePMDNegotiate)
	}
	if p.clientMaxWindow > 0 && !slices.ContainsFunc(c.offers, func(o pmdParams) bool { return o.clientMaxWindow != 0 }) {
		return errors.New("client_max_window_bits in the response to offers without it (" + rulePMDNegotiate + ")")
	}
	window := 15
	if p.clientMaxWindow > 0 {
		window = p.clientMaxWindow
	}
	// Like Autobahn's client, the harness compresses with context takeover
	// unless the response says client_no_context_takeover.
	s.pmd = newPMD(p.clientNoCtx, window, p.serverNoCtx)
	s.note("permessage-deflate agreed: %s", p.responseString())
	return nil
}

// setupServer installs, for the harness as the server, the compression of
// the response it gave to offer.
func (c *pmdCase) setupServer(s *session, resp, offer pmdParams) {
	window := 15
	if offer.serverMaxWindow > 0 {
		window = offer.serverMaxWindow
	}
	s.pmd = newPMD(offer.serverNoCtx, window, resp.clientNoCtx)
	s.note("permessage-deflate agreed: %s", resp.responseString())
}
