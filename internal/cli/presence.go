package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pushwire/pushwire/hub"
)

// presence is the demo's "who is online": each page reports its nickname
// and transport with a POST to /presence every heartbeat; the server adds
// what it saw of the page's stream (the HTTP version of the request that
// carries it); and every change of the list is published to the chat log
// as an entry of type "presence", so that every page shows the same list on
// whatever transport it uses. A page that stops reporting for expiry is
// dropped from the list.
type presence struct {
	log       hub.Log
	heartbeat time.Duration
	expiry    time.Duration

	mu     sync.Mutex
	pages  map[string]*onlinePage // by the page's random id
	timer  *time.Timer            // the next sweep of expired pages, or nil
	closed bool
	last   []byte // the list last published
}

// onlinePage is one open demo page.
type onlinePage struct {
	nick      string
	transport string // as the page reports it
	proto     string // the HTTP version of its stream's requests, as seen here
	seen      time.Time
}

// onlineJSON is one line of the published list.
type onlineJSON struct {
	Nick      string `json:"nick"`
	Transport string `json:"transport"`
	HTTP      string `json:"http"`
	ID        string `json:"id"`
}

func newPresence(log hub.Log, heartbeat, expiry time.Duration) *presence {
	return &presence{log: log, heartbeat: heartbeat, expiry: expiry, pages: map[string]*onlinePage{}}
}

// maxPages bounds the list, and so the memory of the demo's presence.
const maxPages = 200

// validID accepts the page ids demo.js makes: 8 to 64 letters, digits and
// dashes.
func validID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if r != '-' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// maxNick is the longest nickname, in characters.
const maxNick = 32

// checkNick cleans a nickname: trimmed, 1 to maxNick characters, printable.
func checkNick(nick string) (string, error) {
	nick = strings.TrimSpace(nick)
	if nick == "" || !utf8.ValidString(nick) || utf8.RuneCountInString(nick) > maxNick {
		return "", errors.New("a nickname has 1 to 32 characters")
	}
	if strings.ContainsFunc(nick, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return "", errors.New("a nickname has printable characters only")
	}
	return nick, nil
}

// ServeHTTP takes a page's report: POST /presence with {"id","nick",
// "transport"}, or {"id","leave":true} when the page goes away. It answers
// with the heartbeat in milliseconds.
func (p *presence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID        string `json:"id"`
		Nick      string `json:"nick"`
		Transport string `json:"transport"`
		Leave     bool   `json:"leave"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&in); err != nil || !validID(in.ID) {
		http.Error(w, "want {\"id\":…,\"nick\":…,\"transport\":…}", http.StatusBadRequest)
		return
	}
	if in.Leave {
		p.update(r.Context(), in.ID, nil)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	nick, err := checkNick(in.Nick)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch in.Transport {
	case "websocket", "sse", "poll", "iframe", "stream":
	default:
		http.Error(w, "unknown transport", http.StatusBadRequest)
		return
	}
	if err := p.update(r.Context(), in.ID, &onlinePage{nick: nick, transport: in.Transport}); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int64{"heartbeat": p.heartbeat.Milliseconds()})
}

// sawStream records the HTTP version of a request of a page's stream
// (the page names itself in the page query parameter of /chat).
func (p *presence) sawStream(id, proto string) {
	if !validID(id) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if pg := p.pages[id]; pg != nil {
		pg.proto = proto
	} else if len(p.pages) < maxPages {
		// The stream may open before the first report.
		p.pages[id] = &onlinePage{proto: proto, seen: time.Now()}
	}
}

// update records a report (pg nil: the page left) and publishes the list
// if it changed.
func (p *presence) update(ctx context.Context, id string, pg *onlinePage) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("shutting down")
	}
	if pg == nil {
		delete(p.pages, id)
	} else if old := p.pages[id]; old != nil {
		old.nick, old.transport, old.seen = pg.nick, pg.transport, time.Now()
	} else if len(p.pages) >= maxPages {
		p.mu.Unlock()
		return errors.New("too many pages open")
	} else {
		pg.seen = time.Now()
		p.pages[id] = pg
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(p.expiry, p.sweep)
	}
	list := p.listLocked()
	p.mu.Unlock()
	return p.publish(ctx, list)
}

// sweep drops the pages that stopped reporting.
func (p *presence) sweep() {
	p.mu.Lock()
	p.timer = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	for id, pg := range p.pages {
		if time.Since(pg.seen) > p.expiry {
			delete(p.pages, id)
		}
	}
	if len(p.pages) > 0 {
		p.timer = time.AfterFunc(p.expiry/2, p.sweep)
	}
	list := p.listLocked()
	p.mu.Unlock()
	p.publish(context.Background(), list)
}

// listLocked returns the list as JSON, sorted by nickname.
func (p *presence) listLocked() []byte {
	online := []onlineJSON{}
	for id, pg := range p.pages {
		if pg.nick != "" {
			online = append(online, onlineJSON{Nick: pg.nick, Transport: pg.transport, HTTP: pg.proto, ID: id})
		}
	}
	slices.SortFunc(online, func(a, b onlineJSON) int {
		if c := strings.Compare(a.Nick, b.Nick); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	b, _ := json.Marshal(map[string]any{"online": online})
	return b
}

// publish publishes list unless it is the one last published.
func (p *presence) publish(ctx context.Context, list []byte) error {
	p.mu.Lock()
	same := bytes.Equal(list, p.last)
	p.last = list
	p.mu.Unlock()
	if same {
		return nil
	}
	_, err := p.log.Publish(ctx, "presence", list)
	return err
}

// close stops the sweeps.
func (p *presence) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// favicon is /favicon.ico: a 32×32 PNG in an ICO container (a blue disc
// with a white ring), made once at start-up.
var favicon = func() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := float64(x)-15.5, float64(y)-15.5
			d := dx*dx + dy*dy
			switch {
			case d <= 8*8 && d >= 5*5:
				img.Set(x, y, color.NRGBA{255, 255, 255, 255})
			case d <= 15*15:
				img.Set(x, y, color.NRGBA{0x1f, 0x5f, 0xbf, 255})
			}
		}
	}
	var pngData bytes.Buffer
	png.Encode(&pngData, img)
	// ICONDIR (6 bytes), one ICONDIRENTRY (16 bytes), then the PNG.
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	b.Write([]byte{n, n, 0, 0})
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(pngData.Len()), 6 + 16})
	b.Write(pngData.Bytes())
	return b.Bytes()
}()
