package dingtalksim

import (
	"encoding/json"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Record is one call the server accepted, as it received it. Its JSON (the
// /_sim/records control endpoint) is snake_case like simkit.Call.
type Record struct {
	Endpoint Endpoint `json:"endpoint"`
	// TaskID is the task the call created (Send) or named.
	TaskID  int64 `json:"task_id"`
	AgentID int64 `json:"agent_id"`
	// UserIDs and DeptIDs are the recipient lists of a Send, split.
	UserIDs   []string `json:"user_ids,omitempty"`
	DeptIDs   []int64  `json:"dept_ids,omitempty"`
	ToAllUser bool     `json:"to_all_user,omitempty"`
	// Msg is the msg object exactly as sent; MsgType its msgtype.
	Msg     json.RawMessage `json:"msg,omitempty"`
	MsgType string          `json:"msg_type,omitempty"`
	// StatusValue and StatusBg are a status bar update's.
	StatusValue string `json:"status_value,omitempty"`
	StatusBg    string `json:"status_bg,omitempty"`
	// Body is the whole request body as sent.
	Body json.RawMessage `json:"body,omitempty"`
	At   time.Time       `json:"at"`
}

// Call is one request, accepted or not (simkit's record of calls).
type Call = simkit.Call
