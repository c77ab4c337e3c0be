package sseproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// ev builds an expected decoded event.
func ev(typ, data, id string) Event { return Event{Type: typ, Data: data, ID: id} }

// decodeCase is one decoder table case: a stream and everything it must
// produce, whatever the chunking.
type decodeCase struct {
	name     string
	in       string
	lastID   string // DecoderOptions.LastEventID: a reconnected stream
	want     []Event
	wantLast string        // LastEventID at the end
	retry    time.Duration // Retry at the end
	retrySet bool
}

// wpt re-expresses the web-platform-tests eventsource/format-*.any.js
// cases (and their resources/*.py servers) as streams. message.py sends
// message + "\n\n" + "\n", or message + "\n" with newline=none.
var wptCases = []decodeCase{
	{name: "wpt/format-bom", in: "\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n\n",
		// Only the first BOM is dropped; the second makes "\uFEFFdata" an
		// unknown field, so event 2 never dispatches.
		want: []Event{ev("message", "1", ""), ev("message", "3", "")}},
	{name: "wpt/format-bom-2", in: "\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n\n",
		want: []Event{ev("message", "2", ""), ev("message", "3", "")}},
	{name: "wpt/format-comments",
		in: "data:1\r:\x00\n:\r\ndata:2\n:" + strings.Repeat("x", 2048) +
			"\rdata:3\n:data:fail\r:" + strings.Repeat("x", 2048) + "\ndata:4\n" + "\n",
		want: []Event{ev("message", "1\n2\n3\n4", "")}},
	{name: "wpt/format-data-before-final-empty-line",
		in:    "retry:1000\ndata:test1\n\nid:test\ndata:test2" + "\n",
		want:  []Event{ev("message", "test1", "")},
		retry: time.Second, retrySet: true},
	{name: "wpt/format-field-data", in: "data:\n\ndata\ndata\n\ndata:test\n\n\n",
		want: []Event{ev("message", "", ""), ev("message", "\n", ""), ev("message", "test", "")}},
	{name: "wpt/format-field-event-empty", in: "event: \ndata:data\n\n\n",
		want: []Event{ev("message", "data", "")}},
	{name: "wpt/format-field-event", in: "event:test\ndata:x\n\ndata:x\n\n\n",
		want: []Event{ev("test", "x", ""), ev("message", "x", "")}},
	{name: "wpt/format-field-id/first", in: "id: …\nretry: 200\ndata: hello\n\n",
		want:     []Event{ev("message", "hello", "…")},
		wantLast: "…", retry: 200 * time.Millisecond, retrySet: true},
	{name: "wpt/format-field-id/reconnected", in: "data: …\n\n", lastID: "…",
		want: []Event{ev("message", "…", "…")}, wantLast: "…"},
	{name: "wpt/format-field-id-3/persists",
		in: "id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n",
		want: []Event{ev("message", "1", "1"), ev("message", "2", "1"),
			ev("message", "3", "2"), ev("message", "4", "2")},
		wantLast: "2"},
	{name: "wpt/format-field-id-3/resets",
		in: "id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
		want: []Event{ev("message", "1", "1"), ev("message", "2", ""),
			ev("message", "3", "")}},
	{name: "wpt/format-field-id-3/resets-without-colon",
		in: "id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n",
		want: []Event{ev("message", "1", "1"), ev("message", "2", ""),
			ev("message", "3", "")}},
	{name: "wpt/format-field-parsing",
		in:   "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n" + "\n",
		want: []Event{ev("message", "\x00\n 2\n1\n3\n\n4", "")}},
	{name: "wpt/format-field-retry-bogus", in: "retry:3000\nretry:1000x\ndata:x\n\n\n",
		want: []Event{ev("message", "x", "")}, retry: 3 * time.Second, retrySet: true},
	{name: "wpt/format-field-retry-empty", in: "retry\ndata:test\n\n\n",
		want: []Event{ev("message", "test", "")}},
	{name: "wpt/format-field-retry", in: "retry:03000\ndata:x\n\n\n",
		want: []Event{ev("message", "x", "")}, retry: 3 * time.Second, retrySet: true},
	{name: "wpt/format-field-unknown",
		in:   "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n",
		want: []Event{ev("message", "test\n\ntest", "")}},
	{name: "wpt/format-leading-space", in: "data:\ttest\rdata: \ndata:test\n\n\n",
		want: []Event{ev("message", "\ttest\n\ntest", "")}},
	{name: "wpt/format-newlines", in: "data:test\r\ndata\ndata:test\r\n\r" + "\n",
		want: []Event{ev("message", "test\n\ntest", "")}},
	{name: "wpt/format-null-character", in: "data:\x00\n\n\n\n",
		want: []Event{ev("message", "\x00", "")}},
	{name: "wpt/format-utf-8", in: "data:ok\xE2\x80\xA6\n\n\n",
		want: []Event{ev("message", "ok…", "")}},
}

