//go:build ignore

// benchmedian reads the output of go test -bench runs (one file per run,
// the same benchmarks in each) and prints, for each benchmark, the median
// of each reported unit over the runs as a Markdown table, and the load
// averages the files note on lines starting with "load:".
//
//	go run scripts/benchmedian.go run1.txt run2.txt ...
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// units are the columns, in order; others are left out.
var units = []string{"p50-µs", "p99-µs", "entries/s"}

var cpuSuffix = regexp.MustCompile(`-\d+$`)

func main() {
	values := map[string]map[string][]float64{} // benchmark -> unit -> one value per run
	var order, loads []string
	for _, path := range os.Args[1:] {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if l, ok := strings.CutPrefix(line, "load:"); ok {
				base := path[strings.LastIndexByte(path, '/')+1:]
				loads = append(loads, strings.TrimSuffix(base, ".txt")+" "+strings.TrimSpace(l))
				continue
			}
			fields := strings.Fields(line)
			if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
				continue
			}
			name := cpuSuffix.ReplaceAllString(strings.TrimPrefix(fields[0], "Benchmark"), "")
			if values[name] == nil {
				values[name] = map[string][]float64{}
				order = append(order, name)
			}
			for i := 2; i+1 < len(fields); i += 2 {
				v, err := strconv.ParseFloat(fields[i], 64)
				if err == nil {
					values[name][fields[i+1]] = append(values[name][fields[i+1]], v)
				}
			}
		}
		f.Close()
	}
	fmt.Printf("| benchmark | runs | %s |\n", strings.Join(units, " | "))
	fmt.Printf("|---|---:|%s\n", strings.Repeat("---:|", len(units)))
	for _, name := range order {
		runs := 0
		var cols []string
		for _, u := range units {
			vs := values[name][u]
			runs = max(runs, len(vs))
			cols = append(cols, median(vs))
		}
		fmt.Printf("| %s | %d | %s |\n", name, runs, strings.Join(cols, " | "))
	}
	if len(loads) > 0 {
		fmt.Printf("\nload average (1, 5, 15 min) before each run: %s\n", strings.Join(loads, "; "))
	}
}

func median(vs []float64) string {
	if len(vs) == 0 {
		return "—"
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return strconv.FormatFloat(m, 'f', 0, 64)
}
