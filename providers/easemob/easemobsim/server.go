// Package easemobsim is a stand-in for Easemob's push REST API, faithful to
// its documentation (seed 001 and providers.md section B) rather than to
// Herald's client: it parses requests with its own types, so a client that
// sends the wrong body, path or header fails a test instead of passing one.
//
// It issues and checks app tokens, validates bodies the way the real API
// does, answers with Easemob's envelopes and error bodies, enforces the
// per-endpoint QPS limits and the push-task caps, and records every accepted
// notification so a test can assert on exactly what was delivered.
//
// What every simulator shares comes from simkit, embedded in Server: fault
// injection per endpoint (latency, error statuses, hung requests, dropped
// connections, drops after processing), the record of calls, the
// sliding-window QPS limits, token issuing and revocation, the server's
// lifecycle, and the control endpoints under /_sim/ that let another
// process drive a simulator run by cmd/simulator (see simkit.Control).
//
//	sim := easemobsim.New(easemobsim.Options{})
//	baseURL, err := sim.Start("127.0.0.1:0")
//	defer sim.Close()
//	// point a client at baseURL with org "herald", app "demo",
//	// client id "demo-client-id", secret "demo-client-secret".
//
// Behaviour the documentation does not pin down is marked [U] and is
// configurable where a test might care.
package easemobsim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Defaults for Options left zero: obviously fake credentials.
const (
	DefaultOrgName      = "herald"
	DefaultAppName      = "demo"
	DefaultClientID     = "demo-client-id"
	DefaultClientSecret = "demo-client-secret"
)

// Endpoint names one API call, for limits, faults and records.
type Endpoint = simkit.Endpoint

// The simulated endpoints.
const (
	Token      Endpoint = "token"       // POST /{org}/{app}/token
	PushSync   Endpoint = "push.sync"   // POST /{org}/{app}/push/sync/{target}
	PushAsync  Endpoint = "push.async"  // POST /{org}/{app}/push/async/{target}
	PushSingle Endpoint = "push.single" // POST /{org}/{app}/push/single
	PushLabel  Endpoint = "push.label"  // POST /{org}/{app}/push/list/label
	PushTask   Endpoint = "push.task"   // POST /{org}/{app}/push/task
)

// Options configure a Server. The zero value simulates the documented
// defaults for org "herald", app "demo".
type Options struct {
	OrgName      string // default DefaultOrgName
	AppName      string // default DefaultAppName
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret

	// TokenTTL is the lifetime of an app token requested without a ttl.
	// Zero means 60 days, the console's documented default.
	TokenTTL time.Duration

	// Zone is the server's time zone, in which startDate is read. Nil
	// means UTC+8, Easemob's servers being in China [U].
	Zone *time.Location
	// Now is the simulator's clock for token expiry, startDate windows,
	// QPS windows and task caps. Nil means time.Now.
	Now func() time.Time

	// QPS overrides per-endpoint limits, in accepted calls per sliding
	// second. Missing endpoints keep the documented limit (DefaultQPS); a
	// negative value means unlimited.
	QPS map[Endpoint]int

	// TaskWindow and TasksPerWindow cap push tasks (label and all-users
	// pushes) created per rolling window: at most 3 per 5 minutes unless
	// set. A label task leaves the count when it finishes.
	TaskWindow     time.Duration
	TasksPerWindow int
	// MaxRunningTasks caps tasks not yet finished, counted from creation
	// (a scheduled task holds its slot while it waits): 3 unless set.
	MaxRunningTasks int
	// TaskDuration is how long a task runs after it starts (its startDate,
	// or its creation). Zero means one minute [U].
	TaskDuration time.Duration

	// NoBinding lists users without a push binding: push/sync to them
	// through a vendor channel answers pushStatus FAIL "no push binding".
	NoBinding []string
	// UnknownUsers lists users that do not exist: push/sync answers FAIL
	// "appUser not exists". Every other user exists and is bound.
	UnknownUsers []string
	// ErrorUsers lists users whose push fails on Easemob's side (a vendor
	// timeout): push/sync answers pushStatus ERROR.
	ErrorUsers []string
	// Labels maps label names to their users. Nil accepts any label; a
	// non-nil map rejects labels it does not hold [U].
	Labels map[string][]string

	// MaxBodyBytes is the largest body accepted; larger is HTTP 413.
	// Zero means 5 KB, as documented.
	MaxBodyBytes int
	// PushDisabled answers every push with 403 ServiceNotOpenException,
	// as for an app whose push service is not enabled.
	PushDisabled bool

	// MaxRecords bounds the Received records and Calls kept: when either reaches
	// twice this many, the oldest are dropped down to this many, so a
	// long-running simulator (the demo) does not grow without bound. Zero
	// means 10000.
	MaxRecords int

	// TaskID returns the id of each new push task. Nil makes
	// snowflake-style ids, which are larger than 2^53 like Easemob's.
	TaskID func() int64
}

// DefaultQPS is each endpoint's documented limit per AppKey. push/async has
// no documented limit of its own; it gets the REST default of 100/s [U].
func DefaultQPS() map[Endpoint]int {
	return map[Endpoint]int{
		Token:      300,
		PushSync:   1,
		PushAsync:  100,
		PushSingle: 10,
		PushLabel:  10,
		PushTask:   1,
	}
}

