package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// workload is one table: samples per implementation.
type workload struct {
	title, file, unit, note string
	higher                  bool    // higher is better
	mbps                    float64 // MB per unit, for a MB/s column; 0 for none
	names                   []string
	samples                 map[string][]float64
	errs                    map[string]string
	cpu                     *workload // the same repetitions per server CPU-second, for echo rows
}

func (w *workload) name(n string) {
	if !slices.Contains(w.names, n) {
		w.names = append(w.names, n)
	}
}

func (w *workload) add(name string, v float64) {
	w.name(name)
	if w.samples == nil {
		w.samples = map[string][]float64{}
	}
	w.samples[name] = append(w.samples[name], v)
}

func (w *workload) fail(name string, err error) {
	w.name(name)
	if w.errs == nil {
		w.errs = map[string]string{}
	}
	w.errs[name] = err.Error()
}

func (w *workload) value(name string) (float64, bool) {
	s := w.samples[name]
	return median(s), len(s) > 0 && w.errs[name] == ""
}

// isPeer reports whether name counts for "best peer": not pushwire in any
// form, and not Node ws, a reference row.
func isPeer(name string) bool {
	return !strings.HasPrefix(name, "pushwire") && name != "node"
}

// best returns the best figure among the peers.
func (w *workload) best() (string, float64, bool) {
	bn, bv, ok := "", 0.0, false
	for _, n := range w.names {
		if !isPeer(n) {
			continue
		}
		v, good := w.value(n)
		if !good {
			continue
		}
		if !ok || (w.higher && v > bv) || (!w.higher && v < bv) {
			bn, bv, ok = n, v, true
		}
	}
	return bn, bv, ok
}

// ratio is pushwire's figure over the best peer's, oriented so that > 1
// means pushwire is better.
func (w *workload) ratio() (float64, string, bool) {
	pv, ok := w.value("pushwire")
	bn, bv, ok2 := w.best()
	if !ok || !ok2 || pv == 0 || bv == 0 {
		return 0, "", false
	}
	if w.higher {
		return pv / bv, bn, true
	}
	return bv / pv, bn, true
}

// spread is (max − min) / median of a server's samples.
func (w *workload) spread(name string) float64 {
	s := w.samples[name]
	if len(s) < 2 {
		return math.NaN()
	}
	return (slices.Max(s) - slices.Min(s)) / median(s)
}

