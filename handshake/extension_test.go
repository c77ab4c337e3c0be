package handshake

import (
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// ext builds an Extension, for brevity.
func ext(name string, params ...Param) Extension { return Extension{Name: name, Params: params} }

var extensionTests = []struct {
	name   string
	lines  []string
	want   []Extension
	format string // FormatExtensions(want), when ok
	ok     bool
}{
	{"absent", nil, nil, "", true},
	{"one", []string{"permessage-deflate"},
		[]Extension{ext("permessage-deflate")}, "permessage-deflate", true},
	{"param without value", []string{"permessage-deflate; client_no_context_takeover"},
		[]Extension{ext("permessage-deflate", Param{"client_no_context_takeover", ""})},
		"permessage-deflate; client_no_context_takeover", true},
	{"several offers", []string{"permessage-deflate; client_max_window_bits=10, permessage-deflate"},
		[]Extension{ext("permessage-deflate", Param{"client_max_window_bits", "10"}), ext("permessage-deflate")},
		"permessage-deflate; client_max_window_bits=10, permessage-deflate", true},
	{"several lines", []string{"foo", "bar; baz=2"},
		[]Extension{ext("foo"), ext("bar", Param{"baz", "2"})}, "foo, bar; baz=2", true},
	{"RFC 6455 §9.1 example", []string{"mux; max-channels=4; flow-control, deflate-stream"},
		[]Extension{ext("mux", Param{"max-channels", "4"}, Param{"flow-control", ""}), ext("deflate-stream")},
		"mux; max-channels=4; flow-control, deflate-stream", true},
	{"tight", []string{"a;b=1;c,d"},
		[]Extension{ext("a", Param{"b", "1"}, Param{"c", ""}), ext("d")}, "a; b=1; c, d", true},
	{"OWS everywhere", []string{" \ta \t; \tb \t= \t1 \t, \td \t"},
		[]Extension{ext("a", Param{"b", "1"}), ext("d")}, "a; b=1, d", true},
	{"quoted value", []string{`a; b="10"`}, []Extension{ext("a", Param{"b", "10"})}, "a; b=10", true},
	{"quoted with escapes", []string{`a; b="1\0\x"`}, []Extension{ext("a", Param{"b", "10x"})}, "a; b=10x", true},
	{"quoted token chars", []string{`a; b="!#$%&'*+-.^_` + "`" + `|~"`},
		[]Extension{ext("a", Param{"b", "!#$%&'*+-.^_`|~"})}, "a; b=!#$%&'*+-.^_`|~", true},
	{"empty elements", []string{",a,, b ,"}, []Extension{ext("a"), ext("b")}, "a, b", true},
	{"empty line", []string{""}, nil, "", true},
	{"case kept", []string{"Foo; Bar=Baz"}, []Extension{ext("Foo", Param{"Bar", "Baz"})}, "Foo; Bar=Baz", true},

	{"missing name", []string{"; a=1"}, nil, "", false},
	{"missing name after comma", []string{"a, ;b"}, nil, "", false},
	{"trailing semicolon", []string{"a;"}, nil, "", false},
	{"trailing semicolon OWS", []string{"a; "}, nil, "", false},
	{"double semicolon", []string{"a;;b"}, nil, "", false},
	{"equals without value", []string{"a; b="}, nil, "", false},
	{"equals without value then comma", []string{"a; b=, c"}, nil, "", false},
	{"equals without name", []string{"a; =1"}, nil, "", false},
	{"empty quoted value", []string{`a; b=""`}, nil, "", false},
	{"quoted space", []string{`a; b="1 0"`}, nil, "", false},
	{"quoted comma", []string{`a; b="1,0"`}, nil, "", false},
	{"quoted escaped quote", []string{`a; b="\""`}, nil, "", false},
	{"quoted escaped backslash", []string{`a; b="\\"`}, nil, "", false},
	{"unterminated quote", []string{`a; b="10`}, nil, "", false},
	{"backslash at end", []string{`a; b="10\`}, nil, "", false},
	{"quoted control", []string{"a; b=\"1\x010\""}, nil, "", false},
	{"quoted escaped control", []string{"a; b=\"1\\\x000\""}, nil, "", false},
	{"quoted obs-text", []string{"a; b=\"\xe4\""}, nil, "", false},
	{"quote inside token", []string{`a; b=1"0"`}, nil, "", false},
	{"bad name char", []string{"a/b"}, nil, "", false},
	{"bad param char", []string{"a; b/c"}, nil, "", false},
	{"bad value char", []string{"a; b=1/2"}, nil, "", false},
	{"space in name", []string{"a b"}, nil, "", false},
	{"space in value", []string{"a; b=1 2"}, nil, "", false},
	{"two equals", []string{"a; b=1=2"}, nil, "", false},
	{"control char", []string{"a\x00"}, nil, "", false},
	{"CR", []string{"a\r"}, nil, "", false},
	{"DEL", []string{"a\x7f"}, nil, "", false},
	{"non-ASCII name", []string{"d\u00e9flate"}, nil, "", false},
	{"bad second line", []string{"a", "b;"}, nil, "", false},
}

func TestParseExtensions(t *testing.T) {
	for _, tt := range extensionTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExtensions(http.Header{"Sec-Websocket-Extensions": tt.lines})
			if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseExtensions(%q) = %v, %v, want %v, ok %v", tt.lines, got, err, tt.want, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("ParseExtensions(%q) error %v does not wrap ErrMalformed", tt.lines, err)
				}
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("ParseExtensions(%q) error %q is not one line", tt.lines, err)
				}
				return
			}
			if f := FormatExtensions(got); f != tt.format {
				t.Errorf("FormatExtensions(%v) = %q, want %q", got, f, tt.format)
			}
		})
	}
}

func TestParseExtensionsError(t *testing.T) {
	_, err := ParseExtensions(http.Header{"Sec-Websocket-Extensions": {"a; b="}})
	want := `handshake: malformed header: Sec-WebSocket-Extensions: missing value after "=" of parameter "b" at byte 5 of "a; b="`
	if err == nil || err.Error() != want {
		t.Errorf("ParseExtensions(%q) error = %v, want %s", "a; b=", err, want)
	}
	long := "a; " + strings.Repeat("b", 200) + "="
	_, err = ParseExtensions(http.Header{"Sec-Websocket-Extensions": {long}})
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("ParseExtensions(200-byte input) error = %v, want one of bounded length", err)
	}
}

func TestExtensionString(t *testing.T) {
	tests := []struct {
		name string
		ext  Extension
		want string
	}{
		{"bare", ext("x"), "x"},
		{"params", ext("x", Param{"a", ""}, Param{"b", "1"}), "x; a; b=1"},
		{"non-token value quoted", ext("x", Param{"a", `1 "2" \3`}), `x; a="1 \"2\" \\3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ext.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.ext, got, tt.want)
			}
		})
	}
	if got := FormatExtensions(nil); got != "" {
		t.Errorf("FormatExtensions(nil) = %q, want %q", got, "")
	}
}

