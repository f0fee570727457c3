// Package dingtalksim is a stand-in for DingTalk's work-notification server
// API (oapi.dingtalk.com), faithful to its documentation (seed 002 and
// providers.md section C) rather than to Herald's client: it parses requests
// with its own types, so a client that sends the wrong body, query or field
// fails a test instead of passing one.
//
// It issues access tokens (the same token, extended, while one is valid),
// answers every call with DingTalk's envelope {errcode, errmsg, request_id}
// and HTTP 200, validates each endpoint (agent_id, the comma-string
// recipient lists and their per-call limits, msg ≤ 2048 bytes and each
// msgtype's required fields), enforces 20 calls/s per app per API (errcode
// 90018), and keeps the tasks it created: progress advances over
// TaskDuration, and the send result applies the per-user daily cap
// (143105), the same-content-same-user-same-day filter (143106) and
// unknown users (invalid list). Status bar updates and recalls work on
// known tasks only, recalls within 24 h.
//
// What every simulator shares comes from simkit, embedded in Server: fault
// injection, the record of calls, QPS windows, tokens, the clock and the
// /_sim/ control endpoints.
//
//	sim := dingtalksim.New(dingtalksim.Options{})
//	baseURL, err := sim.Start("127.0.0.1:0")
//	defer sim.Close()
//	// app key "demo-app-key", secret "demo-app-secret", agent_id 100001
//
// Behaviour the documentation does not pin down is marked [U].
package dingtalksim

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Defaults for Options left zero: obviously fake credentials.
const (
	DefaultAppKey    = "demo-app-key"
	DefaultAppSecret = "demo-app-secret"
	DefaultAgentID   = 100001
)

// Endpoint names one API call, for limits, faults and records.
type Endpoint = simkit.Endpoint

// The simulated endpoints.
const (
	GetToken  Endpoint = "gettoken"   // GET /gettoken
	Send      Endpoint = "send"       // POST …/asyncsend_v2
	Progress  Endpoint = "progress"   // POST …/getsendprogress
	Result    Endpoint = "result"     // POST …/getsendresult
	StatusBar Endpoint = "status_bar" // POST …/status_bar/update
	Recall    Endpoint = "recall"     // POST …/recall
)

var paths = map[string]Endpoint{
	"/gettoken": GetToken,
	"/topapi/message/corpconversation/asyncsend_v2":      Send,
	"/topapi/message/corpconversation/getsendprogress":   Progress,
	"/topapi/message/corpconversation/getsendresult":     Result,
	"/topapi/message/corpconversation/status_bar/update": StatusBar,
	"/topapi/message/corpconversation/recall":            Recall,
}

// Options configure a Server. The zero value simulates the documented
// defaults for one app.
type Options struct {
	AppKey    string // default DefaultAppKey
	AppSecret string // default DefaultAppSecret
	AgentID   int64  // default DefaultAgentID

	// TokenTTL is an access_token's life: 7200 s unless set.
	TokenTTL time.Duration
	// Now is the clock for tokens, QPS windows, task progress, the 24 h
	// windows and the day quotas are counted in. Nil means time.Now.
	Now func() time.Time
	// QPS is the calls per second each API takes per app: 20 unless set,
	// negative for no limit.
	QPS int

	// TaskDuration is how long a send task takes to reach 100 % [U]:
	// one second unless set.
	TaskDuration time.Duration
	// DailyCap is how many messages one user may get from the app a day
	// (143105 beyond it): 500 unless set.
	DailyCap int
	// Zone is the time zone days are counted in: UTC+8 unless set [U].
	Zone *time.Location

	// Users are the organisation's users, for to_all_user and to tell
	// unknown ids. Nil: every user id exists except UnknownUsers.
	Users []string
	// UnknownUsers never exist: they land in invalid_user_id_list.
	UnknownUsers []string
	// Depts maps department ids to their users. A department not in it
	// is invalid (invalid_dept_id_list). Nil: every department is valid
	// and empty.
	Depts map[int64][]string
	// FailedUsers are sent to but fail (failed_user_id_list).
	FailedUsers []string
	// ReadUsers read every notice at once (read_user_id_list); other
	// recipients stay unread.
	ReadUsers []string
	// Prohibited lists words whose presence in msg answers 1430002
	// (prohibited content).
	Prohibited []string

	// MaxRecords bounds the records and calls kept (see simkit.Log).
	MaxRecords int
}

