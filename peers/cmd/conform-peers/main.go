// Command conform-peers runs pushwire's conformance harness (the server
// cases, the whole catalogue) against the echo server of pushwire and of each
// Go peer — gorilla/websocket, coder/websocket, gobwas/ws and lxzan/gws — and
// writes, under conformance/ in peers/, each implementation's index.json and
// index.html and a SUMMARY.md table of how each fares.
//
// Usage, from peers/:
//
//	go run ./cmd/conform-peers [-only gorilla,gws] [-parallel 4] [-out conformance] [-full /tmp/reports]
//
// Each echo server listens on 127.0.0.1:0, echoes every message with its
// type, accepts messages up to peers.MaxMessage (64 MiB) and negotiates
// permessage-deflate where the library offers it as a server option. The
// per-case JSON files (the events of every case) are left out of the
// committed reports to keep them small; -full writes the complete reports,
// per-case files included, to another directory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"

	"github.com/pushwire/pushwire/conformance"
	"github.com/pushwire/pushwire/peers"
)

// target is one implementation under test.
type target struct {
	name string
	// setup describes the echo server's configuration in SUMMARY.md.
	setup string
	echo  http.Handler
}

func targets() []target {
	byName := map[string]*peers.Impl{}
	for _, im := range peers.Impls() {
		byName[im.Name] = im
	}
	return []target{
		{"pushwire", "`wsproto.Handler`, `ReadLimit` 64 MiB, `Compression` on (defaults)", byName["pushwire"].Echo(true)},
		{"gorilla", "`Upgrader{EnableCompression: true}`, `SetReadLimit(64 MiB)`, `ReadMessage`/`WriteMessage`", gorillaEcho()},
		{"coder", "`CompressionContextTakeover`, `SetReadLimit(64 MiB)`, `Read`/`Write`", byName["coder"].Echo(true)},
		{"gobwas", "`ws.UpgradeHTTP`, `wsutil.ReadClientData`/`WriteServerMessage` (UTF-8 check on, the default), max message 64 MiB, no compression: gobwas's wsflate is a toolkit for a hand-written frame loop, not an option of these helpers", gobwasEcho()},
		{"gws", "`PermessageDeflate` with context takeover and 15-bit windows (gws's default of 12 bits makes it answer `client_max_window_bits=12` to offers without that parameter, a MUST violation of RFC 7692 §7.1.2.2 that fails every compressed case), `ReadMaxPayloadSize` 64 MiB, `CheckUtf8Enabled`, `WriteMessage` from `OnMessage`; `ReadLoop` runs under a recover (see below)", gwsEcho()},
	}
}

// gorillaEcho is gorilla's plain echo loop with its read limit set: the
// shared adapter's echo leaves gorilla without one, which would make case
// 15.4.1 (a message past the limit) test a limit that does not exist.
func gorillaEcho() http.Handler {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(peers.MaxMessage)
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
}

// gobwasEcho is gobwas's helper-based echo loop with the helpers' message
// limit set. gobwas's permessage-deflate (wsflate) is a toolkit for a
// hand-written frame loop, not an option of the helpers, so this echo
// declines compression.
func gobwasEcho() http.Handler {
	wsutil.SetMaxMessageSize(peers.MaxMessage)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			msg, op, err := wsutil.ReadClientData(conn)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
				return
			}
		}
	})
}

// categories names the catalogue's categories for the summary table.
var categories = map[string]string{
	"1": "framing", "2": "ping/pong", "3": "reserved bits", "4": "reserved opcodes",
	"5": "fragmentation", "6": "UTF-8", "7": "close", "9": "limits",
	"10": "auto-fragmentation", "12": "permessage-deflate", "13": "deflate parameters",
	"15": "beyond Autobahn",
}

// subcategories names the subcategories worth telling apart.
var subcategories = map[string]string{
	"6.4": "fail-fast UTF-8", "7.5": "invalid close reason", "7.7": "valid close codes",
	"7.9": "invalid close codes", "15.1": "handshake", "15.4": "read limit",
}

