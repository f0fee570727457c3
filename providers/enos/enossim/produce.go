package enossim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// produceRequest is the produce call's body, parsed with the simulator's
// own types: a field of the wrong JSON type fails the call with 31400.
type produceRequest struct {
	Messages []json.RawMessage `json:"messages"`
}

// messageDTO is one MessageProduceDTO as documented (seed 003). Pointers
// tell "absent" from zero.
type messageDTO struct {
	MessageID      string   `json:"messageId"`
	MessageType    *number  `json:"messageType"`
	AppID          string   `json:"appId"`
	AppName        *i18n    `json:"appName"`
	URL            string   `json:"url"`
	LinkedAppID    string   `json:"linkedAppId"`
	LinkedMenuCode string   `json:"linkedMenuCode"`
	LinkedStates   string   `json:"linkedStates"`
	Features       []i18n   `json:"features"`
	Body           *i18n    `json:"body"`
	Header         *i18n    `json:"header"`
	Tags           []i18n   `json:"tags"`
	TargetType     *number  `json:"targetType"`
	Targets        []string `json:"targets"`
}

// number is a JSON number, kept as sent. Unlike json.Number it refuses a
// quoted "1": seed 003 types messageType as a Number, and a client that
// sends a string must fail a test rather than pass on a lenient parser.
type number json.Number

func (n *number) UnmarshalJSON(b []byte) error {
	var v json.Number
	if len(b) > 0 && b[0] == '"' {
		return fmt.Errorf("must be a JSON number, got the string %s", b)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*n = number(v)
	return nil
}

func (n number) String() string { return string(n) }

// i18n is EnOS's internationalised text.
type i18n struct {
	DefaultValue string            `json:"defaultValue"`
	I18nValue    map[string]string `json:"i18nValue"`
}

// message is a notice message the OU holds.
type message struct {
	id         string
	raw        json.RawMessage // the DTO as first received: later content is ignored
	targetType int
	targets    []string
	received   map[string]bool // users pushed to; "" is "all users" when Users is nil
}

// produce creates and sends messages, all or nothing.
func (s *Server) produce(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.authenticate(w, r, body) {
		return
	}
	if !s.Allow(Produce) {
		s.fail(w, r, Produce, CodeTooMany, "too many requests")
		return
	}
	org := r.URL.Query().Get("orgId")
	if org == "" {
		s.fail(w, r, Produce, CodeBadRequest, "orgId is required")
		return
	}
	if org != s.opts.OrgID {
		s.fail(w, r, Produce, CodeForbidden, "the application has no access to OU "+org)
		return
	}
	var req produceRequest
	if err := strictDecode(body, &req); err != nil {
		s.fail(w, r, Produce, CodeBadRequest, "invalid request body: "+err.Error())
		return
	}
	switch n := len(req.Messages); {
	case n == 0:
		s.fail(w, r, Produce, CodeBadRequest, "messages is required")
		return
	case n > MaxMessages:
		s.fail(w, r, Produce, CodeBadRequest, fmt.Sprintf("at most %d messages per call, got %d", MaxMessages, n))
		return
	}
	dtos := make([]messageDTO, len(req.Messages))
	for i, raw := range req.Messages {
		if err := strictDecode(raw, &dtos[i]); err != nil {
			s.fail(w, r, Produce, CodeBadRequest, fmt.Sprintf("messages[%d]: %v", i, err))
			return
		}
	}

	// Validate every message before storing any: one bad message fails
	// the whole call. The lock spans both, so a concurrent call cannot
	// create a messageId between the check and the store.
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]int{}
	for i := range dtos {
		d := &dtos[i]
		if first, dup := seen[d.MessageID]; dup && d.MessageID != "" {
			s.fail(w, r, Produce, CodeBadRequest, fmt.Sprintf("messages[%d].messageId duplicates messages[%d]", i, first))
			return
		}
		seen[d.MessageID] = i
		if _, exists := s.messages[d.MessageID]; exists {
			// Only sent: content fields are ignored, so not checked.
			if err := checkTargets(d.Targets); err != nil {
				s.fail(w, r, Produce, CodeBadRequest, fmt.Sprintf("messages[%d].%v", i, err))
				return
			}
			continue
		}
		if err := checkNew(d); err != nil {
			s.fail(w, r, Produce, CodeBadRequest, fmt.Sprintf("messages[%d].%v", i, err))
			return
		}
	}
	now := s.Now()
	for i := range dtos {
		d := &dtos[i]
		m, exists := s.messages[d.MessageID]
		if !exists {
			tt, _ := json.Number(*d.TargetType).Int64()
			m = &message{id: d.MessageID, raw: req.Messages[i], targetType: int(tt), targets: d.Targets, received: map[string]bool{}}
			s.messages[m.id] = m
			s.order = append(s.order, m.id)
		}
		for _, u := range s.recipients(m, d, exists) {
			m.received[u] = true
			s.Record(Record{MessageID: m.id, User: u, New: !exists, At: now})
		}
	}
	writeJSON(w, http.StatusOK, envelope{Code: 0, Msg: "OK", RequestID: newRequestID(), Data: true})
}

