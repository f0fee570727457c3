package easemobsim

import (
	"encoding/json"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Record is one notification the server accepted, as it received it. Its
// JSON (the /_sim/records control endpoint) is snake_case like simkit.Call.
type Record struct {
	Endpoint Endpoint `json:"endpoint"`
	// Targets are the user ids pushed to (sync and async: the one in the
	// path), or the label for PushLabel; nil for PushTask.
	Targets []string `json:"targets"`
	// Strategy is the strategy sent, nil when the body had none.
	Strategy *int `json:"strategy,omitempty"`
	// PushMessage is the pushMessage object exactly as sent.
	PushMessage json.RawMessage `json:"push_message,omitempty"`
	// StartDate is the startDate sent, "" when none.
	StartDate string `json:"start_date,omitempty"`
	// TaskID is the created task's id, for PushLabel and PushTask.
	TaskID string `json:"task_id,omitempty"`
	// Body is the whole request body as sent.
	Body json.RawMessage `json:"body,omitempty"`
	// Results are the per-target pushStatus values push/sync answered
	// (SUCCESS, FAIL, ERROR); nil for other endpoints.
	Results map[string]string `json:"results,omitempty"`
	At      time.Time         `json:"at"`
}

// Call is one request, accepted or not (simkit's record of calls). Its At
// is the call's arrival time.
type Call = simkit.Call
