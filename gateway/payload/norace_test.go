//go:build !race

package payload

// raceEnabled is set under -race, where sync.Pool drops items at random and allocations rise.
const raceEnabled = false