func init() {
	// format-field-id-null: an id holding U+0000 anywhere is ignored.
	for _, v := range []string{"\x00\x00", "x\x00", "\x00x", "x\x00x", " \x00"} {
		wptCases = append(wptCases, decodeCase{
			name: fmt.Sprintf("wpt/format-field-id-null/%q", v),
			in:   "id: " + v + "\nretry: 200\ndata: hello\n\n",
			want: []Event{ev("message", "hello", "")}, retry: 200 * time.Millisecond, retrySet: true,
		})
	}
}

// ruleCases cover each rule of §9.2.5 and §9.2.6 on its own.
var ruleCases = []decodeCase{
	{name: "empty stream"},
	{name: "BOM alone", in: "\uFEFF"},
	{name: "BOM then blank line", in: "\uFEFF\ndata:a\n\n", want: []Event{ev("message", "a", "")}},
	{name: "BOM not at start is data", in: "data:\uFEFFa\n\n", want: []Event{ev("message", "\uFEFFa", "")}},
	{name: "BOM after first line is part of a field name", in: "data:a\n\uFEFFdata:b\n\n", want: []Event{ev("message", "a", "")}},
	{name: "LF", in: "data:a\ndata:b\n\n", want: []Event{ev("message", "a\nb", "")}},
	{name: "CRLF", in: "data:a\r\ndata:b\r\n\r\n", want: []Event{ev("message", "a\nb", "")}},
	{name: "CR", in: "data:a\rdata:b\r\r", want: []Event{ev("message", "a\nb", "")}},
	{name: "CR dispatches without waiting for LF", in: "data:a\r\r", want: []Event{ev("message", "a", "")}},
	{name: "LF CR is two line ends", in: "data:a\n\rdata:b\n\n", want: []Event{ev("message", "a", ""), ev("message", "b", "")}},
	{name: "CR CR LF is two line ends", in: "data:a\r\r\ndata:b\n\n", want: []Event{ev("message", "a", ""), ev("message", "b", "")}},
	{name: "mixed line ends", in: "data:a\rdata:b\ndata:c\r\n\n", want: []Event{ev("message", "a\nb\nc", "")}},
	{name: "comment", in: ": hello\ndata:a\n:\n\n", want: []Event{ev("message", "a", "")}},
	{name: "comment only event does not dispatch", in: ": hi\n\n"},
	{name: "field without colon has empty value", in: "data\n\n", want: []Event{ev("message", "", "")}},
	{name: "two data lines without colon", in: "data\ndata\n\n", want: []Event{ev("message", "\n", "")}},
	{name: "one space removed", in: "data: a\n\n", want: []Event{ev("message", "a", "")}},
	{name: "only one space removed", in: "data:  a\n\n", want: []Event{ev("message", " a", "")}},
	{name: "no space", in: "data:a\n\n", want: []Event{ev("message", "a", "")}},
	{name: "tab kept", in: "data:\ta\n\n", want: []Event{ev("message", "\ta", "")}},
	{name: "colon in value", in: "data: a: b\n\n", want: []Event{ev("message", "a: b", "")}},
	{name: "space before colon is part of the name", in: "data : a\n\n"},
	{name: "field names are case-sensitive", in: "Data: a\nDATA: b\n\n"},
	{name: "unknown fields ignored", in: "foo: bar\nx\ndata: a\n\n", want: []Event{ev("message", "a", "")}},
	{name: "data value empty", in: "data:\n\n", want: []Event{ev("message", "", "")}},
	{name: "data keeps trailing LF but one", in: "data:a\ndata:\n\n", want: []Event{ev("message", "a\n", "")}},
	{name: "event type", in: "event: add\ndata: 1\n\n", want: []Event{ev("add", "1", "")}},
	{name: "event type last wins", in: "event: a\nevent: b\ndata: 1\n\n", want: []Event{ev("b", "1", "")}},
	{name: "event type resets at blank line without dispatch", in: "event: a\n\ndata: 1\n\n", want: []Event{ev("message", "1", "")}},
	{name: "event type resets after dispatch", in: "event: a\ndata: 1\n\ndata: 2\n\n", want: []Event{ev("a", "1", ""), ev("message", "2", "")}},
	{name: "empty event type is message", in: "event:\ndata: 1\n\n", want: []Event{ev("message", "1", "")}},
	{name: "event type with spaces", in: "event:  a b \ndata: 1\n\n", want: []Event{ev(" a b ", "1", "")}},
	{name: "id", in: "id: 1\ndata: a\n\n", want: []Event{ev("message", "a", "1")}, wantLast: "1"},
	{name: "id persists", in: "id: 1\ndata: a\n\ndata: b\n\n", want: []Event{ev("message", "a", "1"), ev("message", "b", "1")}, wantLast: "1"},
	{name: "id set by event that does not dispatch", in: "id: 7\n\ndata: a\n\n", want: []Event{ev("message", "a", "7")}, wantLast: "7"},
	{name: "id alone", in: "id: 7\n\n", wantLast: "7"},
	{name: "id after data in same event", in: "data: a\nid: 3\n\n", want: []Event{ev("message", "a", "3")}, wantLast: "3"},
	{name: "id in incomplete event at end is not committed", in: "id: 1\ndata: a\n\nid: 2\ndata: b\n", want: []Event{ev("message", "a", "1")}, wantLast: "1"},
	{name: "empty id resets", in: "id: 1\n\nid:\n\n"},
	{name: "id with NUL ignored keeps old", in: "id: 1\n\nid: 2\x00\ndata: a\n\n", want: []Event{ev("message", "a", "1")}, wantLast: "1"},
	{name: "id with spaces", in: "id:  1 \ndata: a\n\n", want: []Event{ev("message", "a", " 1 ")}, wantLast: " 1 "},
	{name: "id unicode", in: "id: ☃\ndata: a\n\n", want: []Event{ev("message", "a", "☃")}, wantLast: "☃"},
	{name: "initial last event ID", in: "data: a\n\n", lastID: "41", want: []Event{ev("message", "a", "41")}, wantLast: "41"},
	{name: "initial last event ID reset", in: "id\ndata: a\n\n", lastID: "41", want: []Event{ev("message", "a", "")}},
	{name: "retry", in: "retry: 1500\n", retry: 1500 * time.Millisecond, retrySet: true},
	{name: "retry zero", in: "retry: 0\n", retry: 0, retrySet: true},
	{name: "retry last wins", in: "retry: 1\nretry: 2\n", retry: 2 * time.Millisecond, retrySet: true},
	{name: "retry leading zeros", in: "retry: 007\n", retry: 7 * time.Millisecond, retrySet: true},
	{name: "retry with letter ignored", in: "retry: 1a\n"},
	{name: "retry negative ignored", in: "retry: -1\n"},
	{name: "retry plus ignored", in: "retry: +1\n"},
	{name: "retry decimal ignored", in: "retry: 1.5\n"},
	{name: "retry two spaces ignored", in: "retry:  5\n"},
	{name: "retry trailing space ignored", in: "retry: 5 \n"},
	{name: "retry empty ignored", in: "retry:\n"},
	{name: "retry non-ASCII digit ignored", in: "retry: ５\n"},
	{name: "bogus retry keeps old", in: "retry: 10\nretry: x\n", retry: 10 * time.Millisecond, retrySet: true},
	{name: "retry huge saturates", in: "retry: 99999999999999999999999\n",
		retry: time.Duration(math.MaxInt64/int64(time.Millisecond)) * time.Millisecond, retrySet: true},
	{name: "retry in unterminated last line ignored", in: "retry: 5"},
	{name: "incomplete event discarded", in: "data: a\n"},
	{name: "unterminated last line discarded", in: "data: a\n\ndata: b", want: []Event{ev("message", "a", "")}},
	{name: "many blank lines", in: "\n\n\r\n\rdata: a\n\n\n\n", want: []Event{ev("message", "a", "")}},
	{name: "NUL in data", in: "data: a\x00b\n\n", want: []Event{ev("message", "a\x00b", "")}},
	{name: "invalid byte replaced", in: "data: a\xFFb\n\n", want: []Event{ev("message", "a\uFFFDb", "")}},
	{name: "truncated sequence is one U+FFFD", in: "data: \xE2\x82\n\n", want: []Event{ev("message", "\uFFFD", "")}},
	{name: "truncated sequence before ASCII", in: "data: \xE2\x82a\n\n", want: []Event{ev("message", "\uFFFDa", "")}},
	{name: "truncated 4-byte sequence", in: "data: \xF0\x9F\x98\n\n", want: []Event{ev("message", "\uFFFD", "")}},
	{name: "surrogate is three U+FFFD", in: "data: \xED\xA0\x80\n\n", want: []Event{ev("message", "\uFFFD\uFFFD\uFFFD", "")}},
	{name: "overlong is two U+FFFD", in: "data: \xC0\xAF\n\n", want: []Event{ev("message", "\uFFFD\uFFFD", "")}},
	{name: "F0 80 is two U+FFFD", in: "data: \xF0\x80\n\n", want: []Event{ev("message", "\uFFFD\uFFFD", "")}},
	{name: "above U+10FFFF", in: "data: \xF4\x90\x80\x80\n\n", want: []Event{ev("message", "\uFFFD\uFFFD\uFFFD\uFFFD", "")}},
	{name: "truncated sequence across data lines", in: "data: \xE2\x82\ndata: \xAC\n\n", want: []Event{ev("message", "\uFFFD\n\uFFFD", "")}},
	{name: "truncated sequence before colon", in: "\xE2:x\ndata: a\n\n", want: []Event{ev("message", "a", "")}},
	{name: "invalid UTF-8 in event type", in: "event: \xFF\ndata: a\n\n", want: []Event{ev("\uFFFD", "a", "")}},
	{name: "invalid UTF-8 in id", in: "id: \xFF\ndata: a\n\n", want: []Event{ev("message", "a", "\uFFFD")}, wantLast: "\uFFFD"},
	{name: "four-byte rune", in: "data: 😀\n\n", want: []Event{ev("message", "😀", "")}},
	{name: "classic example",
		in: ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
		want: []Event{ev("message", "first event", "1"), ev("message", "second event", ""),
			ev("message", " third event", "")}},
	{name: "long line across buffers", in: "data: " + strings.Repeat("abcdefgh", 3000) + "\r\n\r\n",
		want: []Event{ev("message", strings.Repeat("abcdefgh", 3000), "")}},
}

