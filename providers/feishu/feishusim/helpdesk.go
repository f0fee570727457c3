package feishusim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Record is one execute_send the simulator accepted, as it received it.
type Record struct {
	NotificationID string `json:"notification_id"`
	SendAt         string `json:"send_at"`
	// UserToken is the user_access_token the call carried; it was valid
	// when the call arrived.
	UserToken string `json:"user_token"`
	// Helpdesk is the helpdesk id the X-Lark-Helpdesk-Authorization
	// header named (checked against the helpdesk token).
	Helpdesk string    `json:"helpdesk"`
	At       time.Time `json:"at"`
}

// Call is one request, accepted or not (simkit's record of calls).
type Call = simkit.Call

// Received returns the accepted execute_sends, oldest first.
func (s *Server) Received() []Record { return s.Records() }

// executeSend answers POST /open-apis/helpdesk/v1/notifications/{id}/execute_send.
// The order of checks is the gateway's, then the helpdesk's: the token,
// the rate limit, the helpdesk header, the notification, the body.
func (s *Server) executeSend(w http.ResponseWriter, r *http.Request, id string) {
	token := r.Header.Get("Authorization")
	switch subj, state := s.bearer(r); {
	case state == "":
		s.fail(w, r, http.StatusBadRequest, codeMissingToken, "Missing access token for authorization. Please make a request with token attached.")
		return
	case state == "expired" && subj == subjectUser:
		s.fail(w, r, http.StatusBadRequest, codeUserTokenExp, "The user access token has expired")
		return
	case state != "valid":
		s.fail(w, r, http.StatusBadRequest, codeUserTokenBad, "Invalid access token for authorization")
		return
	case subj != subjectUser:
		// execute_send takes only a user_access_token [V].
		s.fail(w, r, http.StatusBadRequest, codeTenantToken, "Invalid access token for authorization: this API supports user_access_token only")
		return
	}
	if !s.Allow(ExecuteSend) {
		reset := s.RetryIn(ExecuteSend)
		w.Header().Set("x-ogw-ratelimit-limit", strconv.Itoa(s.opts.ExecuteSendPerMinute))
		w.Header().Set("x-ogw-ratelimit-reset", strconv.Itoa(int((reset+time.Second-1)/time.Second)))
		s.fail(w, r, http.StatusTooManyRequests, 99991400, "request trigger frequency limit")
		return
	}
	helpdesk, ok := s.helpdesk(r)
	if !ok {
		s.fail(w, r, http.StatusUnauthorized, 154001, "Unauthorized, please check you have the correct access")
		return
	}
	switch {
	case !digits(id) || (s.exists != nil && !s.exists[id] && !s.pending[id]):
		s.fail(w, r, http.StatusNotFound, 154004, "Resource not found")
		return
	case s.pending[id]:
		s.fail(w, r, http.StatusMethodNotAllowed, 154005, "Method Forbidden")
		return
	}
	var body struct {
		SendAt json.RawMessage `json:"send_at"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	var sendAt string
	if err := json.Unmarshal(body.SendAt, &sendAt); err != nil || len(sendAt) != 13 || !digits(sendAt) {
		// send_at is a string of milliseconds [V: the seed's example];
		// a number, seconds or garbage is a bad request.
		s.fail(w, r, http.StatusBadRequest, 154000, "Bad request, please check your request body")
		return
	}
	s.Record(Record{NotificationID: id, SendAt: sendAt, UserToken: token[len("Bearer "):], Helpdesk: helpdesk, At: s.Now()})
	s.reply(w, http.StatusOK, map[string]any{"code": 0, "msg": "success", "data": map[string]any{}})
}

// helpdesk checks X-Lark-Helpdesk-Authorization: standard base64 of
// "helpdesk_id:helpdesk_token".
func (s *Server) helpdesk(r *http.Request) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Lark-Helpdesk-Authorization"))
	if err != nil {
		return "", false
	}
	want := s.opts.HelpdeskID + ":" + s.opts.HelpdeskToken
	return s.opts.HelpdeskID, string(raw) == want
}

func digits(v string) bool {
	if v == "" {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