// outcomes is the table's column order.
var outcomes = []conformance.Outcome{conformance.OK, conformance.NonStrict, conformance.Informational, conformance.Unimplemented, conformance.Failed}

func main() {
	only := flag.String("only", "", "comma-separated implementations to run (default: all)")
	parallel := flag.Int("parallel", 4, "cases run at once per implementation")
	out := flag.String("out", "conformance", "directory for the reports and SUMMARY.md")
	full := flag.String("full", "", "also write the complete reports, per-case files included, under this directory")
	flag.Parse()
	if err := run(*only, *parallel, *out, *full); err != nil {
		fmt.Fprintln(os.Stderr, "conform-peers:", err)
		os.Exit(1)
	}
}

func run(only string, parallel int, out, full string) error {
	start := time.Now()
	for _, t := range targets() {
		if only != "" && !slices.Contains(strings.Split(only, ","), t.name) {
			continue
		}
		rep, err := conform(t, parallel)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %s (%s)\n", t.name, rep.Summary(), time.Duration(rep.DurationMS*float64(time.Millisecond)).Round(time.Second))
		if err := writeReport(rep, filepath.Join(out, t.name)); err != nil {
			return err
		}
		if full != "" {
			if err := rep.WriteDir(filepath.Join(full, t.name)); err != nil {
				return err
			}
		}
	}
	// The table is built from every index.json under out, so that a run
	// with -only updates its rows and keeps the others.
	var rows, setups []string
	for _, t := range targets() {
		grades, err := readIndex(filepath.Join(out, t.name, "index.json"), t.name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		rows = append(rows, row(t.name, grades))
		setups = append(setups, fmt.Sprintf("- %s: %s", t.name, t.setup))
	}
	table := tableHeader + strings.Join(rows, "\n") + "\n"
	fmt.Print(table)
	summary := "# Conformance of the Go peers' servers\n\n" +
		"Written by `go run ./cmd/conform-peers` in peers/ (last run " + start.Format("2006-01-02") +
		fmt.Sprintf(", %d cases at once, default timeouts). ", parallel) +
		"Each row is `conformance.RunServer` over the whole server catalogue (see ../../conformance/README.md) " +
		"against the implementation's echo server; a case counts under the worse of its two grades (behaviour and close). " +
		"Each directory holds index.json and index.html; the per-case event files are left out (`-full DIR` writes complete reports).\n\n" +
		table + "\nEcho servers:\n\n" + strings.Join(setups, "\n") + "\n"
	if n := len(gwsPanics); n > 0 {
		summary += "\nPanics recovered from gws's `ReadLoop` in the last run (without the recover, each one kills the server process):\n\n"
		for _, p := range gwsPanics {
			summary += "- `" + p + "`\n"
		}
	}
	return os.WriteFile(filepath.Join(out, "SUMMARY.md"), []byte(summary), 0o644)
}

// grade is a case's two grades, as index.json holds them.
type grade struct {
	Behavior      conformance.Outcome `json:"behavior"`
	BehaviorClose conformance.Outcome `json:"behaviorClose"`
}

// worst is the worse of the two grades (outcomes are ordered best first).
func (g grade) worst() conformance.Outcome { return max(g.Behavior, g.BehaviorClose) }

// readIndex returns the grades of agent's cases in an index.json written by
// Report.WriteDir, keyed by case id.
func readIndex(name, agent string) (map[string]grade, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var index map[string]map[string]grade
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	grades, ok := index[agent]
	if !ok {
		return nil, fmt.Errorf("%s: no agent %q", name, agent)
	}
	return grades, nil
}

const tableHeader = "| implementation | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED | failed in |\n" +
	"|---|---:|---:|---:|---:|---:|---|\n"

// conform serves t's echo server on a loopback port and runs the catalogue
// against it.
func conform(t target, parallel int) (*conformance.Report, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: t.echo, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog()}
	go srv.Serve(ln)
	defer srv.Close()
	lastPrint := time.Now()
	return conformance.RunServer(context.Background(), &conformance.Options{
		URL:       "ws://" + ln.Addr().String() + "/",
		Agent:     t.name,
		Parallel:  parallel,
		ReadLimit: peers.MaxMessage,
		Progress: func(done, total int, r *conformance.Result) {
			if time.Since(lastPrint) > 10*time.Second || done == total {
				lastPrint = time.Now()
				fmt.Fprintf(os.Stderr, "%s: %d/%d cases (%s)\n", t.name, done, total, r.ID)
			}
		},
	})
}

