package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Decision is a limiter's answer to one attempt.
//
// A denied Decision carries the exact wait in RetryAfter, so the caller can
// choose between waiting a moment in place and handing the work back to be
// rescheduled; the limiter itself never sleeps.
type Decision struct {
	// Allowed reports whether the attempt was admitted (and counted).
	Allowed bool
	// Remaining is how many more attempts the limiter would admit right
	// now, after this one.
	Remaining int
	// RetryAfter is how long to wait before the same attempt can be
	// admitted, assuming nobody else takes the room first. Zero when
	// Allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the limiter is back to its idle state
	// (full burst, empty window, no holders) if nothing else happens.
	// Zero when Blocked.
	ResetAfter time.Duration
	// Blocked reports that the attempt was denied by a cool-down set with
	// Cooldown.Block, not by the limit itself. RetryAfter is then what is
	// left of the cool-down.
	Blocked bool
	// Share is the fraction of the configured rate in force: below 1 while
	// a Calls limit is adapting to a provider's "too many" (see
	// Calls.Throttle), 1 for every other limiter.
	Share float64
}

// Script status codes, the first element of every decision a script returns.
const (
	statusBlocked = -1
	statusDenied  = 0
	statusAllowed = 1
)

// decision turns a script's reply {status, remaining, retry_after_us,
// reset_after_us} into a Decision.
func decision(v []int64) (Decision, error) {
	if len(v) != 4 {
		return Decision{}, fmt.Errorf("ratelimit: unexpected script reply %v", v)
	}
	return Decision{
		Allowed:    v[0] == statusAllowed,
		Blocked:    v[0] == statusBlocked,
		Remaining:  int(v[1]),
		RetryAfter: time.Duration(v[2]) * time.Microsecond,
		ResetAfter: time.Duration(v[3]) * time.Microsecond,
		Share:      1,
	}, nil
}

var (
	// ErrInvalidKey is returned for a key the limiters cannot hash-tag:
	// empty, or containing '{' or '}'.
	ErrInvalidKey = errors.New("ratelimit: invalid key")
	// ErrInvalidLimit is returned for a limit that cannot be enforced: a
	// non-positive rate, count or period, or a cost larger than the burst
	// (which would never be admitted).
	ErrInvalidLimit = errors.New("ratelimit: invalid limit")
)
