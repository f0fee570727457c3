package dingtalksim

import (
	"encoding/json"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Record is one call the server accepted, as it received it.
type Record struct {
	Endpoint Endpoint
	// TaskID is the task the call created (Send) or named.
	TaskID  int64
	AgentID int64
	// UserIDs and DeptIDs are the recipient lists of a Send, split.
	UserIDs   []string
	DeptIDs   []int64
	ToAllUser bool
	// Msg is the msg object exactly as sent; MsgType its msgtype.
	Msg     json.RawMessage
	MsgType string
	// StatusValue and StatusBg are a status bar update's.
	StatusValue, StatusBg string
	// Body is the whole request body as sent.
	Body json.RawMessage
	At   time.Time
}

// Call is one request, accepted or not (simkit's record of calls).
type Call = simkit.Call
