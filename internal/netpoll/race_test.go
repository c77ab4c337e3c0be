//go:build race

package netpoll

// raceEnabled: under the race detector sync.Pool drops items at random
// and the detector allocates, so allocation counts are not checked.
const raceEnabled = true