func TestExtensionParam(t *testing.T) {
	e := ext("permessage-deflate", Param{"client_max_window_bits", ""}, Param{"Server_Max_Window_Bits", "10"}, Param{"server_max_window_bits", "11"})
	tests := []struct {
		name, param string
		value       string
		present     bool
	}{
		{"no value", "client_max_window_bits", "", true},
		{"case-insensitive, first wins", "SERVER_MAX_WINDOW_BITS", "10", true},
		{"absent", "client_no_context_takeover", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := e.Param(tt.param)
			if v != tt.value || ok != tt.present {
				t.Errorf("Param(%q) = %q, %v, want %q, %v", tt.param, v, ok, tt.value, tt.present)
			}
		})
	}
}

// extensionLineRE is a plain transcription of RFC 6455 §9.1 for one line:
// 1#extension with tolerated empty elements, OWS around separators, and
// quoted-strings whose unescaped content is a token (so each character,
// escaped or not, is a tchar).
var extensionLineRE = func() *regexp.Regexp {
	const (
		ows    = "[ \t]*"
		token  = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+"
		quoted = "\"(?:\\\\?[!#$%&'*+\\-.^_`|~0-9A-Za-z])+\""
		param  = token + "(?:" + ows + "=" + ows + "(?:" + token + "|" + quoted + "))?"
		entry  = token + "(?:" + ows + ";" + ows + param + ")*"
		elem   = ows + "(?:" + entry + ")?" + ows
	)
	return regexp.MustCompile("^" + elem + "(?:," + elem + ")*$")
}()

func FuzzParseExtensions(f *testing.F) {
	for _, tt := range extensionTests {
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
		exts, err := ParseExtensions(http.Header{"Sec-Websocket-Extensions": {a, b}})
		want := extensionLineRE.MatchString(a) && extensionLineRE.MatchString(b)
		if (err == nil) != want {
			t.Fatalf("ParseExtensions(%q, %q) error = %v, want ok %v", a, b, err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseExtensions(%q, %q) error %v does not wrap ErrMalformed", a, b, err)
			}
			return
		}
		for _, e := range exts {
			if !validExtension(e) {
				t.Fatalf("ParseExtensions(%q, %q) returned %#v with a non-token", a, b, e)
			}
		}
		// parse → format → parse gives the same entries, and the canonical
		// form is a fixed point.
		line := FormatExtensions(exts)
		again, err := ParseExtensions(http.Header{"Sec-Websocket-Extensions": {line}})
		if err != nil || !reflect.DeepEqual(again, exts) {
			t.Fatalf("ParseExtensions(%q) = %v, %v, want %v", line, again, err, exts)
		}
		if f := FormatExtensions(again); f != line {
			t.Fatalf("FormatExtensions(ParseExtensions(%q)) = %q, want the same", line, f)
		}
	})
}

func BenchmarkParseExtensions(b *testing.B) {
	const line = `permessage-deflate; client_max_window_bits="10"; server_no_context_takeover, permessage-deflate`
	h := http.Header{"Sec-Websocket-Extensions": {line}}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseExtensions(h); err != nil {
			b.Fatal(err)
		}
	}
}
