package easemobsim

import "github.com/herald-dispatch/herald/providers/simkit"

// Faults are simkit's: see simkit.Fault. A FaultStatus without a Body
// answers with Easemob's documented error body for the status (401
// auth_bad_access_token, 429 reach_limit, 403 LimitException, 5xx a server
// error).
type (
	// Fault is a failure to inject into upcoming calls.
	Fault = simkit.Fault
	// FaultKind is what an injected fault does to a call.
	FaultKind = simkit.FaultKind
)

// The fault kinds, as in simkit.
const (
	FaultLatency   = simkit.FaultLatency
	FaultStatus    = simkit.FaultStatus
	FaultHang      = simkit.FaultHang
	FaultDrop      = simkit.FaultDrop
	FaultDropAfter = simkit.FaultDropAfter
)
