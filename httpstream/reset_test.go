package httpstream

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto"
)

// TestResetAtOpen: a cursor of another epoch, or ahead of the log, opens
// every stream with one reset record (SSE: a pushwire.reset event) in
// place of the cursor record, then the entries of the log from its start.
func TestResetAtOpen(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e2"})
	publish(t, tp, "", "a", "b")
	srv, h := serve(t, tp, &Options{Padding: -1})
	reset := `{"reset":{"epoch":"e2","after":0},"cursor":"e2:0"}`
	tests := []struct{ name, query, want string }{
		{"stream, old epoch", "?transport=stream&cursor=e1:7", reset + "\n" + `{"seq":1,"data":"a"}` + "\n" + `{"seq":2,"data":"b"}` + "\n"},
		{"stream, ahead", "?transport=stream&cursor=e2:9", reset + "\n" + `{"seq":1,"data":"a"}` + "\n" + `{"seq":2,"data":"b"}` + "\n"},
		{"stream, bare and ahead", "?transport=stream&cursor=9", reset + "\n" + `{"seq":1,"data":"a"}` + "\n" + `{"seq":2,"data":"b"}` + "\n"},
		{"iframe", "?transport=iframe&cursor=e1:7", "<!doctype html>\n<meta charset=\"utf-8\">\n<title>pushwire</title>\n" +
			"<script>parent.pushwireFrame(" + reset + ")</script>\n" +
			`<script>parent.pushwireFrame({"seq":1,"data":"a"})</script>` + "\n" +
			`<script>parent.pushwireFrame({"seq":2,"data":"b"})</script>` + "\n"},
		{"sse", "?transport=sse&cursor=e1:7", "event: pushwire.reset\nid: e2:0\ndata: {\"epoch\":\"e2\",\"after\":0}\n\n" +
			"id: e2:1\ndata: a\n\nid: e2:2\ndata: b\n\n"},
	}
	var streams []*lineReader
	for _, tt := range tests {
		s := openStream(t, srv.URL+tt.query)
		s.readUntil(`data`)
		streams = append(streams, s)
	}
	ws, _, err := wsproto.Dial(context.Background(), wsURL(srv.URL)+"?cursor=e1:7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if got := strings.Join(readMessages(t, ws, 3), "\n"); got != reset+"\n"+`{"seq":1,"data":"a"}`+"\n"+`{"seq":2,"data":"b"}` {
		t.Errorf("websocket after a reset got\n%s", got)
	}
	ws.CloseNow()
	time.Sleep(50 * time.Millisecond)
	h.Close()
	for i, tt := range tests {
		if got := streams[i].readAll(); got != tt.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}

// TestResetMidStream: an engine-backed log wiped while clients stream
// from it: each stream gets one reset record and goes on with the new
// log's entries; the Go EventSource (sseproto.Client) sees the reset as a
// pushwire.reset event whose id is the cursor it resumes from.
func TestResetMidStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	eng := hub.NewMemoryEngine()
	defer eng.Close()
	tp, err := hub.OpenTopic(ctx, eng, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	srv, _ := serve(t, tp, &Options{Padding: -1})
	publish(t, tp, "", "old")
	old := tp.Epoch()

	events := make(chan sseproto.Event, 16)
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	done := make(chan struct{})
	client, err := sseproto.NewClient(srv.URL+"?transport=sse&cursor=oldest", nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		client.Run(cctx, func(ev sseproto.Event) error {
			events <- ev
			return nil
		})
	}()
	next := func() sseproto.Event {
		select {
		case ev := <-events:
			return ev
		case <-ctx.Done():
			t.Fatal("no event in time")
		}
		return sseproto.Event{}
	}
	if ev := next(); ev.Type != "pushwire.cursor" {
		t.Fatalf("first event %+v, want pushwire.cursor", ev)
	}
	if ev := next(); ev.Data != "old" || ev.ID != string(old)+":1" {
		t.Fatalf("event %+v, want the old entry with id %s:1", ev, old)
	}
	eng.Wipe()
	// The first publish after the wipe makes the new log; the tail
	// notices the new epoch and the stream resets.
	for tp.Epoch() == old {
		publish(t, tp, "", "new")
		time.Sleep(10 * time.Millisecond)
	}
	ev := next()
	if ev.Type != "pushwire.reset" || !strings.HasPrefix(ev.ID, string(tp.Epoch())+":") || !strings.Contains(ev.Data, `"epoch":"`+string(tp.Epoch())+`"`) {
		t.Fatalf("event after the wipe %+v, want a pushwire.reset to epoch %s", ev, tp.Epoch())
	}
	if ev := next(); ev.Data != "new" || ev.ID != string(tp.Epoch())+":1" {
		t.Fatalf("event after the reset %+v, want the new entry with id %s:1", ev, tp.Epoch())
	}
	ccancel()
	<-done
}