// readers returns the ways a table case is fed to the decoder: whole, one
// byte at a time, in halves, with the data and EOF together, and split in
// two at every offset.
func readers(in string) map[string]func() io.Reader {
	m := map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(in) },
		"OneByte":  func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"Half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
		"DataErr":  func() io.Reader { return iotest.DataErrReader(strings.NewReader(in)) },
		"Chunks7":  func() io.Reader { return &chunkReader{data: []byte(in), sizes: []byte{6}} },
		"Chunks13": func() io.Reader { return &chunkReader{data: []byte(in), sizes: []byte{12, 0, 2}} },
	}
	if len(in) <= 300 {
		for i := 1; i < len(in); i++ {
			m[fmt.Sprintf("split%d", i)] = func() io.Reader {
				return io.MultiReader(strings.NewReader(in[:i]), strings.NewReader(in[i:]))
			}
		}
	}
	return m
}

// chunkReader returns data in chunks of sizes[i]%64+1 bytes, cycling
// through sizes, and io.EOF together with the last chunk.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		n = int(r.sizes[r.i%len(r.sizes)])%64 + 1
		r.i++
	}
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// decodeAll reads a whole stream.
func decodeAll(r io.Reader, opts *DecoderOptions) ([]Event, *Decoder, error) {
	d := NewDecoder(r, opts)
	var evs []Event
	for {
		e, err := d.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return evs, d, err
		}
		evs = append(evs, e)
	}
}