func (w *workload) summary() string {
	var b strings.Builder
	for _, n := range w.names {
		v, _ := w.value(n)
		fmt.Fprintf(&b, "%s=%s ", n, num(v))
	}
	if r, bn, ok := w.ratio(); ok {
		fmt.Fprintf(&b, "(pushwire/%s ×%.2f)", bn, r)
	}
	return b.String()
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

type report struct {
	start              time.Time
	elapsed            time.Duration
	loadStart, loadEnd string
	commit             string
	node               bool
	limits             map[string]int

	echo              []*workload
	lat               *latency
	sysTool           string
	sys               []*sysResult
	read              []*workload
	bcast, bcastAlloc *workload
	idle              []*idleResult
	profiles          []*profile
	old               []*workload
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown"
}

// serverSettings describes every server, for the table at the top.
var serverSettings = [][3]string{
	{"pushwire", "the shipped `pushwire echo -addr 127.0.0.1:0 -debug-addr 127.0.0.1:0` (../cmd/pushwire)", "wsproto.Handler (serve loop on a fresh goroutine), Read into a reused buffer then Write; read limit 64 MiB (its default); UTF-8 of text messages checked (always); permessage-deflate accepted only when offered (`-compress` default), and the load generator never offers it; http.Server with ReadHeaderTimeout 10 s"},
	{"pushwire-peers", "peers/cmd/peer-pushwire serve", "the echo that the old method ran inside the load generator's process (peers.Pushwire().Echo), now in a process of its own: as the shipped echo but without the compression option and in a plain http.Server; also pushwire's broadcast server (wsproto.Group: Broadcast of a PreparedMessage) and client (Dial + Read)"},
	{"gorilla", "peers/cmd/peer-gorilla serve", "gorilla/websocket v1.5.3: Upgrader with default buffers (its own 4 KiB write buffer, net/http's reader reused), ReadMessage/WriteMessage on the handler goroutine; SetReadLimit 64 MiB; no UTF-8 check of messages (not configurable); compression off"},
	{"coder", "peers/cmd/peer-coder serve", "coder/websocket v1.8.15: Accept with CompressionDisabled, Read/Write on the handler goroutine; SetReadLimit 64 MiB; no UTF-8 check of messages (not configurable)"},
	{"gobwas", "peers/cmd/peer-gobwas serve", "gobwas/ws v1.5.0: ws.UpgradeHTTP, wsutil.ReadClientData/WriteServerMessage on the handler goroutine; wsutil.SetMaxMessageSize 64 MiB; UTF-8 checked (the helpers' default); compression off"},
	{"gws", "peers/cmd/peer-gws serve", "lxzan/gws v1.8.9: Upgrader, ReadLoop on a new goroutine (its README's pattern), OnMessage writes back; ReadMaxPayloadSize 64 MiB; CheckUtf8Enabled; compression off"},
	{"node", "node peers/cmd/peer-node/peer.js serve (reference row, not counted as a peer)", "ws 8.x from peers/node_modules: WebSocketServer, maxPayload 64 MiB, perMessageDeflate off, UTF-8 checked (skipUTF8Validation off), without the optional native add-ons"},
	{"chat-ws", "the shipped `pushwire serve -addr 127.0.0.1:0 -debug-addr 127.0.0.1:0`, GET /chat with a WebSocket handshake", "httpstream over a hub topic of 1,000 entries: each subscriber gets the cursor record, then waits; keep-alive ping every 10 s (answered by the load generator)"},
	{"chat-sse", "the same `pushwire serve`, GET /chat?transport=sse", "an SSE stream per subscriber: retry and cursor event, then keep-alive comments every 10 s"},
	{"chat-ndjson", "the same `pushwire serve`, GET /chat?transport=stream", "an NDJSON stream per subscriber: padding line and cursor record, then keep-alive empty lines every 10 s"},
	{"chat-poll", "the same `pushwire serve` with `-poll-timeout 10m`, GET /chat?transport=poll (from now)", "a waiting long poll per client, held by the server during the whole measurement (its 10 min timeout is longer; the default of 20 s would answer polls, and the clients poll again on new connections, while it samples); after the publish each client polls again on a new connection (the server answers with Connection: close)"},
}

func (r *report) write(dir, raw string) error {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# pushwire side by side\n\n")
	p("Regenerate with `go run ./cmd/results` in peers/ (full run; `-quick` for a short one written to results/raw/quick/, `-rows` to select rows; see `go doc ./cmd/results`). ")
	p("This file was written on %s from commit %s. Machine: %d cores, %s, %s/%s, %s. The run took %v. ",
		r.start.UTC().Format("2006-01-02 15:04 UTC"), r.commit, runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), r.elapsed.Round(time.Second))
	p("Load average (1, 5, 15 min) at the start: %s, at the end: %s. **The machine was shared with other work during this run: compare within a table, not across runs.**\n\n", r.loadStart, r.loadEnd)

	p("## Method\n\n")
	p("- **Servers as users run them**, each in its own process, started fresh by this command: the shipped `pushwire echo`, each peer's plain echo server (peers/cmd/peer-*, one binary per library, linking only that library) with the same read limit (64 MiB), UTF-8 checking where the library lets one choose, and compression off; Node ws as a reference row (not counted as \"best peer\"). Every server runs with `-debug-addr`, which serves expvar (memstats, goroutines) and pprof; nothing reads it while throughput is measured.\n")
	p("- **A neutral load generator**: peers/cmd/loadgen, raw TCP sockets with hand-written handshakes and frames built with wsproto/frame (which only encodes bytes), no WebSocket library. It runs as %d processes (each may hold at most 20,000 descriptors here) with source addresses spread over 127.0.0.2–254, at most %d connections per address.\n", *nWorkers, perIP)
	p("- **Echo rows**: binary frames of 16 B, 1 KiB and 64 KiB over 1 and 100 connections, %d frames in flight per connection (8 for 64 KiB), from min(connections, %d) generator processes; ", 32, *genProcs)
	if *batch {
		p("the generator writes all free slots of a connection's window in one write(2) and counts replies. ")
	} else {
		p("the generator writes one frame per write(2) and counts replies. ")
	}
	p("Each repetition dials fresh connections, warms up %v, then counts replies for %v, and reads the server's CPU time (the sum of /proc/PID/task/*/schedstat) at both ends of that window, which gives messages per server CPU-second beside messages per second. The servers are interleaved (each repetition rotates their order) and repeated %d times; the median is reported, with the spread ((max − min) ÷ median) beside it.\n", *warmDur, *echoDur, *reps)
	p("- **Latency**: one connection, one 16-byte message in flight, %d round trips per repetition after %d warm-up ones, interleaved like the echo rows; p50 and p99 of all round trips pooled.\n", *latCount, *latCount/10)
	p("- **Client read**: each library's client in its own process reads a stream of server frames that loadgen's raw server writes in 256 KiB batches; messages per second from the end of the handshake to the last message, and messages per CPU-second of the client process (its rusage); interleaved and repeated like the echo rows.\n")
	p("- **Broadcast**: %d raw clients on the server's broadcast path, then one 1 KiB binary message sent by the library's prepared-message call (coder: Write) from 8 goroutines (pushwire: one call of wsproto.Group.Broadcast, which writes from the calling goroutine and, for 1,024 members or more, from GOMAXPROCS − 1 helper goroutines beside it), triggered over the debug address; the time from the request until every client has read it (the generators record each arrival), and the server's CPU time over the same span. Each server in a fresh process, one at a time, %d broadcasts each, in two passes of opposite order.\n", *bConns, *bcastReps)
	p("- **Idle memory**: a fresh server process; baseline VmRSS (/proc/PID/status) and goroutines (expvar) after one debug request; then N upgraded connections from %d generator processes, which answer pings and otherwise stay silent (chat-poll: N long polls, written without waiting for an answer, and the row waits until the server's goroutines are back within 16 of the baseline, i.e. it holds every poll); when VmRSS is stable (three readings 500 ms apart within 1 %% of the growth, at least 2 s) it is read again. Reported: **VmRSS growth ÷ N** and **goroutine growth ÷ N** (the new method), and beside them (heap in use + stack in use) growth ÷ N from runtime.MemStats, both as read and after two forced collections (the old method: what peers/RESULTS.md reported before). Then the first message after idleness (%d connections spread over each generator, one at a time, 16 B round trip), or for /chat one published message's time to reach every subscriber. Servers run with the soft descriptor limit raised to the hard limit (Go raises it at start-up; this command sets it for every child); when N + the server's own descriptors do not fit, N is lowered and the table says so.\n", *nWorkers, *wakeCount)
	p("- **System calls per message**: ")
	switch r.sysTool {
	case "perf":
		p("`perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_… -p PID` attached to the server (all its threads) while a fixed number of messages is echoed (100,000 of 16 B or 1 KiB, 10,000 of 64 KiB; with the window of the echo rows), divided by the messages. The count includes the runtime's own calls during the window (timers, sysmon), which are a small share.\n")
	case "strace":
		p("`strace -c -f -p PID` on the server while a fixed number of messages is echoed, divided by the messages (strace slows the server, which changes how many frames each read finds).\n")
	default:
		p("not measured (neither perf nor strace works here).\n")
	}
	p("- Raw data (every sample, perf output, profiles) is written to results/raw/ and not committed.\n\n")

	p("### Servers\n\n| row | program | settings |\n|---|---|---|\n")
	for _, s := range serverSettings {
		if s[0] == "node" && !r.node {
			continue
		}
		p("| %s | %s | %s |\n", s[0], s[1], s[2])
	}
	if len(r.limits) > 0 {
		var ls []string
		for _, n := range slices.Sorted(mapKeys(r.limits)) {
			ls = append(ls, fmt.Sprintf("%s %d", n, r.limits[n]))
		}
		p("\nSoft descriptor limit of each echo server process, read from /proc/PID/limits: %s.\n", strings.Join(ls, ", "))
	}

	p("\n## Summary: pushwire ÷ best peer\n\n")
	p("Above 1.00 pushwire is ahead. \"Best peer\" is the best of gorilla, coder, gobwas and gws in the same run (Node ws and pushwire-peers are shown in the tables but not counted).\n\n")
	p("The last column takes the same repetitions by CPU time instead of wall time: messages per CPU-second of the server (echo), of the client process (client read), or the server's CPU time per broadcast. Co-tenants of the machine move it much less than the wall-clock figures.\n\n")
	p("| row | pushwire | best peer | pushwire ÷ best peer | by CPU time: pushwire ÷ best peer |\n|---|---:|---:|---:|---:|\n")
	rows := slices.Concat(r.echo, r.read)
	if r.bcast != nil {
		rows = append(rows, r.bcast)
	}
	for _, w := range rows {
		pv, _ := w.value("pushwire")
		bn, bv, _ := w.best()
		rs, cs := "–", "–"
		if rt, _, ok := w.ratio(); ok {
			rs = fmt.Sprintf("**%.2f**", rt)
		}
		if w.cpu != nil {
			if rt, cbn, ok := w.cpu.ratio(); ok {
				cs = fmt.Sprintf("%.2f (%s)", rt, cbn)
			}
		}
		p("| %s | %s %s | %s %s (%s) | %s | %s |\n", w.title, num(pv), w.unit, num(bv), w.unit, bn, rs, cs)
	}
	if r.lat != nil {
		for _, q := range []struct {
			name string
			pct  float64
		}{{"p50", 50}, {"p99", 99}} {
			pv := percentile(r.lat.samples["pushwire"], q.pct)
			bn, bv := "", math.Inf(1)
			for _, n := range r.lat.names {
				if v := percentile(r.lat.samples[n], q.pct); isPeer(n) && v < bv {
					bn, bv = n, v
				}
			}
			p("| Round trip %s, 16 B, 1 conn | %.1f µs | %.1f µs (%s) | **%.2f** | – |\n", q.name, pv, bv, bn, bv/pv)
		}
	}

	if len(r.idle) > 0 {
		r.writeIdle(&b)
	}
	if r.lat != nil {
		p("\n## Round-trip latency, 16 B, one message in flight\n\n| server | p50 µs | p99 µs | round trips |\n|---|---:|---:|---:|\n")
		for _, n := range r.lat.names {
			p50, p99 := r.lat.pct(n)
			cell := fmt.Sprintf("%.1f | %.1f | %d", p50, p99, len(r.lat.samples[n]))
			if e := r.lat.errs[n]; e != "" {
				cell += " (failed once: " + oneLine(e) + ")"
			}
			p("| %s | %s |\n", n, cell)
		}
	}
	if len(r.sys) > 0 {
		p("\n## System calls per echoed message (server side, %s)\n\n", r.sysTool)
		if slices.ContainsFunc(r.sys, func(x *sysResult) bool { return strings.HasPrefix(x.Row, "Broadcast") }) {
			p("The broadcast rows (`-rows bsys`) count per member and broadcast: the server's calls during 5 broadcasts, each from the request until every client has read the message, divided by 5 × the members.\n\n")
		}
		p("| row | server | total | read | write | epoll | futex | sleep/yield | other |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, x := range r.sys {
			if x.Err != "" {
				p("| %s | %s | failed: %s |||||||\n", x.Row, x.Server, oneLine(x.Err))
				continue
			}
			p("| %s | %s | **%.2f** | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", x.Row, x.Server, x.per("total"), x.per("read"), x.per("write"), x.per("epoll"), x.per("futex"), x.per("nanosleep"), x.per("other"))
		}
	}

	p("\n## Throughput tables\n")
	for _, w := range rows {
		writeWorkload(&b, w, true)
		if w.cpu != nil {
			writeWorkload(&b, w.cpu, true)
		}
	}
	if r.bcastAlloc != nil {
		writeWorkload(&b, r.bcastAlloc, false)
	}
	if len(r.old) > 0 {
		p("\n## Compression rows, and rows still measured with the old in-process method\n\n")
		p("The compression rows (compressed echo, memory with compression) run every server as a process of its own (the shipped `pushwire echo`, peers/cmd/peer-* serve -deflate); the load comes from this command's raw sockets, and memory is the server's (heap in use + stack in use) after two forced collections, not RSS. The SSE rows have not moved to server processes yet: the SSE fan-out row uses a child process of this command and reports (heap in use + stack in use) after a forced GC. Read those as the old figures were read.\n")
		for _, w := range r.old {
			writeWorkload(&b, w, false)
			if w.cpu != nil {
				writeWorkload(&b, w.cpu, false)
			}
		}
	}
	if len(r.profiles) > 0 {
		p("\n## Profiles taken in this run\n\nCPU profiles of pushwire and of the best peer on the rows where pushwire ÷ best peer was below %.2f; `go tool pprof -top` output in results/raw/:\n\n", *profBelow)
		for _, pr := range r.profiles {
			p("- %s, %s: `%s`\n", pr.Row, pr.Server, filepath.Base(strings.TrimSuffix(pr.File, ".pb.gz")+".txt"))
		}
	}
	b.WriteString(notesMarker)
	if notes, err := os.ReadFile(filepath.Join("results", "notes.md")); err == nil {
		b.Write(notes)
	}
	if err := os.WriteFile(filepath.Join(dir, "RESULTS.md"), b.Bytes(), 0o644); err != nil {
		return err
	}
	return r.writeRaw(raw)
}