// checkNew applies the rules for a message the OU does not hold yet.
func checkNew(d *messageDTO) error {
	if d.MessageID == "" {
		return fmt.Errorf("messageId is required")
	}
	if d.MessageType == nil {
		return fmt.Errorf("messageType is required for a new message")
	}
	if d.MessageType.String() != "1" {
		return fmt.Errorf("messageType must be 1 (to-do), got %s", d.MessageType)
	}
	if d.AppID == "" && d.AppName == nil {
		return fmt.Errorf("appId or, for an external app, appName is required")
	}
	texts := map[string]*i18n{"appName": d.AppName, "body": d.Body, "header": d.Header}
	for _, name := range []string{"appName", "body", "header"} {
		if t := texts[name]; t != nil && !t.ok() {
			return fmt.Errorf("%s needs default or en_US", name)
		}
	}
	for i, t := range d.Features {
		if !t.ok() {
			return fmt.Errorf("features[%d] needs default or en_US", i)
		}
	}
	for i, t := range d.Tags {
		if !t.ok() {
			return fmt.Errorf("tags[%d] needs default or en_US", i)
		}
	}
	if d.TargetType == nil {
		return fmt.Errorf("targetType is required for a new message")
	}
	switch d.TargetType.String() {
	case "0":
	case "1":
		if len(d.Targets) == 0 {
			return fmt.Errorf("targets is required when targetType is 1")
		}
	default:
		return fmt.Errorf("targetType must be 0 or 1, got %s", d.TargetType)
	}
	return checkTargets(d.Targets)
}

func checkTargets(targets []string) error {
	for i, t := range targets {
		if t == "" {
			return fmt.Errorf("targets[%d] is empty", i)
		}
	}
	return nil
}

func (t i18n) ok() bool { return t.DefaultValue != "" || t.I18nValue["en_US"] != "" }

// recipients are the users m is pushed to by this call: the call's targets
// for an existing message that names some, else the message's own; users
// unknown to the OU, foreign, or already pushed to are dropped silently.
func (s *Server) recipients(m *message, d *messageDTO, exists bool) []string {
	targetType, targets := m.targetType, m.targets
	if exists && len(d.Targets) > 0 {
		targetType, targets = 1, d.Targets
	}
	var out []string
	add := func(u string) {
		if !m.received[u] && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	if targetType == 0 {
		if s.users == nil {
			add("") // every user of an OU whose users are not listed
			return out
		}
		for _, u := range s.opts.Users {
			if !s.foreign[u] {
				add(u)
			}
		}
		return out
	}
	for _, u := range targets {
		if s.foreign[u] || (s.users != nil && !s.users[u]) {
			continue
		}
		add(u)
	}
	return out
}

// strictDecode parses one JSON value into v, refusing trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