func TestDecoder(t *testing.T) {
	for _, tc := range append(append([]decodeCase{}, wptCases...), ruleCases...) {
		t.Run(tc.name, func(t *testing.T) {
			for how, r := range readers(tc.in) {
				got, d, err := decodeAll(r(), &DecoderOptions{LastEventID: tc.lastID})
				if err != nil {
					t.Fatalf("%s: Next(%q) error %v, want io.EOF", how, tc.in, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s: decode(%q) = %q, want %q", how, tc.in, got, tc.want)
				}
				if last := d.LastEventID(); last != tc.wantLast {
					t.Errorf("%s: LastEventID after %q = %q, want %q", how, tc.in, last, tc.wantLast)
				}
				if r, ok := d.Retry(); r != tc.retry || ok != tc.retrySet {
					t.Errorf("%s: Retry after %q = %v, %v, want %v, %v", how, tc.in, r, ok, tc.retry, tc.retrySet)
				}
			}
		})
	}
}

// The table itself is checked against the reference transcription, so a
// wrong expectation cannot hide a wrong decoder.
func TestDecoderTableMatchesReference(t *testing.T) {
	for _, tc := range append(append([]decodeCase{}, wptCases...), ruleCases...) {
		t.Run(tc.name, func(t *testing.T) {
			ref := referenceDecode([]byte(tc.in), tc.lastID)
			var got []Event
			for _, e := range ref.Events {
				got = append(got, ev(e.Type, e.Data, e.LastEventID))
			}
			if !reflect.DeepEqual(got, tc.want) || ref.LastEventID != tc.wantLast ||
				ref.Retry != tc.retry || ref.RetrySet != tc.retrySet {
				t.Errorf("referenceDecode(%q) = %q, last %q, retry %v %v; want %q, last %q, retry %v %v",
					tc.in, got, ref.LastEventID, ref.Retry, ref.RetrySet,
					tc.want, tc.wantLast, tc.retry, tc.retrySet)
			}
		})
	}
}

func TestDecoderLimits(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []Event
		wantErr error
	}{
		{name: "line at limit", in: "data: 0123\n\n", max: 10, want: []Event{ev("message", "0123", "")}},
		{name: "line over limit", in: "data: 01234\n\n", max: 10, wantErr: ErrLineTooLong},
		{name: "comment over limit", in: ":0123456789\n\n", max: 10, wantErr: ErrLineTooLong},
		{name: "unterminated line over limit", in: "data: 01234", max: 10, wantErr: ErrLineTooLong},
		{name: "events before the long line arrive", in: "data: a\n\ndata: 0123456789\n\n", max: 10,
			want: []Event{ev("message", "a", "")}, wantErr: ErrLineTooLong},
		{name: "data at limit", in: "data:1234\ndata:1234\n\n", max: 10, want: []Event{ev("message", "1234\n1234", "")}},
		{name: "data over limit", in: "data:1234\ndata:12345\n\n", max: 10, wantErr: ErrEventTooLarge},
		{name: "many empty data lines", in: strings.Repeat("data\n", 11) + "\n", max: 10, wantErr: ErrEventTooLarge},
		{name: "limit is per event", in: strings.Repeat("data:1234\n\n", 20), max: 10,
			want: []Event{ev("message", "1234", ""), ev("message", "1234", ""), ev("message", "1234", ""),
				ev("message", "1234", ""), ev("message", "1234", ""), ev("message", "1234", ""),
				ev("message", "1234", ""), ev("message", "1234", ""), ev("message", "1234", ""),
				ev("message", "1234", ""), ev("message", "1234", ""), ev("message", "1234", ""),
				ev("message", "1234", ""), ev("message", "1234", ""), ev("message", "1234", ""),
				ev("message", "1234", ""), ev("message", "1234", ""), ev("message", "1234", ""),
				ev("message", "1234", ""), ev("message", "1234", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for how, r := range readers(tc.in) {
				got, d, err := decodeAll(r(), &DecoderOptions{MaxEventSize: tc.max})
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("%s: decode(%q) error %v, want %v", how, tc.in, err, tc.wantErr)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s: decode(%q) = %q, want %q", how, tc.in, got, tc.want)
				}
				if tc.wantErr != nil {
					if _, err := d.Next(); err != tc.wantErr {
						t.Errorf("%s: Next after %v = %v, want the same error again", how, tc.wantErr, err)
					}
				}
			}
		})
	}
}

