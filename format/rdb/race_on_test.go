//go:build race

package rdb

// raceEnabled: the race detector slows the single-goroutine codec ~10x and
// finds nothing more on big inputs, so the heaviest corpus loops sample.
const raceEnabled = true