func (r *report) writeIdle(b *bytes.Buffer) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("\n## Idle connections: memory and goroutines per connection\n\n")
	p("| server | connections | **RSS growth ÷ conns** | **goroutines ÷ conns** | heap+stack ÷ conns | heap+stack after GC ÷ conns (old method) | RSS after GC ÷ conns | first message after idle, p50 / max µs | /chat publish to all, ms |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var notes []string
	for _, x := range r.idle {
		if x.Err != "" {
			p("| %s | %d | failed: %s ||||||\n", x.Server, x.Want, oneLine(x.Err))
			continue
		}
		n := fmt.Sprintf("%d", x.N)
		if x.FdNote != "" {
			n += "*"
			notes = append(notes, fmt.Sprintf("%s: %s.", x.Server, x.FdNote))
		}
		g, gc, rgc := "–", "–", "–"
		if x.G >= 0 {
			g = fmt.Sprintf("%.2f", x.gPer())
		}
		if x.HSGC != 0 {
			gc = fmt.Sprintf("%.0f B", x.hsGCPer())
			rgc = fmt.Sprintf("%.0f B", float64(x.RSSGC-x.RSS0)/float64(x.N))
		}
		hs := fmt.Sprintf("%.0f B", x.hsPer())
		if x.Server == "node" {
			hs = "–"
		}
		wake, pub := "–", "–"
		if len(x.Wake) > 0 {
			wake = fmt.Sprintf("%.0f / %.0f", percentile(x.Wake, 50), slices.Max(x.Wake))
		}
		if x.Publish > 0 {
			pub = fmt.Sprintf("%.0f", x.Publish)
		}
		p("| %s | %s | **%.0f B** (%.2f KiB) | **%s** | %s | %s | %s | %s | %s |\n", x.Server, n, x.rssPer(), x.rssPer()/1024, g, hs, gc, rgc, wake, pub)
	}
	for _, n := range notes {
		p("\n\\* %s\n", n)
	}
}