// endless is a stream that never ends: it repeats its pattern and counts
// the bytes it handed out.
type endless struct {
	pattern []byte
	off     int
	n       int
}

func (r *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pattern[r.off]
		r.off = (r.off + 1) % len(r.pattern)
	}
	r.n += len(p)
	return len(p), nil
}

// A stream that never ends a line, or never ends an event, fails after
// reading about the limit, not after exhausting memory.
func TestDecoderBoundedMemory(t *testing.T) {
	const max = 64 << 10
	tests := []struct {
		name    string
		pattern string
		wantErr error
	}{
		{name: "endless line", pattern: "a", wantErr: ErrLineTooLong},
		{name: "endless comment", pattern: ":", wantErr: ErrLineTooLong},
		{name: "endless event", pattern: "data: aaaaaaaa\n", wantErr: ErrEventTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &endless{pattern: []byte(tc.pattern)}
			d := NewDecoder(r, &DecoderOptions{MaxEventSize: max})
			if _, err := d.Next(); err != tc.wantErr {
				t.Fatalf("Next() on an %s = %v, want %v", tc.name, err, tc.wantErr)
			}
			if r.n > 2*max+initialBufferSize {
				t.Errorf("Next() on an %s read %d bytes, want at most %d", tc.name, r.n, 2*max+initialBufferSize)
			}
			if cap(d.buf) > max+1 || cap(d.data) > 2*max {
				t.Errorf("Next() on an %s grew buffers to %d and %d bytes, want at most %d", tc.name, cap(d.buf), cap(d.data), max+1)
			}
		})
	}
}

