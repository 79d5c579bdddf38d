//go:build !race

package gateway

// raceEnabled says whether the tests run under the race detector, which
// drops sync.Pool items at random and moves allocation counts; RaceEnabled
// is the same for the external test package.
const raceEnabled = false

const RaceEnabled = raceEnabled
