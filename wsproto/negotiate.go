package wsproto

import (
	"fmt"
	"strings"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/deflate"
)

// extDeflate is the extension token of RFC 7692 §7.
const extDeflate = "permessage-deflate"

// Parameter names of RFC 7692 §7.1.
const (
	paramServerNoContext = "server_no_context_takeover"
	paramClientNoContext = "client_no_context_takeover"
	paramServerMaxWindow = "server_max_window_bits"
	paramClientMaxWindow = "client_max_window_bits"
)

// deflateConfig is one permessage-deflate offer or response, parsed.
type deflateConfig struct {
	serverNoContext bool
	clientNoContext bool
	serverMaxWindow int  // 8..15, or 0 when absent
	clientMaxWindow int  // 8..15, or 0 when absent or without a value
	hasClientWindow bool // client_max_window_bits is present
}

// parseDeflate parses the parameters of a permessage-deflate offer
// (response false) or response (response true) and checks the rules that
// RFC 7692 §7.1 makes a reason to decline an offer or fail the connection:
// "an extension parameter not defined for use in an offer [response]", "an
// extension parameter with an invalid value", "multiple extension
// parameters with the same name".
func parseDeflate(e handshake.Extension, response bool) (deflateConfig, error) {
	var cfg deflateConfig
	seen := make(map[string]bool, len(e.Params))
	for _, p := range e.Params {
		name := strings.ToLower(p.Name)
		if seen[name] {
			return cfg, fmt.Errorf("parameter %q appears twice", p.Name)
		}
		seen[name] = true
		switch name {
		case paramServerNoContext, paramClientNoContext:
			// RFC 7692 §7.1.1.1, §7.1.1.2: "This extension parameter has
			// no value."
			if p.Value != "" {
				return cfg, fmt.Errorf("parameter %q has a value", p.Name)
			}
			if name == paramServerNoContext {
				cfg.serverNoContext = true
			} else {
				cfg.clientNoContext = true
			}
		case paramServerMaxWindow:
			bits, err := windowBits(p)
			if err != nil {
				return cfg, err
			}
			cfg.serverMaxWindow = bits
		case paramClientMaxWindow:
			cfg.hasClientWindow = true
			// RFC 7692 §7.1.2.2: in an offer "This parameter has no value
			// or a decimal integer value"; in a response it "has a decimal
			// integer value".
			if p.Value == "" && !response {
				continue
			}
			bits, err := windowBits(p)
			if err != nil {
				return cfg, err
			}
			cfg.clientMaxWindow = bits
		default:
			return cfg, fmt.Errorf("unknown parameter %q", p.Name)
		}
	}
	return cfg, nil
}

// windowBits parses a window-bits value. RFC 7692 §7.1.2.1: "a decimal
// integer value without leading zeroes between 8 to 15, inclusive".
func windowBits(p handshake.Param) (int, error) {
	switch v := p.Value; {
	case len(v) == 1 && v[0] >= '8' && v[0] <= '9':
		return int(v[0] - '0'), nil
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + int(v[1]-'0'), nil
	}
	return 0, fmt.Errorf("parameter %q has value %q, want 8 to 15", p.Name, p.Value)
}

// acceptDeflate is the server's side of the negotiation (RFC 7692 §5, §7.1):
// it accepts the first permessage-deflate offer it can honour, in the
// client's order, and returns the response and the agreed parameters. It
// returns false when it declines every offer; the connection then runs
// without compression.
func acceptDeflate(offers []handshake.Extension, o *CompressionOptions) (handshake.Extension, deflateParams, bool) {
	for _, e := range offers {
		if !strings.EqualFold(e.Name, extDeflate) {
			continue
		}
		// RFC 7692 §7.1: "A server MUST decline an extension negotiation
		// offer for this extension if any of the following conditions are
		// met": a parameter not defined for an offer, an invalid value,
		// a repeated parameter, or "The server doesn't support the
		// offered configuration."
		offer, err := parseDeflate(e, false)
		if err != nil {
			continue
		}
		resp := handshake.Extension{Name: extDeflate}
		// RFC 7692 §7.1.2.1: "A server accepts an extension negotiation
		// offer with this parameter by including the
		// "server_max_window_bits" extension parameter in the extension
		// negotiation response to send back to the client with the same or
		// smaller value as the offer." The same value: the encoder
		// keeps to any window (internal/deflate).
		p := newDeflateParams(o)
		if offer.serverMaxWindow != 0 {
			p.writeBits = offer.serverMaxWindow
			resp.Params = append(resp.Params, handshake.Param{Name: paramServerMaxWindow, Value: fmt.Sprint(offer.serverMaxWindow)})
		}
		// RFC 7692 §7.1.1.1: "A server accepts an extension negotiation
		// offer that includes the "server_no_context_takeover" extension
		// parameter by including the "server_no_context_takeover"
		// extension parameter in the corresponding extension negotiation
		// response"; it "MAY include" it even when the offer did not.
		if offer.serverNoContext || o.ServerNoContextTakeover {
			p.writeNoContext = true
			resp.Params = append(resp.Params, handshake.Param{Name: paramServerNoContext})
		}
		// RFC 7692 §7.1.1.2: "A server MAY include the
		// "client_no_context_takeover" extension parameter in an
		// extension negotiation response." A client that offered it
		// keeps to it anyway; saying so makes it binding.
		if offer.clientNoContext || o.ClientNoContextTakeover {
			p.readNoContext = true
			resp.Params = append(resp.Params, handshake.Param{Name: paramClientNoContext})
		}
		// RFC 7692 §7.1.2.2: the server "MAY include" client_max_window_bits
		// when the offer has it, "with a value equal to or smaller than"
		// the offer's, and "MUST NOT include" it otherwise; the client
		// then compresses within that window, and the server's decoder
		// keeps only that much. Without the option it is left out: any
		// window the client uses inflates with a 15-bit one.
		if bits := o.ClientMaxWindowBits; offer.hasClientWindow && bits >= deflate.MinWindowBits && bits <= deflate.MaxWindowBits {
			if offer.clientMaxWindow != 0 {
				bits = min(bits, offer.clientMaxWindow)
			}
			p.readBits = bits
			resp.Params = append(resp.Params, handshake.Param{Name: paramClientMaxWindow, Value: fmt.Sprint(bits)})
		}
		return resp, p, true
	}
	return handshake.Extension{}, deflateParams{}, false
}