// errAfter returns its data, then err.
type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestDecoderReadErrors(t *testing.T) {
	boom := errors.New("boom")
	t.Run("error after events", func(t *testing.T) {
		got, _, err := decodeAll(&errAfter{data: []byte("data: a\n\ndata: b\n"), err: boom}, nil)
		if want := []Event{ev("message", "a", "")}; !reflect.DeepEqual(got, want) || err != boom {
			t.Errorf("decode(events, then %v) = %q, %v, want %q, %v", boom, got, err, want, boom)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		got, _, err := decodeAll(iotest.TimeoutReader(strings.NewReader("data: a\n\n")), nil)
		if want := []Event{ev("message", "a", "")}; !reflect.DeepEqual(got, want) || err != iotest.ErrTimeout {
			t.Errorf("decode(TimeoutReader) = %q, %v, want %q, %v", got, err, want, iotest.ErrTimeout)
		}
	})
	t.Run("no progress", func(t *testing.T) {
		if _, _, err := decodeAll(zeroReader{}, nil); err != io.ErrNoProgress {
			t.Errorf("decode(reader returning 0, nil) error = %v, want %v", err, io.ErrNoProgress)
		}
	})
	t.Run("no progress inside a line", func(t *testing.T) {
		r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), zeroReader{})
		got, _, err := decodeAll(r, nil)
		if want := []Event{ev("message", "a", "")}; !reflect.DeepEqual(got, want) || err != io.ErrNoProgress {
			t.Errorf("decode(partial line, then 0, nil for ever) = %q, %v, want %q, %v", got, err, want, io.ErrNoProgress)
		}
	})
	t.Run("no progress after CR", func(t *testing.T) {
		r := io.MultiReader(strings.NewReader("data: a\r\r"), zeroReader{})
		d := NewDecoder(r, nil)
		if e, err := d.Next(); err != nil || e.Data != "a" {
			t.Errorf("Next() = %+v, %v, want data %q", e, err, "a")
		}
		if _, err := d.Next(); err != io.ErrNoProgress {
			t.Errorf("Next() after CR, then 0, nil for ever = %v, want %v", err, io.ErrNoProgress)
		}
	})
	t.Run("sticky", func(t *testing.T) {
		d := NewDecoder(&errAfter{err: boom}, nil)
		for i := 0; i < 2; i++ {
			if _, err := d.Next(); err != boom {
				t.Errorf("Next() call %d = %v, want %v", i, err, boom)
			}
		}
	})
}

// repeatReader cycles through data forever without allocating.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// realisticStream is a stream like a live feed's: ids, a named event type,
// JSON data of a couple of hundred bytes, a multi-line event now and then
// and keep-alive comments, with LF line ends.
func realisticStream(events int) []byte {
	var b bytes.Buffer
	for i := range events {
		switch {
		case i%50 == 49:
			b.WriteString(":\n")
		case i%10 == 9:
			fmt.Fprintf(&b, "id: %d\nevent: status\ndata: line one of a status report\ndata: line two\ndata: line three\n\n", 100000+i)
		default:
			fmt.Fprintf(&b, "id: %d\nevent: update\ndata: {\"seq\":%d,\"symbol\":\"ACME\",\"price\":1234.5678,\"volume\":98765,\"exchange\":\"XNAS\",\"flags\":[\"a\",\"b\",\"c\"],\"note\":\"the quick brown fox jumps over the lazy dog\",\"ts\":\"2025-01-01T00:00:00.000000Z\"}\n\n", 100000+i, i)
		}
	}
	return b.Bytes()
}

