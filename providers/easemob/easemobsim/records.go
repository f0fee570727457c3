package easemobsim

import (
	"encoding/json"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
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

// Call is one request, accepted or not (simkit's record of calls). Its At
// is the call's arrival time.
type Call = simkit.Call
