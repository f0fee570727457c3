package ratelimit

import (
	"fmt"
	"time"
)

// Limit is a rate: Rate events per Period, with up to Burst of them at once.
//
// The rate limiter spaces events Period/Rate apart on average and lets Burst
// of them through back to back after a quiet spell. A zero Burst means 1: a
// steady pace with no bunching.
//
// A burst can make the limiter admit more than Rate events in some windows
// of length Period: with Burst = Rate, up to 2*Rate-1 (a full burst, then the
// steady trickle as it refills). If a provider counts requests over a rolling
// period and rejects the excess, give the Limit a Burst of 1, or use Window,
// which never admits more than N in any rolling period.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerSecond is rate events a second, all of which may come at once.
func PerSecond(rate int) Limit { return Limit{Rate: rate, Period: time.Second, Burst: rate} }

// PerMinute is rate events a minute, all of which may come at once.
func PerMinute(rate int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: rate} }

// PerHour is rate events an hour, all of which may come at once.
func PerHour(rate int) Limit { return Limit{Rate: rate, Period: time.Hour, Burst: rate} }

// Interval is the average spacing between events, Period/Rate.
func (l Limit) Interval() time.Duration {
	if l.Rate <= 0 {
		return 0
	}
	return l.Period / time.Duration(l.Rate)
}

func (l Limit) String() string {
	return fmt.Sprintf("%d per %s (burst %d)", l.Rate, l.Period, l.burst())
}

func (l Limit) burst() int {
	if l.Burst == 0 {
		return 1
	}
	return l.Burst
}

// check validates the limit for a cost of n and returns the effective burst.
func (l Limit) check(n int) (int, error) {
	burst := l.burst()
	switch {
	case l.Rate <= 0 || l.Period < time.Microsecond || burst < 0:
		return 0, fmt.Errorf("%w: %s", ErrInvalidLimit, l)
	case n < 0 || n > burst:
		return 0, fmt.Errorf("%w: cost %d with %s", ErrInvalidLimit, n, l)
	}
	return burst, nil
}