// The hot path allocates only the event's own strings: its data, and its
// ID when it changed. Lines, comments and a repeated event type cost
// nothing.
func TestDecoderAllocs(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   float64
	}{
		{name: "changing ids", stream: func() string {
			var b strings.Builder
			for i := range 100 {
				fmt.Fprintf(&b, ": keep-alive\nid: %d\nevent: %s\ndata: {\"n\":%d}\ndata: second line\n\n",
					100000+i, []string{"add", "update", "remove"}[i%3], i)
			}
			return b.String()
		}(), want: 2},
		{name: "same id", stream: strings.Repeat("id: 7\nevent: update\ndata: hello\ndata: world\n\n", 100), want: 1},
		{name: "CR line ends", stream: strings.Repeat("event: update\rdata: hello\rdata: world\r\r", 100), want: 1},
		{name: "CRLF line ends", stream: strings.Repeat("event: update\r\ndata: hello\r\ndata: world\r\n\r\n", 100), want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(&repeatReader{data: []byte(tc.stream)}, nil)
			for range 300 { // warm up: buffers at their steady size
				if _, err := d.Next(); err != nil {
					t.Fatal(err)
				}
			}
			got := testing.AllocsPerRun(1000, func() {
				if _, err := d.Next(); err != nil {
					t.Fatal(err)
				}
			})
			if got != tc.want {
				t.Errorf("allocations per Next() = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzDecoder checks the Decoder against the reference transcription of
// the standard on any stream, split anywhere: sizes gives the read sizes.
func FuzzDecoder(f *testing.F) {
	for _, tc := range append(append([]decodeCase{}, wptCases...), ruleCases...) {
		if len(tc.in) > 512 {
			continue // long seeds make minimizing what they lead to slow
		}
		f.Add([]byte(tc.in), []byte{0})
		f.Add([]byte(tc.in), []byte{3, 0, 63, 1})
	}
	f.Add([]byte("data: a\r"), []byte{7})
	f.Add([]byte("\xEF\xBB\xBFdata: \xE2\x82\r\n\r\n"), []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		for _, lastID := range []string{"", "x"} {
			want := referenceDecode(stream, lastID)
			d := NewDecoder(&chunkReader{data: bytes.Clone(stream), sizes: sizes}, &DecoderOptions{LastEventID: lastID})
			var got []refEvent
			for {
				e, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next(%q) error %v", stream, err)
				}
				r, ok := d.Retry()
				got = append(got, refEvent{Type: e.Type, Data: e.Data, LastEventID: e.ID, Retry: r, RetrySet: ok})
			}
			if !reflect.DeepEqual(got, want.Events) && (len(got) != 0 || len(want.Events) != 0) {
				t.Fatalf("decode(%q) in reads of %v = %+v, want %+v", stream, sizes, got, want.Events)
			}
			if d.LastEventID() != want.LastEventID {
				t.Fatalf("LastEventID after %q = %q, want %q", stream, d.LastEventID(), want.LastEventID)
			}
			if r, ok := d.Retry(); r != want.Retry || ok != want.RetrySet {
				t.Fatalf("Retry after %q = %v, %v, want %v, %v", stream, r, ok, want.Retry, want.RetrySet)
			}
		}

		// Under a small limit the events are a prefix of the reference's,
		// ending with a limit error or not at all; a stream no longer than
		// the limit can exceed it nowhere.
		const limit = 32
		want := referenceDecode(stream, "")
		d := NewDecoder(&chunkReader{data: bytes.Clone(stream), sizes: sizes}, &DecoderOptions{MaxEventSize: limit})
		for i := 0; ; i++ {
			e, err := d.Next()
			if err == io.EOF {
				if i != len(want.Events) {
					t.Fatalf("decode(%q) with limit %d ended after %d events, want %d", stream, limit, i, len(want.Events))
				}
				break
			}
			if err == ErrLineTooLong || err == ErrEventTooLarge {
				if len(stream) <= limit {
					t.Fatalf("decode(%q) with limit %d = %v, but the stream is shorter", stream, limit, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("decode(%q) with limit %d error %v", stream, limit, err)
			}
			if i >= len(want.Events) || e.Data != want.Events[i].Data || e.Type != want.Events[i].Type || e.ID != want.Events[i].LastEventID {
				t.Fatalf("decode(%q) with limit %d event %d = %+v, want %+v", stream, limit, i, e, want.Events)
			}
		}
	})
}
