package ratelimit

import (
	"fmt"
	"strings"
)

// Every limiter stores its state under "herald:rl:{<key>}:<kind>", and a
// cool-down under "herald:rl:{<key>}:cooldown". The braces are a Redis
// Cluster hash tag: only the part inside them picks the slot, so a
// limiter's keys and its cool-down always live on the same node and one
// script may touch them together. The kind suffix lets one caller key carry
// a rate, a window and a concurrency limit at once without the structures
// colliding.
const keyPrefix = "herald:rl:{"

// Suffixes of the stored keys, one per kind.
const (
	kindRate        = "}:rate"
	kindWindow      = "}:window"
	kindConcurrency = "}:concurrency"
	kindCooldown    = "}:cooldown"
	kindCalls       = "}:calls"
	kindAdapt       = "}:adapt"
)

// checkKey rejects keys that would break the hash tag. Redis hashes the text
// between the first '{' and the next '}', so a key with braces of its own
// could end the tag early or leave it empty, scattering one limiter's keys
// over several cluster slots.
func checkKey(key string) error {
	if key == "" || strings.ContainsAny(key, "{}") {
		return fmt.Errorf("%w %q: must be non-empty and free of '{' and '}'", ErrInvalidKey, key)
	}
	return nil
}

// keysFor returns the state key of the given kind and the cool-down key for
// a caller's key. The cool-down key always comes second: every decision
// script reads it as KEYS[2].
func keysFor(key, kind string) []string {
	return []string{keyPrefix + key + kind, keyPrefix + key + kindCooldown}
}
