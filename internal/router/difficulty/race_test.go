//go:build race

package difficulty

const raceEnabled = true
