package frame

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// closeCodeRanges classifies every close code (RFC 6455 §7.4, and the IANA
// "WebSocket Close Code Number Registry" for 1012-1014): whether it may be
// sent, and its name in String.
var closeCodeRanges = []struct {
	lo, hi   CloseCode
	sendable bool
	name     string
}{
	{0, 999, false, "invalid"}, // §7.4.2: "not used"
	{1000, 1000, true, "normal closure"},
	{1001, 1001, true, "going away"},
	{1002, 1002, true, "protocol error"},
	{1003, 1003, true, "unsupported data"},
	{1004, 1004, false, "reserved"},
	{1005, 1005, false, "no status received"}, // §7.4.1: MUST NOT be set
	{1006, 1006, false, "abnormal closure"},   // §7.4.1: MUST NOT be set
	{1007, 1007, true, "invalid frame payload data"},
	{1008, 1008, true, "policy violation"},
	{1009, 1009, true, "message too big"},
	{1010, 1010, true, "mandatory extension"},
	{1011, 1011, true, "internal error"},
	{1012, 1012, true, "service restart"},
	{1013, 1013, true, "try again later"},
	{1014, 1014, true, "bad gateway"},
	{1015, 1015, false, "TLS handshake"}, // §7.4.1: MUST NOT be set
	{1016, 2999, false, "invalid"},       // §7.4.2: for the protocol, not defined
	{3000, 3999, true, "registered"},     // §7.4.2: libraries, frameworks, applications
	{4000, 4999, true, "application"},    // §7.4.2: private use
	{5000, 65535, false, "invalid"},
}

// refSendable is whether closeCodeRanges lets c be sent.
func refSendable(c CloseCode) bool {
	for _, r := range closeCodeRanges {
		if r.lo <= c && c <= r.hi {
			return r.sendable
		}
	}
	panic(fmt.Sprintf("close code %d is in no range", c))
}

func TestCloseCodes(t *testing.T) {
	next := 0 // the ranges cover 0..65535 in order, without gaps
	for _, r := range closeCodeRanges {
		if int(r.lo) != next || r.hi < r.lo {
			t.Fatalf("closeCodeRanges: range %d-%d, want it to start at %d", r.lo, r.hi, next)
		}
		next = int(r.hi) + 1
		for c := int(r.lo); c <= int(r.hi); c++ {
			code := CloseCode(c)
			if got := code.Sendable(); got != r.sendable {
				t.Errorf("CloseCode(%d).Sendable() = %v, want %v", c, got, r.sendable)
			}
			if got, want := code.String(), fmt.Sprintf("%d (%s)", c, r.name); got != want {
				t.Errorf("CloseCode(%d).String() = %q, want %q", c, got, want)
			}
		}
	}
	if next != 65536 {
		t.Fatalf("closeCodeRanges end at %d, want 65535", next-1)
	}
}

func TestCloseCodeConstants(t *testing.T) {
	tests := []struct {
		code CloseCode
		want uint16
	}{
		{CloseNormal, 1000}, {CloseGoingAway, 1001}, {CloseProtocolError, 1002},
		{CloseUnsupportedData, 1003}, {CloseNoStatus, 1005}, {CloseAbnormal, 1006},
		{CloseInvalidPayload, 1007}, {ClosePolicyViolation, 1008}, {CloseTooBig, 1009},
		{CloseMandatoryExtension, 1010}, {CloseInternalError, 1011}, {CloseServiceRestart, 1012},
		{CloseTryAgainLater, 1013}, {CloseBadGateway, 1014}, {CloseTLSHandshake, 1015},
	}
	for _, tt := range tests {
		if uint16(tt.code) != tt.want {
			t.Errorf("%v = %d, want %d", tt.code, uint16(tt.code), tt.want)
		}
	}
}

