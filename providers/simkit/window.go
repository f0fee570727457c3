package simkit

import (
	"maps"
	"sync"
	"time"
)

// Limit is at most N accepted calls in any window of length Per, the way
// providers state QPS limits ("1 call per second per app"). N < 0 means no
// limit; Per zero means one second.
type Limit struct {
	N   int
	Per time.Duration
}

// Windows enforces sliding-window limits per endpoint, exactly: a call is
// refused if N calls were accepted in the Per before it, counted from their
// arrival times, not from fixed buckets. Refused calls do not count, as
// providers count only what they serve. The zero value limits nothing. It
// is safe for concurrent use.
type Windows struct {
	// Now is the clock; nil means time.Now. Set it before first use.
	Now func() time.Time

	mu     sync.Mutex
	limits map[Endpoint]Limit
	hits   map[Endpoint][]time.Time
}

// Set changes ep's limit, keeping the calls already counted: lowering it
// while serving refuses calls at once if the window is already full.
func (w *Windows) Set(ep Endpoint, l Limit) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.limits == nil {
		w.limits = map[Endpoint]Limit{}
	}
	w.limits[ep] = l
}

// Limits returns the limits set, by endpoint.
func (w *Windows) Limits() map[Endpoint]Limit {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.limits)
}

// Allow admits one call to ep now, or refuses it if ep's window is full.
// An endpoint without a limit is always admitted.
func (w *Windows) Allow(ep Endpoint) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.limits[ep]
	if !ok || l.N < 0 {
		return true
	}
	per := l.Per
	if per <= 0 {
		per = time.Second
	}
	// Read the clock under the lock, so arrival times are in order.
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	hits := w.hits[ep]
	cut := 0
	for cut < len(hits) && !hits[cut].After(now.Add(-per)) {
		cut++
	}
	hits = hits[cut:]
	if w.hits == nil {
		w.hits = map[Endpoint][]time.Time{}
	}
	if len(hits) >= l.N {
		w.hits[ep] = hits
		return false
	}
	w.hits[ep] = append(hits, now)
	return true
}

// Reset forgets the calls counted; limits stay.
func (w *Windows) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.hits)
}
