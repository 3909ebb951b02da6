// Package ratelimit owns lanewatch's keyed limits: a token bucket per key (Limiter, on
// golang.org/x/time/rate) for "at most N per window from one address or one plaque", and a
// count of consecutive failures per key (Failures) for progressive slow-downs of failed logins.
//
// Both keep a bounded number of keys and evict idle ones (a key whose state is equivalent to a
// fresh one: its bucket full again, or its failure window passed), so a spray of addresses
// cannot grow memory; when every slot is busy a new key is not tracked. Time is always passed
// in by the caller (the injected clock), so tests step time instead of sleeping.
//
// It must not log, register metrics, start goroutines or know HTTP, MQTT or any lanewatch
// package: callers decide what a refusal means.
package ratelimit
