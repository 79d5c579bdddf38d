//go:build !race

package advise

const raceOn = false
