package main

import (
	"math"
	"testing"
)

func TestParsePerf(t *testing.T) {
	out := []byte("# started on Sun Nov 29 04:30:17 2026\n\n" +
		"1500,,raw_syscalls:sys_enter,321294596,100.00,,\n" +
		"1000,,syscalls:sys_enter_write,321294596,100.00,,\n" +
		"<not counted>,,syscalls:sys_enter_readv,0,100.00,,\n" +
		"300,,syscalls:sys_enter_read,321294596,100.00,,\n")
	got, err := parsePerf(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"total": 1500, "write": 1000, "read": 300}
	if len(got) != len(want) {
		t.Errorf("parsePerf = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parsePerf[%q] = %v, want %v", k, got[k], v)
		}
	}
	x := &sysResult{Msgs: 1000, Calls: got}
	for g, w := range map[string]float64{"total": 1.5, "write": 1, "read": 0.3, "other": 0.2} {
		if v := x.per(g); math.Abs(v-w) > 1e-9 {
			t.Errorf("per(%q) = %v, want %v", g, v, w)
		}
	}
	if _, err := parsePerf([]byte("<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n")); err == nil {
		t.Error("parsePerf of an empty count: no error")
	}
}

func TestParseStrace(t *testing.T) {
	out := []byte(`% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.060000           6     10000           write
 30.00    0.030000          10      3000       120 read
 10.00    0.010000          10      1000           futex
------ ----------- ----------- --------- --------- ----------------
100.00    0.100000           7     14000       120 total
`)
	got, err := parseStrace(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{"write": 10000, "read": 3000, "futex": 1000, "total": 14000} {
		if got[k] != v {
			t.Errorf("parseStrace[%q] = %v, want %v", k, got[k], v)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tt := range []struct{ p, want float64 }{{50, 5}, {99, 10}, {10, 1}, {100, 10}} {
		if got := percentile(xs, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", xs, tt.p, got, tt.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile(nil, 50) is not NaN")
	}
}
