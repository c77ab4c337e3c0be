// Command ssereplay serves a hub topic as Server-Sent Events at :8080/events: an EventSource
// that reconnects with Last-Event-ID gets what it missed, or a gap or reset event.
package main

import (
	"context"
	"errors"
	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
	"log"
	"net/http"
	"strconv"
	"time"
)

func main() {
	topic := hub.NewTopic(&hub.TopicOptions{MaxEntries: 1000})
	go func() {
		for t := range time.Tick(time.Second) {
			topic.Publish(context.Background(), "tick", []byte(t.Format(time.RFC3339)))
		}
	}()
	http.Handle("GET /events", events(topic, 15*time.Second))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}

// events streams the log from the client's Last-Event-ID ("": from now).
func events(topic hub.Log, keepAlive time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur, err := hub.ParseCursor(sseproto.LastEventID(r)) // "EPOCH:SEQ"
		_, at, _ := topic.ReadAfter(r.Context(), cur, nil)   // resolved: with the log's epoch
		sub, serr := topic.Subscribe(r.Context(), cur)
		if err != nil || serr != nil {
			http.Error(w, "bad Last-Event-ID", http.StatusBadRequest)
			return
		}
		defer sub.Close()
		s, err := sseproto.NewStream(w, r, nil)
		for err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), keepAlive)
			e, nerr := sub.Next(ctx)
			cancel()
			gap, reset := hub.GapError{}, hub.ResetError{}
			switch {
			case nerr == nil:
				err = s.Send(sseproto.Event{ID: hub.AfterIn(at.Epoch(), e.Seq).String(), Type: e.Type, Data: string(e.Data)})
			case errors.As(nerr, &gap): // its id skips the gap when the client comes back
				err = s.Send(sseproto.Event{ID: hub.AfterIn(at.Epoch(), gap.Oldest-1).String(), Type: "gap", Data: strconv.FormatUint(gap.Lost, 10)})
			case errors.As(nerr, &reset): // an id from another history: the log restarted
				at = reset.Cursor()
				err = s.Send(sseproto.Event{ID: at.String(), Type: "reset", Data: string(reset.Epoch)})
			case errors.Is(nerr, context.DeadlineExceeded) && r.Context().Err() == nil:
				err = s.Comment("") // a keep-alive: Send writes none by itself
			default:
				err = nerr // the client left, or the log was closed
			}
		}
	})
}
