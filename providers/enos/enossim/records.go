package enossim

import (
	"encoding/json"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Record is one push of one message to one user: what a user saw pop up.
// Its JSON (the /_sim/records control endpoint) is snake_case like
// simkit.Call and every simulator's Record.
type Record struct {
	MessageID string `json:"message_id"`
	// User is the user pushed to; "" is every user of an OU whose users
	// Options did not list (targetType 0).
	User string `json:"user"`
	// New is true when this call created the message.
	New bool      `json:"new"`
	At  time.Time `json:"at"`
}

// Call is one request, accepted or not (simkit's record of calls).
type Call = simkit.Call

// Message is a notice message the simulated OU holds.
type Message struct {
	ID string `json:"message_id"`
	// DTO is the message as the call that created it sent it; later
	// calls never change it.
	DTO json.RawMessage `json:"dto"`
	// Received lists the users it was pushed to, in no order.
	Received []string `json:"received"`
}

// Messages returns the messages the OU holds, in creation order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, id := range s.order {
		m := s.messages[id]
		got := make([]string, 0, len(m.received))
		for u := range m.received {
			got = append(got, u)
		}
		out = append(out, Message{ID: id, DTO: m.raw, Received: got})
	}
	return out
}

// Deliveries counts the pushes of each message to each user, by messageId
// then user: a count above 1 is a user who got a message twice.
func (s *Server) Deliveries() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, r := range s.Records() {
		if out[r.MessageID] == nil {
			out[r.MessageID] = map[string]int{}
		}
		out[r.MessageID][r.User]++
	}
	return out
}

func newRequestID() string { return simkit.RandomUUID() }