func writeWorkload(b *bytes.Buffer, w *workload, spread bool) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("\n### %s\n\n", w.title)
	if w.note != "" {
		p("%s.\n\n", w.note)
	}
	head, sep := "| implementation | "+w.unit, "|---|---:"
	if w.mbps > 0 {
		head += " | MB/s"
		sep += "|---:"
	}
	if spread {
		head += " | spread"
		sep += "|---:"
	}
	p("%s | samples |\n%s|---|\n", head, sep)
	for _, n := range w.names {
		v, ok := w.value(n)
		cell := num(v)
		if !ok {
			cell = "failed: " + oneLine(w.errs[n])
		}
		line := fmt.Sprintf("| %s | %s", n, cell)
		if w.mbps > 0 {
			line += " | " + num(v*w.mbps)
		}
		if spread {
			line += fmt.Sprintf(" | %.0f %%", 100*w.spread(n))
		}
		var ss []string
		for _, s := range w.samples[n] {
			ss = append(ss, num(s))
		}
		p("%s | %s |\n", line, strings.Join(ss, ", "))
	}
	if rt, bn, ok := w.ratio(); ok {
		p("\npushwire ÷ best peer (%s): **%.2f**\n", bn, rt)
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "|", "/")
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func mapKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// rawWorkload is a workload as JSON.
type rawWorkload struct {
	Title, Unit string
	Samples     map[string][]float64
	Errors      map[string]string `json:",omitempty"`
}

