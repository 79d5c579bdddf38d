//go:build race

package telemetry

// raceEnabled: the race detector makes sync.Pool drop items at random,
// so allocation counts are not checked under it.
const raceEnabled = true
