package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A stopping worker waits for the calls it has out, and refuses calls
// that had not begun when it started to stop: asynq has handed their
// tasks back, and another worker may run them.
func TestInflightDrainWaitsForCallsAndRefusesNewOnes(t *testing.T) {
	f := newInflight(nil, records{}, zerolog.Nop(), nil)
	out := &call{}
	if !f.add(out) {
		t.Fatal("add refused before the worker stopped")
	}
	drained := make(chan bool, 1)
	go func() { drained <- f.drain(time.Minute) }()
	// drain has started once it refuses new calls.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		draining := f.draining
		f.mu.Unlock()
		if draining {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("drain did not start")
		}
	}
	if f.add(&call{}) {
		t.Error("a call that had not begun was let go while the worker drained")
	}
	select {
	case <-drained:
		t.Fatal("drain returned with a call still out")
	default:
	}
	// Something tracked while a call is out is still waited for.
	if !f.track() {
		t.Fatal("track refused while a call was out")
	}
	f.remove(out)
	select {
	case <-drained:
		t.Fatal("drain returned with a release still being retried")
	default:
	}
	f.done()
	if clean := <-drained; !clean {
		t.Error("drain reported unclean though every call ended")
	}
	if f.track() {
		t.Error("track accepted after drain had nothing left to wait for")
	}
}

// A record that must land is written again until Redis takes it, and
// given up on only when the worker stops waiting.
func TestInflightRetryUntilWritten(t *testing.T) {
	f := newInflight(nil, records{}, zerolog.Nop(), nil)
	down := errors.New("connection refused")
	tries := 0
	if !f.retry("delivered", func(context.Context) error {
		if tries++; tries < 3 {
			return down
		}
		return nil
	}) {
		t.Fatal("retry gave up while the worker ran")
	}
	if tries != 3 {
		t.Errorf("written in %d tries, want 3 (two failures, then success)", tries)
	}
	f.cancel()
	if f.retry("delivered", func(context.Context) error { return down }) {
		t.Error("retry reported a write that never landed as written")
	}
}