func toRaw(ws []*workload) []rawWorkload {
	var out []rawWorkload
	for _, w := range ws {
		if w != nil {
			out = append(out, rawWorkload{w.title, w.unit, w.samples, w.errs})
		}
	}
	return out
}

// writeRaw keeps every sample of the run in raw/run-<time>.json.
func (r *report) writeRaw(raw string) error {
	v := map[string]any{
		"start": r.start, "elapsed": r.elapsed.String(), "commit": r.commit,
		"load_start": r.loadStart, "load_end": r.loadEnd,
		"echo": toRaw(r.echo), "echo_cpu": toRaw(cpuOf(r.echo)), "read_cpu": toRaw(cpuOf(r.read)), "read": toRaw(r.read), "broadcast": toRaw([]*workload{r.bcast, r.bcastAlloc}),
		"broadcast_cpu": toRaw(cpuOf([]*workload{r.bcast})), "old": toRaw(r.old), "idle": r.idle, "syscalls": r.sys, "sys_tool": r.sysTool,
	}
	if r.lat != nil {
		v["latency_us"] = r.lat.samples
	}
	return jsonFile(filepath.Join(raw, "run-"+r.start.UTC().Format("20060102-150405")+".json"), v)
}

// notesMarker separates the generated part of RESULTS.md from the
// hand-written notes copied from results/notes.md.
const notesMarker = "\n<!-- The rest is results/notes.md, written by hand from the run above; go run ./cmd/results -notes copies it in again. -->\n\n"

// replaceNotes copies results/notes.md into dir/RESULTS.md again, after
// the marker, leaving the measured part as it is.
func replaceNotes(dir string) error {
	name := filepath.Join(dir, "RESULTS.md")
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte(notesMarker))
	if i < 0 {
		return fmt.Errorf("%s has no notes marker", name)
	}
	notes, err := os.ReadFile(filepath.Join("results", "notes.md"))
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b[:i+len(notesMarker):i+len(notesMarker)], notes...), 0o644)
}

func cpuOf(ws []*workload) []*workload {
	var out []*workload
	for _, w := range ws {
		if w != nil {
			out = append(out, w.cpu)
		}
	}
	return out
}
