package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sse "github.com/tmaxmax/go-sse"

	"github.com/pushwire/pushwire/sseproto"
)

// sseEvent is an event as a client sees it, in EventSource terms.
type sseEvent struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
}

// sseCases are sent by the servers; want is what an EventSource must see.
var sseCases = []struct {
	name string
	ev   sseproto.Event
	want sseEvent
}{
	{"plain data", sseproto.Event{Data: "hello"}, sseEvent{"message", "hello", ""}},
	{"type, id, two lines", sseproto.Event{Type: "greet", ID: "7", Data: "line one\nline two"}, sseEvent{"greet", "line one\nline two", "7"}},
	{"id carried over, UTF-8", sseproto.Event{Data: "unicode ✓ 𝄞"}, sseEvent{"message", "unicode ✓ 𝄞", "7"}},
	{"colon and spaces", sseproto.Event{Data: " data: with colon ", ID: "8"}, sseEvent{"message", " data: with colon ", "8"}},
	{"10 KiB", sseproto.Event{Data: strings.Repeat("x", 10<<10)}, sseEvent{"message", strings.Repeat("x", 10<<10), "8"}},
}

// pushwireSSE serves sseCases with pushwire's Stream and then holds the
// stream open until the client goes.
func pushwireSSE(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := sseproto.NewStream(w, r, nil)
		if err != nil {
			t.Errorf("NewStream() = %v", err)
			return
		}
		for _, tc := range sseCases {
			if err := s.Send(tc.ev); err != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	return ts
}

// short describes an event without printing kilobytes of data.
func (e sseEvent) short() string {
	d := e.Data
	if len(d) > 40 {
		d = fmt.Sprintf("%s... (%d bytes)", d[:40], len(d))
	}
	return fmt.Sprintf("{type %q, data %q, lastEventId %q}", e.Type, d, e.LastEventID)
}

func checkSSE(t *testing.T, who string, got []sseEvent) {
	t.Helper()
	checkSSEFunc(t, who, got, func(_ int, e sseEvent) sseEvent { return e })
}

// checkSSEFunc is checkSSE with the wanted events passed through adjust.
func checkSSEFunc(t *testing.T, who string, got []sseEvent, adjust func(int, sseEvent) sseEvent) {
	t.Helper()
	if len(got) != len(sseCases) {
		t.Fatalf("%s got %d events, want %d", who, len(got), len(sseCases))
	}
	for i, tc := range sseCases {
		if want := adjust(i, tc.want); got[i] != want {
			t.Errorf("%s: %s: got %s, want %s", who, tc.name, got[i].short(), want.short())
		}
	}
}

func TestSSEGoSSEClient(t *testing.T) {
	ts := pushwireSSE(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := (&sse.Client{}).NewConnection(req)
	var got []sseEvent
	conn.SubscribeToAll(func(ev sse.Event) {
		typ := ev.Type
		if typ == "" {
			typ = "message"
		}
		got = append(got, sseEvent{typ, ev.Data, ev.LastEventID})
		if len(got) == len(sseCases) {
			cancel()
		}
	})
	if err := conn.Connect(); !errors.Is(err, context.Canceled) {
		t.Errorf("go-sse Connect() = %v, want context.Canceled after the last event", err)
	}
	checkSSE(t, "go-sse client", got)
}

func TestSSENodeEventSource(t *testing.T) {
	bin, why := node("eventsource")
	if bin == "" {
		t.Skipf("node eventsource not installed: %s", why)
	}
	ts := pushwireSSE(t)
	ctx := ctxT(t)
	peer := startPeer(t, "node-eventsource", bin, "testdata/sse_client.js", ts.URL, "5")
	var got []sseEvent
	for range sseCases {
		line := peer.line(ctx, t, "{")
		var ev sseEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("node eventsource printed %q: %v", line, err)
		}
		got = append(got, ev)
	}
	// The eventsource package (v3) gives a MessageEvent the id of its own
	// event, "" when it has none, where the WHATWG standard (§9.2.6) gives the
	// last event ID buffer, which persists across events: want its values.
	checkSSEFunc(t, "node eventsource", got, func(i int, e sseEvent) sseEvent {
		e.LastEventID = sseCases[i].ev.ID
		return e
	})
}

func TestSSEPushwireClientGoSSEServer(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := sse.Upgrade(w, r)
		if err != nil {
			t.Errorf("go-sse Upgrade() = %v", err)
			return
		}
		for _, tc := range sseCases {
			m := &sse.Message{}
			if tc.ev.ID != "" {
				m.ID = sse.ID(tc.ev.ID)
			}
			if tc.ev.Type != "" {
				m.Type = sse.Type(tc.ev.Type)
			}
			m.AppendData(tc.ev.Data)
			if err := sess.Send(m); err != nil {
				return
			}
		}
		if err := sess.Flush(); err != nil {
			return
		}
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	c, err := sseproto.NewClient(ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []sseEvent
	done := errors.New("done")
	err = c.Run(ctxT(t), func(ev sseproto.Event) error {
		typ := ev.Type
		if typ == "" {
			typ = "message"
		}
		got = append(got, sseEvent{typ, ev.Data, ev.ID})
		if len(got) == len(sseCases) {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Errorf("pushwire Client.Run() = %v, want the callback's error", err)
	}
	checkSSE(t, "pushwire client", got)
}
