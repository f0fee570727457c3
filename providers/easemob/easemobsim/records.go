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

// Received returns every accepted notification, oldest first.
func (s *Server) Received() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Calls returns every call, including rejected ones, oldest first.
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
	clear(s.hits)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) accept(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, r)
}
