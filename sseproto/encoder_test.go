package sseproto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var encodeCases = []struct {
	name string
	in   Event
	wire string
	want Event // decoded
}{
	{name: "data", in: Event{Data: "hello"}, wire: "data: hello\n\n", want: ev("message", "hello", "")},
	{name: "empty data still dispatches", in: Event{}, wire: "data: \n\n", want: ev("message", "", "")},
	{name: "LF", in: Event{Data: "a\nb"}, wire: "data: a\ndata: b\n\n", want: ev("message", "a\nb", "")},
	{name: "CRLF", in: Event{Data: "a\r\nb"}, wire: "data: a\ndata: b\n\n", want: ev("message", "a\nb", "")},
	{name: "CR", in: Event{Data: "a\rb"}, wire: "data: a\ndata: b\n\n", want: ev("message", "a\nb", "")},
	{name: "LF CR is two line ends", in: Event{Data: "a\n\rb"}, wire: "data: a\ndata: \ndata: b\n\n", want: ev("message", "a\n\nb", "")},
	{name: "CRLF LF", in: Event{Data: "a\r\n\nb"}, wire: "data: a\ndata: \ndata: b\n\n", want: ev("message", "a\n\nb", "")},
	{name: "trailing LF", in: Event{Data: "a\n"}, wire: "data: a\ndata: \n\n", want: ev("message", "a\n", "")},
	{name: "trailing CR", in: Event{Data: "a\r"}, wire: "data: a\ndata: \n\n", want: ev("message", "a\n", "")},
	{name: "only LF", in: Event{Data: "\n"}, wire: "data: \ndata: \n\n", want: ev("message", "\n", "")},
	{name: "leading space kept", in: Event{Data: " a"}, wire: "data:  a\n\n", want: ev("message", " a", "")},
	{name: "colon in data", in: Event{Data: ":a"}, wire: "data: :a\n\n", want: ev("message", ":a", "")},
	{name: "NUL in data", in: Event{Data: "a\x00b"}, wire: "data: a\x00b\n\n", want: ev("message", "a\x00b", "")},
	{name: "unicode", in: Event{Data: "żółw 😀"}, wire: "data: żółw 😀\n\n", want: ev("message", "żółw 😀", "")},
	{name: "BOM in data", in: Event{Data: "\uFEFFx"}, wire: "data: \uFEFFx\n\n", want: ev("message", "\uFEFFx", "")},
	{name: "all fields", in: Event{Type: "add", ID: "7", Retry: 1500 * time.Millisecond, Data: "x"},
		wire: "event: add\nid: 7\nretry: 1500\ndata: x\n\n", want: ev("add", "x", "7")},
	{name: "type with leading space", in: Event{Type: " a", Data: "x"}, wire: "event:  a\ndata: x\n\n", want: ev(" a", "x", "")},
	{name: "id with leading space", in: Event{ID: " 1", Data: "x"}, wire: "id:  1\ndata: x\n\n", want: ev("message", "x", " 1")},
	{name: "retry rounds up", in: Event{Retry: 1500 * time.Microsecond, Data: "x"}, wire: "retry: 2\ndata: x\n\n", want: ev("message", "x", "")},
	{name: "retry below 1 ms", in: Event{Retry: 1, Data: "x"}, wire: "retry: 1\ndata: x\n\n", want: ev("message", "x", "")},
	{name: "negative retry not sent", in: Event{Retry: -time.Second, Data: "x"}, wire: "data: x\n\n", want: ev("message", "x", "")},
	{name: "largest retry", in: Event{Retry: time.Duration(1<<63 - 1), Data: "x"}, wire: "retry: 9223372036855\ndata: x\n\n", want: ev("message", "x", "")},
}

