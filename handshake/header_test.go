package handshake

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestHeaderHasToken(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		token string
		want  bool
	}{
		{"exact", []string{"Upgrade"}, "upgrade", true},
		{"upper", []string{"UPGRADE"}, "upgrade", true},
		{"list", []string{"keep-alive, Upgrade"}, "upgrade", true},
		{"list tight", []string{"keep-alive,Upgrade"}, "upgrade", true},
		{"list tabs", []string{"keep-alive,\tUpgrade\t"}, "upgrade", true},
		{"second line", []string{"keep-alive", "upgrade"}, "upgrade", true},
		{"empty elements", []string{",, upgrade ,"}, "upgrade", true},
		{"absent", nil, "upgrade", false},
		{"other", []string{"keep-alive"}, "upgrade", false},
		{"substring", []string{"upgraded"}, "upgrade", false},
		{"prefix", []string{"upgrade2, x"}, "upgrade", false},
		{"inner space", []string{"up grade"}, "upgrade", false},
		{"kelvin sign is not k", []string{"websoc\u212Aet"}, "websocket", false},
		{"empty", []string{""}, "upgrade", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Connection": tt.lines}
			if got := HeaderHasToken(h, "Connection", tt.token); got != tt.want {
				t.Errorf("HeaderHasToken(%q, %q) = %v, want %v", tt.lines, tt.token, got, tt.want)
			}
		})
	}
}

func TestHeaderHasTokenAllocs(t *testing.T) {
	h := http.Header{"Connection": {"keep-alive, Upgrade"}}
	if n := testing.AllocsPerRun(100, func() { HeaderHasToken(h, "Connection", "upgrade") }); n != 0 {
		t.Errorf("HeaderHasToken allocates %v times, want 0", n)
	}
}

var protocolTests = []struct {
	name  string
	lines []string
	want  []string // nil with ok: nothing offered
	ok    bool
}{
	{"absent", nil, nil, true},
	{"one", []string{"chat"}, []string{"chat"}, true},
	{"list", []string{"chat, superchat"}, []string{"chat", "superchat"}, true},
	{"tight list", []string{"a,b,c"}, []string{"a", "b", "c"}, true},
	{"several lines", []string{"a, b", "c"}, []string{"a", "b", "c"}, true},
	{"empty elements", []string{",a,, b ,"}, []string{"a", "b"}, true},
	{"empty line", []string{""}, nil, true},
	{"only commas", []string{" , ,"}, nil, true},
	{"tabs", []string{"\ta\t,\tb"}, []string{"a", "b"}, true},
	{"token chars", []string{"v1.chat+json!#$%&'*^_`|~"}, []string{"v1.chat+json!#$%&'*^_`|~"}, true},
	{"duplicates kept", []string{"a, a"}, []string{"a", "a"}, true},
	{"case kept", []string{"Chat"}, []string{"Chat"}, true},
	{"inner space", []string{"a b"}, nil, false},
	{"slash", []string{"chat/1"}, nil, false},
	{"quoted", []string{`"chat"`}, nil, false},
	{"semicolon", []string{"chat;v=1"}, nil, false},
	{"control", []string{"ch\x01at"}, nil, false},
	{"non-ASCII", []string{"ch\u00e4t"}, nil, false},
	{"bad second line", []string{"a", "b c"}, nil, false},
}

func TestParseProtocols(t *testing.T) {
	for _, tt := range protocolTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProtocols(http.Header{"Sec-Websocket-Protocol": tt.lines})
			if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseProtocols(%q) = %q, %v, want %q, ok %v", tt.lines, got, err, tt.want, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("ParseProtocols(%q) error %v does not wrap ErrMalformed", tt.lines, err)
				}
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("ParseProtocols(%q) error %q is not one line", tt.lines, err)
				}
			}
		})
	}
}

func TestSelectProtocol(t *testing.T) {
	tests := []struct {
		name               string
		offered, supported []string
		want               string
	}{
		{"none offered", nil, []string{"chat"}, ""},
		{"none supported", []string{"chat"}, nil, ""},
		{"match", []string{"chat"}, []string{"chat"}, "chat"},
		{"server preference wins", []string{"a", "b"}, []string{"b", "a"}, "b"},
		{"skip unsupported", []string{"x", "b"}, []string{"a", "b"}, "b"},
		{"case-sensitive", []string{"Chat"}, []string{"chat"}, ""},
		{"empty never chosen", []string{""}, []string{""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SelectProtocol(tt.offered, tt.supported); got != tt.want {
				t.Errorf("SelectProtocol(%q, %q) = %q, want %q", tt.offered, tt.supported, got, tt.want)
			}
		})
	}
}

// protocolLineRE is a plain transcription of one Sec-WebSocket-Protocol
// line: 1#token with the empty elements RFC 7230 §7 tolerates.
var protocolLineRE = regexp.MustCompile("^[ \t]*(?:[!#$%&'*+\\-.^_`|~0-9A-Za-z]+)?[ \t]*(?:,[ \t]*(?:[!#$%&'*+\\-.^_`|~0-9A-Za-z]+)?[ \t]*)*$")

func FuzzParseProtocols(f *testing.F) {
	for _, tt := range protocolTests {
		a, b := "", ""
		if len(tt.lines) > 0 {
			a = tt.lines[0]
		}
		if len(tt.lines) > 1 {
			b = tt.lines[1]
		}
		f.Add(a, b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{"Sec-Websocket-Protocol": {a, b}}
		got, err := ParseProtocols(h)
		want := protocolLineRE.MatchString(a) && protocolLineRE.MatchString(b)
		if (err == nil) != want {
			t.Fatalf("ParseProtocols(%q, %q) error = %v, want ok %v", a, b, err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseProtocols(%q, %q) error %v does not wrap ErrMalformed", a, b, err)
			}
			return
		}
		for _, p := range got {
			if !isToken(p) {
				t.Fatalf("ParseProtocols(%q, %q) returned non-token %q", a, b, p)
			}
		}
		// Round trip through one line.
		again, err := ParseProtocols(http.Header{"Sec-Websocket-Protocol": {strings.Join(got, ", ")}})
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("ParseProtocols(Join(%q)) = %q, %v, want %q", got, again, err, got)
		}
	})
}