func TestCloseError(t *testing.T) {
	tests := []struct {
		err  CloseError
		want string
	}{
		{CloseError{CloseNormal, "bye"}, "wsproto: closed: 1000 (normal closure): bye"},
		{CloseError{CloseNoStatus, ""}, "wsproto: closed: 1005 (no status received)"},
		{CloseError{4000, "game over"}, "wsproto: closed: 4000 (application): game over"},
		{CloseError{CloseGoingAway, "a\nb\x1b[31m"}, `wsproto: closed: 1001 (going away): "a\nb\x1b[31m"`},
		{CloseError{CloseNormal, "\u65e5\u672c `ok`"}, "wsproto: closed: 1000 (normal closure): \u65e5\u672c `ok`"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestCloseStatus(t *testing.T) {
	ce := CloseError{Code: CloseGoingAway, Reason: "restart"}
	wrapped := fmt.Errorf("wsproto: read: %w", ce)
	tests := []struct {
		name string
		err  error
		want CloseCode
	}{
		{"nil", nil, 0},
		{"other error", io.EOF, 0},
		{"CloseError", ce, CloseGoingAway},
		{"wrapped", wrapped, CloseGoingAway},
		{"joined", errors.Join(io.ErrUnexpectedEOF, CloseError{Code: 4001}), 4001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CloseStatus(tt.err); got != tt.want {
				t.Errorf("CloseStatus(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	var got CloseError
	if !errors.As(wrapped, &got) || got != ce {
		t.Errorf("errors.As(%v, &CloseError) = %#v, want %#v", wrapped, got, ce)
	}
}

var closePayloadTests = []struct {
	name    string
	payload []byte
	want    CloseError
	err     error
}{
	{"empty", nil, CloseError{Code: CloseNoStatus}, nil},
	{"1 byte", []byte{0x03}, CloseError{}, ErrProtocol},
	{"1000", []byte{0x03, 0xe8}, CloseError{Code: CloseNormal}, nil},
	{"1001 with reason", []byte("\x03\xe9bye"), CloseError{CloseGoingAway, "bye"}, nil},
	{"1003", []byte{0x03, 0xeb}, CloseError{Code: CloseUnsupportedData}, nil},
	{"1007", []byte{0x03, 0xef}, CloseError{Code: CloseInvalidPayload}, nil},
	{"1014", []byte{0x03, 0xf6}, CloseError{Code: CloseBadGateway}, nil},
	{"3000", []byte{0x0b, 0xb8}, CloseError{Code: 3000}, nil},
	{"4999 with reason", []byte("\x13\x87\u00e9t\u00e9"), CloseError{4999, "\u00e9t\u00e9"}, nil},
	{"125 bytes", append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...), CloseError{CloseNormal, strings.Repeat("r", 123)}, nil},
	{"125 bytes of 2-byte characters", append([]byte{0x0f, 0xa0}, strings.Repeat("\u00e9", 61)+"!"...), CloseError{4000, strings.Repeat("\u00e9", 61) + "!"}, nil},

	{"126 bytes", append([]byte{0x03, 0xe8}, strings.Repeat("r", 124)...), CloseError{}, ErrProtocol},
	{"code 0", []byte{0x00, 0x00}, CloseError{}, ErrProtocol},
	{"code 999", []byte{0x03, 0xe7}, CloseError{}, ErrProtocol},
	{"code 1004", []byte{0x03, 0xec}, CloseError{}, ErrProtocol},
	{"code 1005", []byte{0x03, 0xed}, CloseError{}, ErrProtocol},
	{"code 1006", []byte{0x03, 0xee}, CloseError{}, ErrProtocol},
	{"code 1015", []byte{0x03, 0xf7}, CloseError{}, ErrProtocol},
	{"code 1016", []byte{0x03, 0xf8}, CloseError{}, ErrProtocol},
	{"code 2999", []byte{0x0b, 0xb7}, CloseError{}, ErrProtocol},
	{"code 5000", []byte{0x13, 0x88}, CloseError{}, ErrProtocol},
	{"code 65535", []byte{0xff, 0xff}, CloseError{}, ErrProtocol},
	{"code 1005 with reason", []byte("\x03\xedbye"), CloseError{}, ErrProtocol},

	{"reason FF", []byte("\x03\xe8\xff"), CloseError{}, ErrInvalidUTF8},
	{"reason cut in a character", []byte("\x03\xe8ok\xe2\x82"), CloseError{}, ErrInvalidUTF8},
	{"reason with a surrogate", []byte("\x03\xe8\xed\xa0\x80"), CloseError{}, ErrInvalidUTF8},
	{"reason overlong", []byte("\x03\xe8\xc0\xaf"), CloseError{}, ErrInvalidUTF8},
}

func TestParseClosePayload(t *testing.T) {
	for _, tt := range closePayloadTests {
		t.Run(tt.name, func(t *testing.T) {
			p := bytes.Clone(tt.payload)
			got, err := ParseClosePayload(p)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("ParseClosePayload(%q) = %#v, %v; want error %v", tt.payload, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseClosePayload(%q) = %#v, %v; want %#v, nil", tt.payload, got, err, tt.want)
			}
			// The reason does not share memory with the payload.
			for i := range p {
				p[i] = 'X'
			}
			if got != tt.want {
				t.Errorf("ParseClosePayload(%q).Reason changed to %q when the payload was overwritten", tt.payload, got.Reason)
			}
		})
	}
}

func TestAppendClosePayload(t *testing.T) {
	tests := []struct {
		name   string
		code   CloseCode
		reason string
		want   []byte // nil with an error
	}{
		{"1000", CloseNormal, "", []byte{0x03, 0xe8}},
		{"1001 with reason", CloseGoingAway, "bye", []byte{0x03, 0xe9, 'b', 'y', 'e'}},
		{"1014", CloseBadGateway, "", []byte{0x03, 0xf6}},
		{"3000", 3000, "", []byte{0x0b, 0xb8}},
		{"4999 with UTF-8 reason", 4999, "\u00e9", []byte{0x13, 0x87, 0xc3, 0xa9}},
		{"123-byte reason", CloseNormal, strings.Repeat("r", 123), append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...)},
		{"no status", CloseNoStatus, "", []byte{}},

		{"no status with reason", CloseNoStatus, "bye", nil},
		{"124-byte reason", CloseNormal, strings.Repeat("r", 124), nil},
		{"invalid UTF-8 reason", CloseNormal, "\xff", nil},
		{"code 0", 0, "", nil},
		{"code 999", 999, "", nil},
		{"code 1004", 1004, "", nil},
		{"code 1006", CloseAbnormal, "", nil},
		{"code 1015", CloseTLSHandshake, "", nil},
		{"code 1016", 1016, "", nil},
		{"code 2999", 2999, "", nil},
		{"code 5000", 5000, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("ab")
			got, err := AppendClosePayload(dst, tt.code, tt.reason)
			if tt.want == nil {
				if err == nil || !strings.HasPrefix(err.Error(), "wsproto: ") || errors.Is(err, ErrProtocol) {
					t.Errorf("AppendClosePayload(%q, %v, %q) error = %v, want a plain error prefixed %q", dst, tt.code, tt.reason, err, "wsproto: ")
				}
				if string(got) != "ab" {
					t.Errorf("AppendClosePayload(%q, %v, %q) = %q with its error, want %q", dst, tt.code, tt.reason, got, "ab")
				}
				return
			}
			want := append([]byte("ab"), tt.want...)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("AppendClosePayload(%q, %v, %q) = %x, %v; want %x, nil", dst, tt.code, tt.reason, got, err, want)
			}
		})
	}
}

func FuzzParseClosePayload(f *testing.F) {
	for _, tt := range closePayloadTests {
		f.Add(tt.payload)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		ce, err := ParseClosePayload(p)

		// The reference rules of RFC 6455 §5.5, §5.5.1, §7.4 and §8.1.
		var want error
		switch {
		case len(p) > 125 || len(p) == 1:
			want = ErrProtocol
		case len(p) >= 2 && !refSendable(CloseCode(p[0])<<8|CloseCode(p[1])):
			want = ErrProtocol
		case len(p) >= 2 && !utf8.Valid(p[2:]):
			want = ErrInvalidUTF8
		}
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("ParseClosePayload(%q) = %#v, %v; want error %v", p, ce, err, want)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseClosePayload(%q) = %v, want no error", p, err)
		}

		// Round trip: appending gives the same bytes, parsing them the
		// same CloseError.
		q, err := AppendClosePayload(nil, ce.Code, ce.Reason)
		if err != nil || !bytes.Equal(q, p) {
			t.Fatalf("AppendClosePayload(nil, %v, %q) = %x, %v; want %x, nil", ce.Code, ce.Reason, q, err, p)
		}
		ce2, err := ParseClosePayload(q)
		if err != nil || ce2 != ce {
			t.Fatalf("ParseClosePayload(%x) = %#v, %v; want %#v, nil", q, ce2, err, ce)
		}
	})
}
