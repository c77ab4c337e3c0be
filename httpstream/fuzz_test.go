package httpstream

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
)

// FuzzAppendJSONString checks that every string round-trips through
// encoding/json (with invalid UTF-8 replaced byte by byte) and that the
// output can never end a <script> element or a JavaScript line.
func FuzzAppendJSONString(f *testing.F) {
	for _, tt := range jsonStringTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("json.Unmarshal(appendJSONString(%q)) = %v", s, err)
		}
		if ref := replaceInvalid(s); back != ref {
			t.Fatalf("json.Unmarshal(appendJSONString(%q)) = %q, want %q", s, back, ref)
		}
		if i := bytes.IndexAny(out, "<>&\u2028\u2029"); i >= 0 {
			t.Fatalf("appendJSONString(%q) = %q, holds an unescaped %q", s, out, out[i:])
		}
		for _, b := range out {
			if b < 0x20 {
				t.Fatalf("appendJSONString(%q) = %q, holds control byte %#x", s, out, b)
			}
		}
	})
}

// FuzzSSEData checks the SSE sink's events against sseproto's Decoder: the
// event dispatches with the payload, line breaks as LF and invalid UTF-8 as
// U+FFFD.
func FuzzSSEData(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a\r\nb", "a\rb", "\n", "\r\r\n", "\xff", "data: x\n\nid: 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var sink sseSink
		if err := sink.entry(&hub.Entry{Seq: 7, Data: []byte(s)}); err != nil {
			t.Fatalf("sseSink.entry(%q) = %v", s, err)
		}
		stream := sink.pending()
		d := sseproto.NewDecoder(bytes.NewReader(stream), nil)
		ev, err := d.Next()
		if err != nil {
			t.Fatalf("Decoder.Next() on %q = %v", stream, err)
		}
		want := replaceInvalid(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s))
		if ev.Data != want || ev.ID != "7" {
			t.Fatalf("decoded %q = data %q id %q, want %q, \"7\"", stream, ev.Data, ev.ID, want)
		}
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("second Decoder.Next() on %q = %v, want EOF", stream, err)
		}
	})
}
