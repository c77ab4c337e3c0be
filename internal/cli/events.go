package cli

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pushwire/pushwire/sseproto"
)

// eventsHandler serves the demo's /events stream. Every period it sends a
// `message` event holding the time, then a custom `tick` event holding the
// count of periods, each with the next id (1, 2, 3, ...). The events are
// computed from the clock, not stored, so a client that reconnects with
// Last-Event-ID receives exactly what it missed, up to maxReplay events.
type eventsHandler struct {
	start     time.Time
	period    time.Duration
	maxReplay int64
}

// newEventsHandler returns the demo's /events handler: a stream with a
// `message` event every second and a custom `tick` event, with ids,
// honouring Last-Event-ID.
func newEventsHandler() http.Handler {
	return &eventsHandler{start: time.Now(), period: time.Second, maxReplay: 120}
}

// lastDue returns the id of the last event due at t: period s brings
// events 2s-1 (message) and 2s (tick).
func (h *eventsHandler) lastDue(t time.Time) int64 {
	if t.Before(h.start) {
		return 0
	}
	return 2 * int64(t.Sub(h.start)/h.period)
}

// due returns when event id is due.
func (h *eventsHandler) due(id int64) time.Time {
	return h.start.Add(time.Duration((id+1)/2) * h.period)
}

// event returns the event with the given id.
func (h *eventsHandler) event(id int64) sseproto.Event {
	n := (id + 1) / 2
	if id%2 == 1 {
		return sseproto.Event{
			ID:   strconv.FormatInt(id, 10),
			Data: h.start.Add(time.Duration(n) * h.period).UTC().Format(time.RFC3339),
		}
	}
	return sseproto.Event{Type: "tick", ID: strconv.FormatInt(id, 10), Data: strconv.FormatInt(n, 10)}
}

func (h *eventsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/event-stream")
		return
	}
	last := h.lastDue(time.Now())
	next := last + 1
	// A reconnecting client gets the events after the one it names, as
	// long as they are not too many; an id this server never sent (not a
	// number, or from its future) starts the client afresh.
	if id, err := strconv.ParseInt(sseproto.LastEventID(r), 10, 64); err == nil && id >= 0 && id < last {
		next = max(id+1, last-h.maxReplay+1)
	}
	s, err := sseproto.NewStream(w, r, nil)
	if err != nil {
		return // the status is sent; nothing more can be said
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		for last := h.lastDue(time.Now()); next <= last; next++ {
			if err := s.Send(h.event(next)); err != nil {
				return
			}
		}
		timer.Reset(time.Until(h.due(next)))
		select {
		case <-r.Context().Done():
			return
		case <-timer.C:
		}
	}
}
