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
	"github.com/pushwire/pushwire/wsproto/frame"
)

// rawEcho is a small echo server written in the test on wsproto's codec,
// independent of wsproto.Conn, with switches that break it on purpose.
type rawEcho struct {
	noUTF8       bool // echo text without validating UTF-8
	noRSV        bool // ignore reserved bits
	noCloseReply bool // never answer a valid close frame
	dropOnError  bool // fail the connection by closing TCP, without a close frame
	emptyClose   bool // fail the connection with a close frame without a code
	rsv1Echo     bool // echo messages with RSV1 set, no extension agreed
	maxFragments int  // fail with 1008 past this many frames in a message (Node's ws), 0: no cap
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
		frags   int
	)
	write := func(op frame.Opcode, p []byte) {
		h := frame.Header{Fin: true, Opcode: op, Length: int64(len(p))}
		if e.rsv1Echo && !op.IsControl() {
			h.Rsv = frame.Rsv1
		}
		conn.Write(append(frame.AppendHeader(nil, h), p...))
	}
	fail := func(code int) {
		switch {
		case e.dropOnError:
			return
		case e.emptyClose:
			write(frame.OpClose, nil)
		default:
			write(frame.OpClose, closeCode(code, ""))
		}
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
			if errors.Is(err, frame.ErrInvalidUTF8) {
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
				msgOp, msg, frags = h.Opcode, nil, 0
				v.Reset()
			}
			if frags++; e.maxFragments > 0 && frags > e.maxFragments {
				fail(1008)
				return
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

func runAgainst(t *testing.T, h http.Handler, strict bool, cases ...string) *Report {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	exclude := ciExclude
	if len(cases) > 0 {
		exclude = nil
	}
	rep, err := RunServer(context.Background(), &Options{
		URL:      "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Cases:    cases,
		Exclude:  exclude,
		Parallel: 32,
		Timeout:  testUnit,
		Strict:   strict,
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

// gradedIDs returns the ids of the cases with the worse grade o.
func gradedIDs(rep *Report, o Outcome) []string {
	var ids []string
	for _, r := range rep.Results {
		if r.Worst() == o {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// invalidUTF8Cases lists the cases whose text messages are not valid
// UTF-8.
func invalidUTF8Cases() []string {
	ids := []string{"6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4"}
	for gi, g := range kuhnGroups() {
		for i, s := range g.seqs {
			if !s.valid {
				ids = append(ids, fmt.Sprintf("6.%d.%d", gi+5, i+1))
			}
		}
	}
	for gi, g := range utf8Stress() {
		for i, s := range g {
			if !s.valid {
				ids = append(ids, fmt.Sprintf("16.%d.%d", gi+1, i+1))
			}
		}
	}
	return ids
}

// TestBrokenServers runs the catalogue (without the long categories)
// against a correct raw echo server and against versions of it broken on
// purpose: each breakage fails exactly the cases it should.
func TestBrokenServers(t *testing.T) {
	base := runAgainst(t, rawEcho{}, false)
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
	// 3.7 sends a close frame with RSV 7 and no payload: a server that
	// ignores the bits answers it with an empty close frame, which is what
	// a server failing the connection without a status code sends too, so
	// Autobahn's grading passes it (-strict makes it NON-STRICT).
	rsv := []string{"3.1", "3.2", "3.3", "3.4", "3.5", "3.6"}
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
			rep := runAgainst(t, tt.server, false)
			got := failedIDs(rep)
			want := slices.Clone(tt.want)
			slices.SortFunc(want, compareIDs)
			if !slices.Equal(got, want) {
				t.Errorf("FAILED cases = %v, want %v", got, want)
			}
		})
	}
}

// TestStrict checks -strict: a server that fails connections without a
// close frame, or with one without a status code, breaks only a SHOULD
// (RFC 6455 §7.1.7): OK by default, NON-STRICT with -strict, never FAILED.
func TestStrict(t *testing.T) {
	cases := []string{"3.1", "4.1.1", "5.1", "6.3.1", "7.3.2", "7.9.1", "1.1.1"}
	for _, tt := range []struct {
		name   string
		server rawEcho
	}{{"drops TCP", rawEcho{dropOnError: true}}, {"empty close frame", rawEcho{emptyClose: true}}} {
		t.Run(tt.name, func(t *testing.T) {
			def := runAgainst(t, tt.server, false, cases...)
			if ids := append(failedIDs(def), gradedIDs(def, NonStrict)...); len(ids) > 0 {
				t.Errorf("default grading: %v FAILED or NON-STRICT, want all OK", ids)
			}
			strict := runAgainst(t, tt.server, true, cases...)
			if got, want := gradedIDs(strict, NonStrict), cases[:len(cases)-1]; !slices.Equal(got, want) {
				t.Errorf("-strict: NON-STRICT cases = %v, want %v", got, want)
			}
			if ids := failedIDs(strict); len(ids) > 0 {
				t.Errorf("-strict: %v FAILED, want none", ids)
			}
			for _, r := range strict.Results {
				if r.BehaviorClose == NonStrict && !strings.Contains(r.CloseReason, "RFC 6455 §7.1.7") {
					t.Errorf("case %s: NON-STRICT reason %q does not quote RFC 6455 §7.1.7", r.ID, r.CloseReason)
				}
			}
		})
	}
}

// TestPeerSendsRSV1 is the regression test for a crash: a server that
// answers with compressed-looking frames (RSV1 set) although no extension
// was agreed made the harness dereference its nil compression state and
// die. The harness now grades it: FAILED, quoting RFC 6455 §5.2.
func TestPeerSendsRSV1(t *testing.T) {
	rep := runAgainst(t, rawEcho{rsv1Echo: true}, false, "1.1.2", "6.2.1", "12.1.1", "13.1.1")
	for _, r := range rep.Results {
		if r.ID == "12.1.1" || r.ID == "13.1.1" {
			// rawEcho declines permessage-deflate: nothing is echoed.
			if r.Behavior != Unimplemented {
				t.Errorf("case %s: behavior %v (%s), want UNIMPLEMENTED", r.ID, r.Behavior, r.BehaviorReason)
			}
			continue
		}
		if r.Behavior != Failed || !strings.Contains(r.BehaviorReason, "RFC 6455 §5.2") {
			t.Errorf("case %s: behavior %v (%s), want FAILED quoting RFC 6455 §5.2", r.ID, r.Behavior, r.BehaviorReason)
		}
	}
}

// TestLimitRefusals checks that a peer refusing a message with a limit of
// its own in 9.x, a cap on the fragments of a message answered with 1008
// as Node's ws does, is INFORMATIONAL (RFC 6455 §10.4), not FAILED, and
// that the cases under its cap are still OK.
func TestLimitRefusals(t *testing.T) {
	rep := runAgainst(t, rawEcho{maxFragments: 1000}, false, "9.3.1", "9.3.9", "9.4.1")
	want := map[string]Outcome{"9.3.1": Informational, "9.3.9": OK, "9.4.1": Informational}
	for _, r := range rep.Results {
		if r.Worst() != want[r.ID] {
			t.Errorf("case %s = %v/%v (%s; %s), want %v", r.ID, r.Behavior, r.BehaviorClose, r.BehaviorReason, r.CloseReason, want[r.ID])
		}
	}
}
