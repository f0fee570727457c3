package easemobsim

import (
	"encoding/json"
	"slices"
	"time"
)

// Record is one notification the server accepted, as it received it.
type Record struct {
	Endpoint Endpoint
	// Targets are the user ids pushed to (sync and async: the one in the
	// path), or the label for PushLabel; nil for PushTask.
	Targets []string
	// Strategy is the strategy sent, nil when the body had none.
	Strategy *int
	// PushMessage is the pushMessage object exactly as sent.
	PushMessage json.RawMessage
	// StartDate is the startDate sent, "" when none.
	StartDate string
	// TaskID is the created task's id, for PushLabel and PushTask.
	TaskID string
	// Body is the whole request body as sent.
	Body json.RawMessage
	// Results are the per-target pushStatus values push/sync answered
	// (SUCCESS, FAIL, ERROR); nil for other endpoints.
	Results map[string]string
	At      time.Time
}

// Call is one request, accepted or not.
type Call struct {
	// Endpoint is "" for a path that matched none.
	Endpoint Endpoint
	Method   string
	Path     string
	// Status is the HTTP status answered; 0 if the call was dropped, hung
	// until the client left, or abandoned during injected latency.
	Status int
	// Error is the "error" code answered, "fault" for an injected one.
	Error string
	At    time.Time
}

// Received returns the accepted notifications, oldest first. The oldest are
// dropped once there are twice Options.MaxRecords.
func (s *Server) Received() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Calls returns the calls, including rejected ones, oldest first. The
// oldest are dropped once there are twice Options.MaxRecords.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Reset forgets records, calls, faults, QPS windows and tasks. Issued tokens
// stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = nil
	s.calls = nil
	s.faults = nil
	s.tasks = nil
	s.issued = 0
	clear(s.hits)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = keep(append(s.calls, c), s.opts.MaxRecords)
}

func (s *Server) accept(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = keep(append(s.received, r), s.opts.MaxRecords)
}

// keep trims list to its newest max entries once it holds twice that, so
// trimming costs O(1) per append on average.
func keep[T any](list []T, max int) []T {
	if len(list) <= 2*max {
		return list
	}
	return append([]T(nil), list[len(list)-max:]...)
}
