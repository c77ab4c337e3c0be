package httpstream

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pushwire/pushwire/hub"
)

var jsonStringTests = []struct {
	name string
	in   string
	want string
}{
	{"empty", "", `""`},
	{"ascii", "hello", `"hello"`},
	{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
	{"controls", "\n\r\t\x00\x1f\x7f", `"\n\r\t\u0000\u001f` + "\x7f" + `"`},
	{"end of script", "</script><script>alert(1)</script>", `"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"`},
	{"html comment", "<!-- x -->", `"\u003c!-- x --\u003e"`},
	{"ampersand", "a&b", `"a\u0026b"`},
	{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
	{"other non-ascii kept", "é€😀\u2027\u202a", "\"é€😀\u2027\u202a\""},
	{"invalid utf8", "a\xffb\xe2\x80", `"a\ufffdb\ufffd\ufffd"`},
	{"surrogate half", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
}

func TestAppendJSONString(t *testing.T) {
	for _, tt := range jsonStringTests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendJSONString(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v", got, err)
			}
			if ref := replaceInvalid(tt.in); back != ref {
				t.Errorf("json.Unmarshal(appendJSONString(%q)) = %q, want %q", tt.in, back, ref)
			}
		})
	}
}

// replaceInvalid is the reference for what a JSON string decodes to: each
// byte that is not part of valid UTF-8 becomes U+FFFD.
func replaceInvalid(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		b.WriteRune(r)
		s = s[size:]
	}
	return b.String()
}

func TestRecords(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"cursor", appendCursorRecord(nil, hub.AfterIn("e1", 17)), `{"cursor":"e1:17"}`},
		{"cursor from now", appendCursorRecord(nil, hub.FromNow()), `{"cursor":""}`},
		{"entry", appendEntryRecord(nil, &hub.Entry{Seq: 18, Data: []byte("hi")}), `{"seq":18,"data":"hi"}`},
		{"typed entry", appendEntryRecord(nil, &hub.Entry{Seq: 1, Type: "chat", Data: []byte("<b>")}), `{"seq":1,"type":"chat","data":"\u003cb\u003e"}`},
		{"reset", appendResetRecord(nil, hub.ResetError{From: hub.AfterIn("e0", 5), Epoch: "e1", After: 2}), `{"reset":{"epoch":"e1","after":2},"cursor":"e1:2"}`},
		{"gap", appendGapRecord(nil, hub.GapError{After: 3, Oldest: 10, Lost: 6}, hub.AfterIn("e1", 9)), `{"gap":{"after":3,"oldest":10,"lost":6},"cursor":"e1:9"}`},
		{"error", appendErrorRecord(nil, `too "long"`), `{"error":"too \"long\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("record = %s, want %s", tt.got, tt.want)
			}
			if !json.Valid(tt.got) {
				t.Errorf("record %s is not valid JSON", tt.got)
			}
		})
	}
}

// TestSSEEntry checks the event an entry becomes: a type with a line
// break dropped, invalid UTF-8 replaced, one data field per line.
func TestSSEEntry(t *testing.T) {
	tests := []struct {
		name, typ, in, want string
	}{
		{"empty", "", "", "id: 9\ndata: \n\n"},
		{"one line", "chat", "a", "event: chat\nid: 9\ndata: a\n\n"},
		{"lf", "", "a\nb", "id: 9\ndata: a\ndata: b\n\n"},
		{"crlf", "", "a\r\nb", "id: 9\ndata: a\ndata: b\n\n"},
		{"cr", "", "a\rb", "id: 9\ndata: a\ndata: b\n\n"},
		{"trailing lf", "", "a\n", "id: 9\ndata: a\ndata: \n\n"},
		{"invalid utf8", "", "\xff", "id: 9\ndata: \uFFFD\n\n"},
		{"invalid utf8 type", "c\xffd", "x", "event: c\uFFFDd\nid: 9\ndata: x\n\n"},
		{"type with a line break dropped", "a\nid: 1", "x", "id: 9\ndata: x\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sseSink
			if err := s.entry(&hub.Entry{Seq: 9, Type: tt.typ, Data: []byte(tt.in)}); err != nil || string(s.pending()) != tt.want {
				t.Errorf("sseSink.entry(%q, %q) = %q, %v, want %q", tt.typ, tt.in, s.pending(), err, tt.want)
			}
		})
	}
}

// TestRecordAllocs checks that encoding an entry, the per-message work of
// every JSON transport, allocates nothing once the buffer has grown.
func TestRecordAllocs(t *testing.T) {
	e := &hub.Entry{Seq: 123456, Type: "chat", Data: bytes.Repeat([]byte("abc<\u2028"), 20)}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = appendEntryRecord(buf[:0], e)
		buf = appendGapRecord(buf, hub.GapError{After: 1, Oldest: 5, Lost: 3}, hub.After(4))
	})
	if allocs != 0 {
		t.Errorf("appendEntryRecord allocates %v times per entry, want 0", allocs)
	}
	var s sseSink
	allocs = testing.AllocsPerRun(100, func() {
		s.entry(e)
		s.gap(hub.GapError{After: 1, Oldest: 5, Lost: 3}, hub.After(4))
		s.keepAlive()
		s.flush() // the buffer back to the pool
	})
	if allocs != 0 {
		t.Errorf("the SSE sink allocates %v times per entry, want 0", allocs)
	}
}