// Server is a simulated DingTalk app. It is an http.Handler; Start serves it
// on a loopback port of its own. The embedded Kit gives it Start, URL,
// Shutdown, Close, Inject, Calls, Records, RevokeTokens, TokensIssued,
// Reset and the control endpoints.
type Server struct {
	*simkit.Kit[Record]

	opts Options

	mu      sync.Mutex
	token   string // the app's current token, handed back while valid
	tasks   map[int64]*task
	lastID  int64
	perDay  map[string]int  // user|day -> messages
	content map[string]bool // user|day|content -> sent
}

// New returns a simulator with opts, defaults filled in.
func New(opts Options) *Server {
	if opts.AppKey == "" {
		opts.AppKey = DefaultAppKey
	}
	if opts.AppSecret == "" {
		opts.AppSecret = DefaultAppSecret
	}
	if opts.AgentID == 0 {
		opts.AgentID = DefaultAgentID
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 7200 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QPS == 0 {
		opts.QPS = 20
	}
	if opts.TaskDuration == 0 {
		opts.TaskDuration = time.Second
	}
	if opts.DailyCap == 0 {
		opts.DailyCap = 500
	}
	if opts.Zone == nil {
		opts.Zone = time.FixedZone("CST", 8*60*60)
	}
	limits := map[Endpoint]simkit.Limit{}
	for _, ep := range paths {
		limits[ep] = simkit.Limit{N: opts.QPS, Per: time.Second}
	}
	s := &Server{opts: opts}
	s.reset()
	s.Kit = simkit.New[Record](simkit.Config{
		Route:   func(r *http.Request) Endpoint { return paths[strings.TrimRight(r.URL.Path, "/")] },
		Handler: http.HandlerFunc(s.serve),
		FaultReply: func(w http.ResponseWriter, r *http.Request, status int) {
			e := errInvalidParam("injected fault")
			switch {
			case status == http.StatusTooManyRequests:
				e = errQPS()
			case status >= 500:
				e = errBusy()
			}
			reply(w, r, status, e)
		},
		OnReset:    s.reset,
		Now:        opts.Now,
		Limits:     limits,
		MaxRecords: opts.MaxRecords,
	})
	return s
}

func (s *Server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = map[int64]*task{}
	s.perDay = map[string]int{}
	s.content = map[string]bool{}
}

// Received returns the accepted calls, oldest first.
func (s *Server) Received() []Record { return s.Records() }

// Sends returns the accepted asyncsend_v2 calls.
func (s *Server) Sends() []Record { return s.recordsOf(Send) }

func (s *Server) recordsOf(ep Endpoint) []Record {
	var out []Record
	for _, r := range s.Records() {
		if r.Endpoint == ep {
			out = append(out, r)
		}
	}
	return out
}

// CallsTo counts the calls to ep (answered or not).
func (s *Server) CallsTo(ep Endpoint) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Endpoint == ep {
			n++
		}
	}
	return n
}

// serve answers one call the way DingTalk would, once the Kit has applied
// any fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ep, ok := paths[strings.TrimRight(r.URL.Path, "/")]
	if !ok {
		reply(w, r, http.StatusNotFound, apiError{Code: 404, Msg: "not found"})
		return
	}
	want := http.MethodPost
	if ep == GetToken {
		want = http.MethodGet
	}
	if r.Method != want {
		reply(w, r, http.StatusMethodNotAllowed, apiError{Code: 405, Msg: "method " + r.Method + " not allowed"})
		return
	}
	if !s.Allow(ep) {
		reply(w, r, http.StatusOK, errQPS())
		return
	}
	if ep == GetToken {
		s.getToken(w, r)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	switch ep {
	case Send:
		s.send(w, r, body)
	case Progress:
		s.progress(w, r, body)
	case Result:
		s.result(w, r, body)
	case StatusBar:
		s.statusBar(w, r, body)
	case Recall:
		s.recall(w, r, body)
	}
}
