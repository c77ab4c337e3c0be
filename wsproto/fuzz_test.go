package wsproto

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"github.com/pushwire/pushwire/wsproto/frame"
	"io"
	"net"
	"testing"
	"time"
	"unicode/utf8"
)

// pipeConn is a net.Conn that reads a fixed input and records what is
// written.
type pipeConn struct {
	r      io.Reader
	w      bytes.Buffer
	closed bool
}

func (p *pipeConn) Read(b []byte) (int, error) {
	if p.closed {
		return 0, net.ErrClosed
	}
	return p.r.Read(b)
}
func (p *pipeConn) Write(b []byte) (int, error)      { return p.w.Write(b) }
func (p *pipeConn) Close() error                     { p.closed = true; return nil }
func (p *pipeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

type refMessage struct {
	typ  MessageType
	data []byte
}

// refDecode is a plain transcription of RFC 6455 §5.2-§5.5 and §7.4 for a
// server reading client frames without extensions: the messages it
// delivers, then how the connection ends: a close code it sends when it
// fails the connection or echoes the peer's close (0 for an empty close
// frame), or 1006 when the input ends first.
func refDecode(in []byte, limit int64) ([]refMessage, int) {
	var msgs []refMessage
	var cur []byte
	var curType MessageType
	inMsg := false
	for {
		if len(in) < 2 {
			return msgs, 1006
		}
		fin, rsv, op := in[0]&0x80 != 0, in[0]&0x70, frame.Opcode(in[0]&0x0f)
		masked, n := in[1]&0x80 != 0, uint64(in[1]&0x7f)
		hl := 2
		switch n {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if masked {
			hl += 4
		}
		if len(in) < hl {
			return msgs, 1006
		}
		switch n {
		case 126:
			n = uint64(binary.BigEndian.Uint16(in[2:4]))
		case 127:
			n = binary.BigEndian.Uint64(in[2:10])
			if n>>63 != 0 {
				return msgs, 1002
			}
		}
		var key []byte
		if masked {
			key = in[hl-4 : hl]
		}
		in = in[hl:]
		control := op >= 8
		reserved := (op >= 3 && op <= 7) || op >= 0xB
		if rsv != 0 || reserved || !masked || (control && (n > 125 || !fin)) {
			return msgs, 1002
		}
		unmask := func(p []byte) []byte {
			out := make([]byte, len(p))
			for i := range p {
				out[i] = p[i] ^ key[i%4]
			}
			return out
		}
		if control {
			if uint64(len(in)) < n {
				return msgs, 1006
			}
			p := unmask(in[:n])
			in = in[n:]
			if op != frame.OpClose {
				continue
			}
			switch {
			case len(p) == 0:
				return msgs, 0
			case len(p) == 1:
				return msgs, 1002
			}
			code := int(binary.BigEndian.Uint16(p))
			valid := (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
			if !valid {
				return msgs, 1002
			}
			if !utf8.Valid(p[2:]) {
				return msgs, 1007
			}
			return msgs, code
		}
		if op == frame.OpContinuation && !inMsg || op != frame.OpContinuation && inMsg {
			return msgs, 1002
		}
		if op != frame.OpContinuation {
			inMsg, cur, curType = true, nil, MessageType(op)
		}
		if int64(len(cur))+int64(n) > limit || n > uint64(limit) {
			return msgs, 1009
		}
		avail := min(uint64(len(in)), n)
		cur = append(cur, unmask(in[:avail])...)
		in = in[avail:]
		if curType == MessageText && !refValidPrefix(cur) {
			return msgs, 1007
		}
		if avail < n {
			return msgs, 1006
		}
		if fin {
			if curType == MessageText && !utf8.Valid(cur) {
				return msgs, 1007
			}
			msgs = append(msgs, refMessage{curType, cur})
			inMsg = false
		}
	}
}

// refValidPrefix reports whether b can be extended to valid UTF-8: it is
// valid up to an incomplete last sequence that some continuation completes.
// The ranges of Unicode Table 3-7 change only at these bytes, so trying
// them as completions is enough.
func refValidPrefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	start := len(b) - 1
	for start > 0 && len(b)-start < 4 && b[start]&0xC0 == 0x80 {
		start--
	}
	if !utf8.Valid(b[:start]) {
		return false
	}
	tail := b[start:]
	edges := []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF}
	var try func(p []byte) bool
	try = func(p []byte) bool {
		if utf8.Valid(p) {
			return true
		}
		if len(p) >= 4 {
			return false
		}
		for _, e := range edges {
			if try(append(append([]byte(nil), p...), e)) {
				return true
			}
		}
		return false
	}
	return try(tail)
}

// FuzzConnRead feeds arbitrary bytes to a server connection and checks the
// messages it delivers and the close code it sends against refDecode.
func FuzzConnRead(f *testing.F) {
	for _, seed := range [][]byte{
		text("hello"),
		frames(rawFrame(false, 0, frame.OpText, true, []byte("frag")), rawFrame(true, 0, frame.OpPing, true, []byte("P")), rawFrame(true, 0, frame.OpContinuation, true, []byte("ment"))),
		rawFrame(true, 0, frame.OpText, true, []byte{0xed, 0xa0, 0x80}),
		rawFrame(true, frame.Rsv1, frame.OpBinary, true, []byte{1}),
		rawFrame(true, 0, frame.OpText, false, []byte("unmasked")),
		closeCode(1000), closeCode(1005), closeFrame([]byte{3}), closeFrame(nil),
		closeFrame([]byte{3, 232, 0xff}),
		rawFrame(true, 0, frame.OpPing, true, repeat('p', 126)),
		rawFrame(true, 0, frame.OpBinary, true, repeat('b', 70000)),
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, in []byte) {
		wantMsgs, wantEnd := refDecode(in, limit)
		pc := &pipeConn{r: bytes.NewReader(in)}
		c := newConn(pc, connConfig{readLimit: limit, closeTimeout: time.Second})
		var got []refMessage
		var err error
		for {
			var typ MessageType
			var msg []byte
			typ, msg, err = c.Read(context.Background(), nil)
			if err != nil {
				break
			}
			got = append(got, refMessage{typ, msg})
		}
		if len(got) != len(wantMsgs) {
			t.Fatalf("%d messages, reference %d (err %v)", len(got), len(wantMsgs), err)
		}
		for i := range got {
			if got[i].typ != wantMsgs[i].typ || !bytes.Equal(got[i].data, wantMsgs[i].data) {
				t.Fatalf("message %d = %v %q, reference %v %q", i, got[i].typ, got[i].data, wantMsgs[i].typ, wantMsgs[i].data)
			}
		}
		sent := lastClose(t, pc.w.Bytes())
		switch {
		case wantEnd == 1006:
			if frame.CloseStatus(err) != frame.CloseAbnormal || sent != -1 {
				t.Fatalf("end: err %v, sent close %d; reference: input ends (1006)", err, sent)
			}
		case sent != wantEnd:
			t.Fatalf("sent close %d (err %v), reference %d", sent, err, wantEnd)
		}
		var ce frame.CloseError
		if wantEnd != 1006 && wantEnd != 1002 && wantEnd != 1007 && wantEnd != 1009 && (!errors.As(err, &ce) || (wantEnd > 0 && int(ce.Code) != wantEnd)) {
			t.Fatalf("err %v, want the peer's close %d", err, wantEnd)
		}
	})
}

// lastClose returns the code of the close frame in the server's output: 0
// for an empty one, -1 for none.
func lastClose(t *testing.T, out []byte) int {
	r := bytes.NewReader(out)
	code := -1
	for r.Len() > 0 {
		var scratch [frame.MaxHeaderSize]byte
		h, err := frame.ReadHeader(r, &scratch)
		if err != nil {
			t.Fatalf("server wrote a malformed frame: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("server wrote a short frame: %v", err)
		}
		if h.Opcode == frame.OpClose {
			if code != -1 {
				t.Fatalf("server wrote two close frames")
			}
			code = 0
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
		}
	}
	return code
}
