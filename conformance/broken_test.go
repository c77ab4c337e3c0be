package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// rawEcho is a small echo server written in the test on wsproto's codec,
// independent of wsproto.Conn, with switches that break it on purpose.
type rawEcho struct {
	noUTF8       bool // echo text without validating UTF-8
	noRSV        bool // ignore reserved bits
	noCloseReply bool // never answer a valid close frame
}

func (e rawEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := handshake.CheckRequest(r)
	if err != nil {
		handshake.Reject(w, err)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	conn.Write(handshake.AppendResponse(nil, req.Key, "", "", nil))
	go e.serve(conn, brw.Reader)
}

func (e rawEcho) serve(conn net.Conn, br *bufio.Reader) {
	defer conn.Close()
	var (
		scratch [frame.MaxHeaderSize]byte
		v       frame.UTF8Validator
		msgOp   frame.Opcode
		msg     []byte
	)
	write := func(op frame.Opcode, p []byte) {
		conn.Write(append(frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: op, Length: int64(len(p))}), p...))
	}
	fail := func(code int) {
		write(frame.OpClose, closeCode(code, ""))
		// Fail the connection (RFC 6455 §7.1.7): close frame, then close
		// TCP; the write side first, so that unread input causes no reset.
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, br)
	}
	for {
		h, err := frame.ReadHeader(br, &scratch)
		if err != nil {
			return
		}
		if e.noRSV {
			h.Rsv = 0
		}
		if err := frame.CheckHeader(h, 0, frame.FromClient); err != nil {
			fail(1002)
			return
		}
		if h.Length > 64<<20 {
			fail(1009)
			return
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		frame.Mask(h.Mask, 0, p)
		switch h.Opcode {
		case frame.OpPing:
			write(frame.OpPong, p)
		case frame.OpPong:
		case frame.OpClose:
			ce, err := frame.ParseClosePayload(p)
			if errors.Is(err, wsproto.ErrInvalidUTF8) {
				fail(1007)
				return
			}
			if err != nil {
				fail(1002)
				return
			}
			if e.noCloseReply {
				continue
			}
			var reply []byte
			if ce.Code != frame.CloseNoStatus {
				reply = closeCode(int(ce.Code), "")
			}
			write(frame.OpClose, reply)
			return
		default:
			if h.Opcode == frame.OpContinuation {
				if msgOp == 0 {
					fail(1002)
					return
				}
			} else {
				if msgOp != 0 {
					fail(1002)
					return
				}
				msgOp, msg = h.Opcode, nil
				v.Reset()
			}
			msg = append(msg, p...)
			if msgOp == frame.OpText && !e.noUTF8 && (!v.Write(p) || h.Fin && !v.Done()) {
				fail(1007)
				return
			}
			if h.Fin {
				write(msgOp, msg)
				msgOp = 0
			}
		}
	}
}

func runAgainst(t *testing.T, h http.Handler) *Report {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	rep, err := RunServer(context.Background(), &Options{
		URL:      "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Exclude:  ciExclude,
		Parallel: 32,
		Timeout:  testTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// failedIDs returns the ids of the cases with a FAILED grade.
func failedIDs(rep *Report) []string {
	var ids []string
	for _, r := range rep.Results {
		if r.Worst() == Failed {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// invalidUTF8Cases lists the cases whose text messages are not valid
// UTF-8.
func invalidUTF8Cases() []string {
	ids := []string{"6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4"}
	for gi, g := range utf8Stress() {
		for i, s := range g {
			if !s.valid {
				ids = append(ids, fmt.Sprintf("6.%d.%d", gi+5, i+1))
			}
		}
	}
	return ids
}

func TestBrokenServers(t *testing.T) {
	base := runAgainst(t, rawEcho{})
	if ids := failedIDs(base); len(ids) > 0 {
		t.Fatalf("the correct raw echo server failed %v", ids)
	}
	// The cases where the harness starts a valid closing handshake: those
	// a server that never answers a close must fail.
	var closing []string
	for _, r := range base.Results {
		invalidClose := r.ID == "7.3.2" || r.ID == "7.3.6" || r.ID == "7.5.1" || strings.HasPrefix(r.ID, "7.9.")
		if r.ClosedByMe && r.BehaviorClose != Informational && !invalidClose {
			closing = append(closing, r.ID)
		}
	}
	if !slices.Contains(closing, "1.1.1") || !slices.Contains(closing, "7.7.1") {
		t.Fatalf("closing cases %v lack 1.1.1 or 7.7.1", closing)
	}
	var rsv []string
	for _, c := range catalogue(roleServer) {
		if strings.HasPrefix(c.id, "3.") {
			rsv = append(rsv, c.id)
		}
	}
	tests := []struct {
		name   string
		server rawEcho
		want   []string
	}{
		{"echoes invalid UTF-8", rawEcho{noUTF8: true}, invalidUTF8Cases()},
		{"ignores reserved bits", rawEcho{noRSV: true}, rsv},
		{"never answers close", rawEcho{noCloseReply: true}, closing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runAgainst(t, tt.server)
			got := failedIDs(rep)
			want := slices.Clone(tt.want)
			slices.SortFunc(want, compareIDs)
			if !slices.Equal(got, want) {
				t.Errorf("FAILED cases = %v, want %v", got, want)
			}
		})
	}
}
