//go:build race

package advise

// raceOn: the race detector slows the decisions tenfold, so the property
// tests draw fewer profiles under it.
const raceOn = true
