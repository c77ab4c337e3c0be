package main

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// workload is one table and one chart: samples per implementation.
type workload struct {
	title, file, unit, note string
	higher                  bool    // higher is better
	mbps                    float64 // MB per unit, for a MB/s column; 0 for none
	names                   []string
	samples                 map[string][]float64
	errs                    map[string]string
}

func (w *workload) name(n string) {
	for _, x := range w.names {
		if x == n {
			return
		}
	}
	w.names = append(w.names, n)
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

// best returns the best figure among the peers (not pushwire in any of its
// modes, such as pushwire-nct).
func (w *workload) best() (string, float64, bool) {
	bn, bv, ok := "", 0.0, false
	for _, n := range w.names {
		if strings.HasPrefix(n, "pushwire") {
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
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

type report struct {
	workloads []*workload
	elapsed   time.Duration
}

func (r *report) add(w *workload) { r.workloads = append(r.workloads, w) }

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown"
}

func (r *report) write(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "results"), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# pushwire side by side\n\n")
	fmt.Fprintf(&b, "Written by `go run ./cmd/results` in peers/ on %s. Machine: %d cores, %s, %s/%s, %s. The run took %v.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "Each figure is the median of %d short repetitions, interleaved across implementations (the machine is shared, so absolute numbers are noisy; compare within a table). ", *reps)
	fmt.Fprintf(&b, "\"pushwire ÷ best peer\" is pushwire's figure against the best other implementation, oriented so that above 1.00 means pushwire is ahead. Everything runs on 127.0.0.1.\n\n")
	b.WriteString("## Summary\n\n| workload | pushwire | best peer | pushwire ÷ best peer |\n|---|---:|---:|---:|\n")
	for _, w := range r.workloads {
		pv, _ := w.value("pushwire")
		bn, bv, _ := w.best()
		rs := "–"
		if rt, _, ok := w.ratio(); ok {
			rs = fmt.Sprintf("%.2f", rt)
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s (%s) | %s |\n", w.title, num(pv), w.unit, num(bv), bn, rs)
	}
	b.WriteString("\nIn the compression workloads, \"pushwire\" is pushwire with context takeover (its default) and the ratio is taken from it; pushwire-nct, with no context takeover either way, is shown beside it and left out of \"best peer\". Not measured yet: 50,000 connections (the file limit here is 20,000).\n")
	for _, w := range r.workloads {
		fmt.Fprintf(&b, "\n## %s\n\n", w.title)
		if w.note != "" {
			fmt.Fprintf(&b, "%s.\n\n", w.note)
		}
		head := "| implementation | " + w.unit
		sep := "|---|---:"
		if w.mbps > 0 {
			head += " | MB/s"
			sep += "|---:"
		}
		fmt.Fprintf(&b, "%s | samples |\n%s|---|\n", head, sep)
		for _, n := range w.names {
			v, ok := w.value(n)
			cell := num(v)
			if !ok {
				cell = "failed: " + strings.ReplaceAll(w.errs[n], "|", "/")
			}
			line := fmt.Sprintf("| %s | %s", n, cell)
			if w.mbps > 0 {
				line += " | " + num(v*w.mbps)
			}
			var ss []string
			for _, s := range w.samples[n] {
				ss = append(ss, num(s))
			}
			fmt.Fprintf(&b, "%s | %s |\n", line, strings.Join(ss, ", "))
		}
		if rt, bn, ok := w.ratio(); ok {
			fmt.Fprintf(&b, "\npushwire ÷ best peer (%s): **%.2f**\n", bn, rt)
		}
		fmt.Fprintf(&b, "\n![%s](results/%s.svg)\n", w.title, w.file)
		if err := os.WriteFile(filepath.Join(dir, "results", w.file+".svg"), w.svg(), 0o644); err != nil {
			return err
		}
	}
	// The closing note, written by hand from CPU profiles of a run.
	if notes, err := os.ReadFile(filepath.Join(dir, "results", "notes.md")); err == nil {
		b.WriteString("\n")
		b.Write(notes)
	}
	return os.WriteFile(filepath.Join(dir, "RESULTS.md"), b.Bytes(), 0o644)
}

// svg draws a horizontal bar chart of the medians.
func (w *workload) svg() []byte {
	const width, left, right, bar, gap, top = 640, 90, 110, 22, 8, 44
	h := top + len(w.names)*(bar+gap) + 16
	maxv := 0.0
	for _, n := range w.names {
		if v, ok := w.value(n); ok && v > maxv {
			maxv = v
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, h, width, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	better := "lower is better"
	if w.higher {
		better = "higher is better"
	}
	fmt.Fprintf(&b, `<text x="8" y="20" font-weight="bold">%s</text>`+"\n", html.EscapeString(w.title))
	fmt.Fprintf(&b, `<text x="8" y="36" fill="#555" font-size="11">%s, %s, median of %d</text>`+"\n", html.EscapeString(w.unit), better, *reps)
	for i, n := range w.names {
		y := top + i*(bar+gap)
		v, ok := w.value(n)
		fill := "#8a9bb0"
		if n == "pushwire" {
			fill = "#d9622b"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-6, y+bar-6, html.EscapeString(n))
		if !ok || maxv == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#a00">failed</text>`+"\n", left+4, y+bar-6)
			continue
		}
		bw := int(float64(width-left-right) * v / maxv)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", left, y, max(bw, 1), bar, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+max(bw, 1)+6, y+bar-6, num(v))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
