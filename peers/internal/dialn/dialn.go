// Package dialn opens many connections at once, as the load generators
// (cmd/loadgen, cmd/results) do before a measurement: a bounded number in
// flight, the first failure reported, nothing left open after one.
package dialn

import (
	"sync"
	"sync/atomic"
)

// InFlight is how many opens All runs at once: enough to fill the
// loopback quickly, few enough not to overflow a server's accept queue.
const InFlight = 64

// All calls open for every i in [0, n), at most InFlight at a time, and
// returns the results by index. If any open fails it closes every
// result that did open (with close) and returns the first failure to
// happen, with a nil slice.
func All[T any](n int, open func(i int) (T, error), close func(T)) ([]T, error) {
	out := make([]T, n)
	ok := make([]bool, n)
	sem := make(chan struct{}, InFlight)
	var wg sync.WaitGroup
	var first atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v, err := open(i)
			if err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			out[i], ok[i] = v, true
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		for i, v := range out {
			if ok[i] {
				close(v)
			}
		}
		return nil, err
	}
	return out, nil
}
