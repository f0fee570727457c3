package simkit

import (
	"slices"
	"sync"
	"time"
)

// DefaultMaxRecords bounds a Log whose Max is zero.
const DefaultMaxRecords = 10000

// Log is an append-only list that keeps the newest entries: once it holds
// twice Max, the oldest are dropped down to Max, so a long-running simulator
// (the demo) does not grow without bound and trimming costs O(1) per Add on
// average. The zero value is ready to use. It is safe for concurrent use.
type Log[T any] struct {
	// Max is how many entries are kept at least; zero means
	// DefaultMaxRecords. Set it before first use.
	Max int

	mu    sync.Mutex
	items []T
}

// Add appends v.
func (l *Log[T]) Add(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, v)
	max := l.Max
	if max <= 0 {
		max = DefaultMaxRecords
	}
	if len(l.items) > 2*max {
		l.items = append([]T(nil), l.items[len(l.items)-max:]...)
	}
}

// All returns a copy of the entries, oldest first.
func (l *Log[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// Len is the number of entries kept.
func (l *Log[T]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// Reset empties the log.
func (l *Log[T]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = nil
}

// Endpoint names one API call of a simulated provider ("push.sync",
// "token"); faults, limits and calls are per endpoint. "" is a request that
// matched no endpoint.
type Endpoint string

// Call is one request as the simulator saw it, accepted or not.
type Call struct {
	// Endpoint is "" for a path that matched none.
	Endpoint Endpoint `json:"endpoint"`
	Method   string   `json:"method"`
	Path     string   `json:"path"`
	// Status is the HTTP status the client received; 0 if it received
	// none (dropped, hung until it left, abandoned during injected latency,
	// or dropped after processing).
	Status int `json:"status"`
	// Error is the provider's error code the simulator answered with (see
	// Note), "" for a success.
	Error string `json:"error,omitempty"`
	// Fault is the injected fault that hit the call, 0 for none.
	Fault FaultKind `json:"fault,omitempty"`
	// At is when the call arrived, by the Kit's clock: limits are computed
	// from arrival times, so tests check them from these.
	At time.Time `json:"at"`
}