// Server is a simulated Easemob app. It is an http.Handler; Start serves it
// on a loopback port of its own. The embedded Kit gives it Start, Serve,
// URL, Shutdown, Close, Inject, ClearFaults, Faults, Calls, RevokeTokens,
// TokensIssued, Reset and the control endpoints.
type Server struct {
	*simkit.Kit[Record]

	opts        Options
	application string // the app's uuid, as the token endpoint reports it

	mu     sync.Mutex
	tasks  []task
	lastID int64
}

// New returns a simulator with opts, defaults filled in.
func New(opts Options) *Server {
	if opts.OrgName == "" {
		opts.OrgName = DefaultOrgName
	}
	if opts.AppName == "" {
		opts.AppName = DefaultAppName
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 60 * 24 * time.Hour
	}
	if opts.Zone == nil {
		opts.Zone = time.FixedZone("CST", 8*60*60)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	qps := DefaultQPS()
	for ep, n := range opts.QPS {
		qps[ep] = n
	}
	opts.QPS = qps
	limits := make(map[Endpoint]simkit.Limit, len(qps))
	for ep, n := range qps {
		limits[ep] = simkit.Limit{N: n, Per: time.Second}
	}
	if opts.TaskWindow == 0 {
		opts.TaskWindow = 5 * time.Minute
	}
	if opts.TasksPerWindow == 0 {
		opts.TasksPerWindow = 3
	}
	if opts.MaxRunningTasks == 0 {
		opts.MaxRunningTasks = 3
	}
	if opts.TaskDuration == 0 {
		opts.TaskDuration = time.Minute
	}
	if opts.MaxRecords == 0 {
		opts.MaxRecords = 10000
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 5 << 10
	}
	s := &Server{opts: opts, application: simkit.RandomUUID()}
	s.Kit = simkit.New[Record](simkit.Config{
		Route:   func(r *http.Request) Endpoint { ep, _, _ := route(r.URL); return ep },
		Handler: http.HandlerFunc(s.serve),
		FaultReply: func(w http.ResponseWriter, r *http.Request, status int) {
			c := &call{s: s, w: w, r: r, start: time.Now()}
			c.fail(status, errorForStatus(status))
		},
		OnReset: func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.tasks = nil
		},
		Now:        opts.Now,
		Limits:     limits,
		MaxRecords: opts.MaxRecords,
		// App tokens look like Easemob's: "YWMt" and base64.
		MintToken: func() string {
			return "YWMt" + strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(simkit.RandomHex(40))), "=")
		},
	})
	return s
}

// Received returns the accepted notifications, oldest first. The oldest are
// dropped once there are twice Options.MaxRecords.
func (s *Server) Received() []Record { return s.Records() }

// serve answers one call the way Easemob would, once the Kit has applied
// any fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{w: w, r: r, start: start, s: s}

	ep, target, ok := route(r.URL)
	c.ep = ep
	if !ok {
		c.fail(http.StatusNotFound, errURLInvalid())
		return
	}
	if r.Method != http.MethodPost {
		c.fail(http.StatusMethodNotAllowed, apiError{
			Error: "method_not_allowed", Exception: "javax.ws.rs.NotAllowedException", Description: "Request method '" + r.Method + "' not supported",
		})
		return
	}
	org, app := pathOrgApp(r.URL)
	if org != s.opts.OrgName || app != s.opts.AppName {
		c.fail(http.StatusNotFound, errAppNotFound(org, app, r.URL.Path))
		return
	}
	if ep == Token {
		s.token(c)
		return
	}
	if !s.authorized(c) {
		return
	}
	if s.opts.PushDisabled {
		c.fail(http.StatusForbidden, errServiceNotOpen())
		return
	}
	if !s.Allow(ep) {
		c.fail(http.StatusTooManyRequests, errReachLimit())
		return
	}
	body, ok := c.readBody()
	if !ok {
		return
	}
	switch ep {
	case PushSync, PushAsync:
		s.pushOne(c, ep, target, body)
	case PushSingle:
		s.pushSingle(c, body)
	case PushLabel:
		s.pushLabel(c, body)
	case PushTask:
		s.pushTask(c, body)
	}
}

// route maps a path to its endpoint and, for sync and async, the target
// user. Path segments are unescaped one by one, so a target holding an
// escaped '/' stays one segment.
func route(u *url.URL) (ep Endpoint, target string, ok bool) {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return "", "", false
		}
		segs[i] = v
	}
	if len(segs) < 3 || segs[0] == "" || segs[1] == "" {
		return "", "", false
	}
	rest := segs[2:]
	switch {
	case len(rest) == 1 && rest[0] == "token":
		return Token, "", true
	case len(rest) == 3 && rest[0] == "push" && rest[1] == "sync" && rest[2] != "":
		return PushSync, rest[2], true
	case len(rest) == 3 && rest[0] == "push" && rest[1] == "async" && rest[2] != "":
		return PushAsync, rest[2], true
	case len(rest) == 2 && rest[0] == "push" && rest[1] == "single":
		return PushSingle, "", true
	case len(rest) == 3 && rest[0] == "push" && rest[1] == "list" && rest[2] == "label":
		return PushLabel, "", true
	case len(rest) == 2 && rest[0] == "push" && rest[1] == "task":
		return PushTask, "", true
	}
	return "", "", false
}

func pathOrgApp(u *url.URL) (org, app string) {
	segs := strings.SplitN(strings.TrimPrefix(u.EscapedPath(), "/"), "/", 3)
	org, _ = url.PathUnescape(segs[0])
	if len(segs) > 1 {
		app, _ = url.PathUnescape(segs[1])
	}
	return org, app
}

func (s *Server) now() time.Time { return s.Now() }
