//go:build !race

package wsecho

const raceEnabled = false