// writeReport writes index.json and index.html of rep into dir: WriteDir
// writes a JSON file per case as well, so it writes into a temporary
// directory and only the two index files are kept.
func writeReport(rep *conformance.Report, dir string) error {
	tmp, err := os.MkdirTemp("", "conform-peers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := rep.WriteDir(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"index.json", "index.html"} {
		b, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// row is the implementation's line of the summary table.
func row(name string, grades map[string]grade) string {
	counts := map[conformance.Outcome]int{}
	for _, g := range grades {
		counts[g.worst()]++
	}
	cells := []string{name}
	for _, o := range outcomes {
		cells = append(cells, fmt.Sprint(counts[o]))
	}
	cells = append(cells, failedIn(grades))
	return "| " + strings.Join(cells, " | ") + " |"
}

// failedIn names the categories of the FAILED cases with their counts, in
// catalogue order, e.g. "6.x UTF-8 (12; 6.4 fail-fast UTF-8: 4)".
func failedIn(grades map[string]grade) string {
	var cats []string
	count := map[string]int{}
	subs := map[string]map[string]int{}
	for _, c := range conformance.Cases("server") {
		if g, ok := grades[c.ID]; !ok || g.worst() != conformance.Failed {
			continue
		}
		parts := strings.Split(c.ID, ".")
		cat := parts[0]
		if count[cat] == 0 {
			cats = append(cats, cat)
			subs[cat] = map[string]int{}
		}
		count[cat]++
		if len(parts) > 1 {
			if sub := cat + "." + parts[1]; subcategories[sub] != "" {
				subs[cat][sub]++
			}
		}
	}
	if len(cats) == 0 {
		return "—"
	}
	var out []string
	for _, cat := range cats {
		s := fmt.Sprintf("%s.x %s (%d", cat, categories[cat], count[cat])
		var keys []string
		for k := range subs[cat] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s += fmt.Sprintf("; %s %s: %d", k, subcategories[k], subs[cat][k])
		}
		out = append(out, s+")")
	}
	return strings.Join(out, ", ")
}

// discardLog keeps the servers' errors (expected: the harness sends bad
// handshakes on purpose) off the terminal.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// gwsPanics holds the panics recovered from gws's read loop.
var (
	gwsMu     sync.Mutex
	gwsPanics []string
)

// gwsEcho is gws's event-driven echo (the read loop on its own goroutine,
// each message written back from OnMessage), with the read loop run under a
// recover: gws v1.8.9 panics in readMessage on a frame whose 64-bit length
// has its top bit set (case 15.2.3), and a panic on that goroutine would end
// this whole process, every later case with it.
func gwsEcho() http.Handler {
	up := gws.NewUpgrader(gwsHandler{}, &gws.ServerOption{
		ReadMaxPayloadSize: peers.MaxMessage,
		CheckUtf8Enabled:   true,
		PermessageDeflate: gws.PermessageDeflate{
			Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true,
			// gws's default with context takeover is 12 bits, which it
			// announces whatever the client offered (RFC 7692 §7.1.2.2
			// forbids client_max_window_bits in the response to an offer
			// without it); 15 bits leaves both parameters out.
			ServerMaxWindowBits: 15, ClientMaxWindowBits: 15,
		},
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go func() {
			defer func() {
				if v := recover(); v != nil {
					gwsMu.Lock()
					gwsPanics = append(gwsPanics, fmt.Sprint(v))
					gwsMu.Unlock()
					c.NetConn().Close()
				}
			}()
			c.ReadLoop()
		}()
	})
}

type gwsHandler struct{ gws.BuiltinEventHandler }

func (gwsHandler) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}