func TestEncoderEncode(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := NewEncoder(&b).Encode(tc.in); err != nil {
				t.Fatalf("Encode(%+v) = %v, want nil", tc.in, err)
			}
			if b.String() != tc.wire {
				t.Fatalf("Encode(%+v) wrote %q, want %q", tc.in, b.String(), tc.wire)
			}
			got, _, err := decodeAll(&b, nil)
			if err != nil || len(got) != 1 || got[0] != tc.want {
				t.Errorf("decode(Encode(%+v)) = %q, %v, want [%q]", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestEncoderRejects(t *testing.T) {
	tests := []struct {
		name string
		in   Event
	}{
		{name: "LF in type", in: Event{Type: "a\nb"}},
		{name: "CR in type", in: Event{Type: "a\rb"}},
		{name: "invalid UTF-8 in type", in: Event{Type: "a\xff"}},
		{name: "LF in id", in: Event{ID: "1\n"}},
		{name: "CR in id", in: Event{ID: "\r1"}},
		{name: "NUL in id", in: Event{ID: "1\x00"}},
		{name: "invalid UTF-8 in id", in: Event{ID: "\xed\xa0\x80"}},
		{name: "invalid UTF-8 in data", in: Event{Data: "ok\xe2\x82"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			e := NewEncoder(&b)
			if err := e.Encode(tc.in); !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("Encode(%+v) = %v, want %v", tc.in, err, ErrInvalidEvent)
			}
			if b.Len() != 0 {
				t.Errorf("Encode(%+v) wrote %q, want nothing", tc.in, b.String())
			}
			if err := e.Encode(Event{Data: "next"}); err != nil || b.String() != "data: next\n\n" {
				t.Errorf("Encode after a refused event = %v, wrote %q, want nil, %q", err, b.String(), "data: next\n\n")
			}
		})
	}
}

func TestEncoderComment(t *testing.T) {
	tests := []struct {
		name, in, wire string
		wantErr        error
	}{
		{name: "empty", in: "", wire: ":\n"},
		{name: "text", in: "keep-alive", wire: ": keep-alive\n"},
		{name: "multi-line", in: "a\nb\r\nc\rd", wire: ": a\n: b\n: c\n: d\n"},
		{name: "invalid UTF-8", in: "\xff", wantErr: ErrInvalidEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := NewEncoder(&b).Comment(tc.in)
			if !errors.Is(err, tc.wantErr) || b.String() != tc.wire {
				t.Fatalf("Comment(%q) = %v, wrote %q, want %v, %q", tc.in, err, b.String(), tc.wantErr, tc.wire)
			}
			// A comment inside an event changes nothing.
			stream := "data: a\n" + b.String() + "data: b\n\n"
			if got, _, _ := decodeAll(strings.NewReader(stream), nil); len(got) != 1 || got[0].Data != "a\nb" {
				t.Errorf("decode(%q) = %q, want one event with data %q", stream, got, "a\nb")
			}
		})
	}
}

// Each event is one Write, so concurrent writers on the same connection,
// or a failed write, never leave half an event.
func TestEncoderOneWritePerEvent(t *testing.T) {
	var w countingWriter
	e := NewEncoder(&w)
	if err := e.Encode(Event{Type: "t", ID: "1", Retry: time.Second, Data: "a\nb\nc"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Comment("x\ny"); err != nil {
		t.Fatal(err)
	}
	if w.writes != 2 {
		t.Errorf("Encode + Comment made %d writes, want 2", w.writes)
	}
}

type countingWriter struct{ writes int }

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return len(p), nil }

func TestEncoderWriteError(t *testing.T) {
	boom := errors.New("boom")
	e := NewEncoder(failWriter{boom})
	if err := e.Encode(Event{Data: "x"}); err != boom {
		t.Errorf("Encode on a failing writer = %v, want %v", err, boom)
	}
	if err := e.Comment(""); err != boom {
		t.Errorf("Comment on a failing writer = %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestEncoderAllocs(t *testing.T) {
	e := NewEncoder(io.Discard)
	evt := Event{Type: "update", ID: "123456", Retry: time.Second, Data: "{\"a\":1}\n{\"b\":2}"}
	if err := e.Encode(evt); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = e.Encode(evt) }); n != 0 {
		t.Errorf("allocations per Encode = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = e.Comment("") }); n != 0 {
		t.Errorf("allocations per Comment = %v, want 0", n)
	}
}

// FuzzRoundTrip encodes any event and decodes it again: what the Encoder
// accepts must arrive unchanged, apart from line ends in Data becoming LF,
// and what it refuses must be an event it could not write.
func FuzzRoundTrip(f *testing.F) {
	for _, tc := range encodeCases {
		f.Add(tc.in.Type, tc.in.ID, tc.in.Data, int64(tc.in.Retry))
	}
	f.Add("a\nb", "", "", int64(0))
	f.Add("", "1\x00", "", int64(0))
	f.Fuzz(func(t *testing.T, typ, id, data string, retry int64) {
		in := Event{Type: typ, ID: id, Data: data, Retry: time.Duration(retry)}
		var b bytes.Buffer
		e := NewEncoder(&b)
		err := e.Encode(in)
		valid := !strings.ContainsAny(typ, "\r\n") && !strings.ContainsAny(id, "\r\n\x00") &&
			utf8.ValidString(typ) && utf8.ValidString(id) && utf8.ValidString(data)
		if err != nil {
			if valid || !errors.Is(err, ErrInvalidEvent) || b.Len() != 0 {
				t.Fatalf("Encode(%+v) = %v, wrote %q; want it accepted", in, err, b.String())
			}
			return
		}
		if !valid {
			t.Fatalf("Encode(%+v) accepted an event it cannot write faithfully: %q", in, b.String())
		}
		// A second event without id must carry the first one's.
		if err := e.Encode(Event{Data: "next"}); err != nil {
			t.Fatal(err)
		}
		wire := b.String()
		got, d, err := decodeAll(&b, nil)
		wantType := typ
		if wantType == "" {
			wantType = "message"
		}
		wantData := strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
		want := []Event{ev(wantType, wantData, id), ev("message", "next", id)}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %q, %v, want %q", wire, got, err, want)
		}
		r, ok := d.Retry()
		if wantOK := in.Retry > 0; ok != wantOK || ok && (r < in.Retry || r-in.Retry >= time.Millisecond) && r != time.Duration(1<<63-1)/time.Millisecond*time.Millisecond {
			t.Fatalf("Retry after %q = %v, %v, want %v rounded up to a millisecond", wire, r, ok, in.Retry)
		}
	})
}

// TestAppendEvent checks that the append forms write what Encode writes,
// and refuse what it refuses, leaving dst as it was.
func TestAppendEvent(t *testing.T) {
	prefix := []byte("kept:")
	for _, tc := range encodeCases {
		got, err := AppendEvent(prefix, tc.in)
		if err != nil || string(got) != "kept:"+tc.wire {
			t.Errorf("AppendEvent(%q, %+v) = %q, %v, want %q", prefix, tc.in, got, err, "kept:"+tc.wire)
		}
		got, err = AppendEventBytes(prefix, tc.in.Type, []byte(tc.in.ID), []byte(tc.in.Data), tc.in.Retry)
		if err != nil || string(got) != "kept:"+tc.wire {
			t.Errorf("AppendEventBytes(%+v) = %q, %v, want %q", tc.in, got, err, "kept:"+tc.wire)
		}
	}
	for _, in := range []Event{{Type: "a\nb"}, {Type: "a\xff"}, {ID: "1\r"}, {ID: "1\x00"}, {ID: "\xed\xa0\x80"}, {Data: "ok\xe2\x82"}} {
		if got, err := AppendEvent(prefix, in); !errors.Is(err, ErrInvalidEvent) || string(got) != "kept:" {
			t.Errorf("AppendEvent(%+v) = %q, %v, want %q, ErrInvalidEvent", in, got, err, "kept:")
		}
		if got, err := AppendEventBytes(prefix, in.Type, []byte(in.ID), []byte(in.Data), 0); !errors.Is(err, ErrInvalidEvent) || string(got) != "kept:" {
			t.Errorf("AppendEventBytes(%+v) = %q, %v, want %q, ErrInvalidEvent", in, got, err, "kept:")
		}
	}
	if got, err := AppendComment(prefix, "a\nb"); err != nil || string(got) != "kept:: a\n: b\n" {
		t.Errorf("AppendComment(a\\nb) = %q, %v, want %q", got, err, "kept:: a\n: b\n")
	}
}

func TestAppendEventAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	id, data := []byte("123456"), []byte("{\"a\":1}\r\n{\"b\":2}")
	evt := Event{Type: "update", ID: "123456", Retry: time.Second, Data: "{\"a\":1}\n{\"b\":2}"}
	if n := testing.AllocsPerRun(1000, func() { buf, _ = AppendEvent(buf[:0], evt) }); n != 0 {
		t.Errorf("allocations per AppendEvent = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { buf, _ = AppendEventBytes(buf[:0], "update", id, data, 0) }); n != 0 {
		t.Errorf("allocations per AppendEventBytes = %v, want 0", n)
	}
}
