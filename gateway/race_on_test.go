//go:build race

package gateway

// raceEnabled: the race detector multiplies memory per goroutine and slows bcrypt, so the
// attack tests use fewer sockets and a cheaper hash under it.
const raceEnabled = true
