package simkit

import "time"

// RetryIn is how long until ep's window admits a call again: zero if it
// would admit one now. A simulator refusing a call puts it in the
// provider's "try again in" header (Feishu's x-ogw-ratelimit-reset).
func (w *Windows) RetryIn(ep Endpoint) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.limits[ep]
	if !ok || l.N < 0 {
		return 0
	}
	per := l.Per
	if per <= 0 {
		per = time.Second
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	var live []time.Time
	for _, t := range w.hits[ep] {
		if t.After(now.Add(-per)) {
			live = append(live, t)
		}
	}
	if len(live) < l.N {
		return 0
	}
	// The call N back from the newest must leave the window first.
	return live[len(live)-l.N].Add(per).Sub(now)
}

// RetryIn is how long until ep's limit admits a call again (see
// Windows.RetryIn).
func (k *Kit[R]) RetryIn(ep Endpoint) time.Duration { return k.limits.RetryIn(ep) }
