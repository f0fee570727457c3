package simkit

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a call.
type FaultKind int

const (
	// FaultLatency waits Delay, then lets the call be handled normally.
	FaultLatency FaultKind = iota + 1
	// FaultStatus answers with Status, Header and Body instead of handling
	// the call. An empty Body gets the simulator's documented error reply
	// for the status (Config.FaultReply).
	FaultStatus
	// FaultHang holds the call without answering until the client gives up
	// or the server shuts down: a timeout, from the client's side.
	FaultHang
	// FaultDrop closes the connection without handling or answering the
	// call.
	FaultDrop
	// FaultDropAfter handles the call (it is recorded, a notification is
	// accepted), then closes the connection without the reply: the client
	// cannot tell whether the provider acted, the "in doubt" case.
	FaultDropAfter
)

var faultNames = map[FaultKind]string{
	FaultLatency:   "latency",
	FaultStatus:    "status",
	FaultHang:      "hang",
	FaultDrop:      "drop",
	FaultDropAfter: "drop_after",
}

func (k FaultKind) String() string {
	if k == 0 {
		return "none"
	}
	if s, ok := faultNames[k]; ok {
		return s
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// MarshalText writes the kind's name, as the control endpoints use it.
func (k FaultKind) MarshalText() ([]byte, error) {
	if _, ok := faultNames[k]; !ok && k != 0 {
		return nil, fmt.Errorf("simkit: unknown fault kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name: latency, status, hang, drop or
// drop_after.
func (k *FaultKind) UnmarshalText(b []byte) error {
	if string(b) == "none" {
		*k = 0
		return nil
	}
	for kind, name := range faultNames {
		if name == string(b) {
			*k = kind
			return nil
		}
	}
	return fmt.Errorf("simkit: fault kind %q is not one of latency, status, hang, drop, drop_after", b)
}

// Fault is a failure to inject into upcoming calls.
type Fault struct {
	Kind FaultKind
	// Endpoint limits the fault to one endpoint; empty means any endpoint
	// (never a request that matched none).
	Endpoint Endpoint
	// Count is how many calls the fault affects; zero means every call
	// until it is cleared.
	Count int

	Delay  time.Duration // FaultLatency
	Status int           // FaultStatus; zero means 500
	Body   string        // FaultStatus: raw reply body
	Header http.Header   // FaultStatus: extra headers, e.g. Retry-After
}

// Faults is a queue of injected faults. The zero value holds none. It is
// safe for concurrent use.
type Faults struct {
	mu   sync.Mutex
	list []*Fault
}

// Inject adds f. Faults apply in the order they were injected, one per
// call: a call takes the first fault that matches its endpoint and has calls
// left.
func (fs *Faults) Inject(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, &f)
}

// Clear removes every fault.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = nil
}

// List returns the faults that still have calls left, with their remaining
// counts.
func (fs *Faults) List() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, len(fs.list))
	for i, f := range fs.list {
		out[i] = *f
	}
	return out
}

// Take returns the fault for the next call to ep, using up one of its
// calls, or false if none applies.
func (fs *Faults) Take(ep Endpoint) (Fault, bool) {
	if ep == "" {
		return Fault{}, false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.list {
		if f.Endpoint != "" && f.Endpoint != ep {
			continue
		}
		taken := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				fs.list = append(fs.list[:i:i], fs.list[i+1:]...)
			}
		}
		return taken, true
	}
	return Fault{}, false
}