// deflateOffer is the client's offer for o (RFC 7692 §7.1). It has
// client_max_window_bits without a value, as browsers send it: the server
// may then ask for a smaller window for the client's messages
// (§7.1.2.2), which the client honours.
func deflateOffer(o *CompressionOptions) handshake.Extension {
	e := handshake.Extension{Name: extDeflate, Params: []handshake.Param{{Name: paramClientMaxWindow}}}
	if o.ServerNoContextTakeover {
		e.Params = append(e.Params, handshake.Param{Name: paramServerNoContext})
	}
	if o.ClientNoContextTakeover {
		e.Params = append(e.Params, handshake.Param{Name: paramClientNoContext})
	}
	return e
}

// checkDeflateResponse is the client's check of the server's acceptance of
// offer (RFC 7692 §7.1): "A client MUST _Fail the WebSocket Connection_ if
// the peer server accepted an extension negotiation offer for this
// extension with an extension negotiation response meeting any of the
// following conditions": a parameter not defined for a response, an
// invalid value, a repeated parameter, or "The client does not support the
// configuration that the response represents." Every configuration is
// supported: any window size either way, with or without context takeover.
func checkDeflateResponse(resp handshake.Extension, offer handshake.Extension, o *CompressionOptions) (deflateParams, error) {
	got, err := parseDeflate(resp, true)
	if err != nil {
		return deflateParams{}, fmt.Errorf("wsproto: server's permessage-deflate response: %v (RFC 7692 §7.1)", err)
	}
	sent, err := parseDeflate(offer, false)
	if err != nil {
		return deflateParams{}, fmt.Errorf("wsproto: permessage-deflate offer: %v", err)
	}
	// RFC 7692 §7.1.2.2: without the parameter in the offer, the response
	// "MUST NOT include the "client_max_window_bits" extension parameter".
	if got.hasClientWindow && !sent.hasClientWindow {
		return deflateParams{}, fmt.Errorf("wsproto: server's permessage-deflate response has client_max_window_bits, which was not offered (RFC 7692 §7.1.2.2)")
	}
	p := newDeflateParams(o)
	// RFC 7692 §7.1.2.2: the client "MUST NOT use an LZ77 sliding window
	// bigger than" the value the response carries.
	if got.clientMaxWindow != 0 {
		p.writeBits = got.clientMaxWindow
	}
	// §7.1.2.1: the server compresses within server_max_window_bits; the
	// decoder keeps that much of a window.
	if got.serverMaxWindow != 0 {
		p.readBits = got.serverMaxWindow
	}
	// RFC 7692 §7.1.1.2: "If the received extension negotiation response
	// includes the "client_no_context_takeover" extension parameter, the
	// client MUST NOT use context takeover"; having offered it, the client
	// keeps to it anyway.
	p.writeNoContext = got.clientNoContext || sent.clientNoContext
	p.readNoContext = got.serverNoContext
	return p, nil
}

// agreedDeflate returns the permessage-deflate parameters of a handshake
// that offered offer (with o.Compression) and in which the server accepted
// exts, or nil when it declined. The extensions were checked to be offered
// and distinct.
func agreedDeflate(exts []handshake.Extension, o *DialOptions, offer handshake.Extension) (*deflateParams, error) {
	for _, e := range exts {
		if strings.EqualFold(e.Name, extDeflate) {
			p, err := checkDeflateResponse(e, offer, o.Compression)
			if err != nil {
				return nil, err
			}
			return &p, nil
		}
	}
	return nil, nil
}
