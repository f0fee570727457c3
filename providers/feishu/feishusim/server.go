// Package feishusim is a stand-in for Feishu's open platform as Herald uses
// it: the app and tenant token endpoints, the OIDC user token refresh with
// refresh tokens that rotate and are single-use, and helpdesk
// notification execute_send. It follows providers.md section A and the
// execute_send seed, not Herald's client: requests are parsed with its own
// types, so a client that sends the wrong path, header or body fails a
// test instead of passing one.
//
// What every simulator shares (faults, the record of calls, sliding-window
// limits, app/user token issuing and expiry, the /_sim/ control endpoints,
// the server's lifecycle) comes from simkit, embedded in Server. Feishu's
// own control endpoints, for a simulator run as a process, are
//
//	POST /_feishusim/authorize        a user authorizes the app: {"refresh_token": "…"}
//	POST /_feishusim/refresh/revoke   revoke every refresh token outstanding
//	GET  /_feishusim/refresh          the refresh log ([]Redemption)
//
// Behaviour the documentation does not pin down is marked [U].
package feishusim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Defaults for Options left zero: obviously fake credentials.
const (
	DefaultAppID         = "cli_heralddemo0001"
	DefaultAppSecret     = "demo-app-secret"
	DefaultHelpdeskID    = "6939771743531696147"
	DefaultHelpdeskToken = "demo-helpdesk-token"
)

// Endpoint names one API call, for limits, faults and records.
type Endpoint = simkit.Endpoint

// The simulated endpoints.
const (
	AppToken    Endpoint = "app_token"    // POST /open-apis/auth/v3/app_access_token/internal
	TenantToken Endpoint = "tenant_token" // POST /open-apis/auth/v3/tenant_access_token/internal
	Refresh     Endpoint = "refresh"      // POST /open-apis/authen/v1/oidc/refresh_access_token
	ExecuteSend Endpoint = "execute_send" // POST /open-apis/helpdesk/v1/notifications/{id}/execute_send
)

// Token subjects, as the Kit's tokens record whose they are.
const (
	subjectApp    = "app"
	subjectTenant = "tenant"
	subjectUser   = "user"
)

// Options configure a Server. The zero value simulates the documented
// behaviour for the default app and helpdesk.
type Options struct {
	AppID, AppSecret          string // defaults DefaultAppID, DefaultAppSecret
	HelpdeskID, HelpdeskToken string // defaults DefaultHelpdeskID, DefaultHelpdeskToken

	// AppTokenTTL is an app or tenant token's life: 2 h unless set. A
	// token with at least 30 min left is handed out again.
	AppTokenTTL time.Duration
	// UserTokenTTL is a user token's life: 2 h unless set. Short in tests.
	UserTokenTTL time.Duration
	// RefreshTokenTTL is a refresh token's life: 30 days unless set.
	RefreshTokenTTL time.Duration

	// ExecuteSendPerMinute is execute_send's limit per app: 10 a minute as
	// documented unless set; negative means none.
	ExecuteSendPerMinute int
	// Notifications are the notification ids that exist (approved, ready
	// to send). Nil means every numeric id exists.
	Notifications []string
	// NotApproved are ids that exist but may not be sent yet: 405/154005.
	NotApproved []string

	// Now is the clock for tokens and limits. Nil means time.Now.
	Now func() time.Time
	// MaxRecords bounds records and calls kept; zero means simkit's
	// default.
	MaxRecords int
}

// Server is a simulated Feishu tenant with one app and one helpdesk. It is
// an http.Handler; Start serves it on a loopback port of its own.
type Server struct {
	*simkit.Kit[Record]

	opts Options

	mu        sync.Mutex
	refresh   map[string]*refreshToken
	redeemed  []Redemption
	appTok    map[string]issuedApp // subject -> current token
	exists    map[string]bool
	pending   map[string]bool
	requestNo int
}

type issuedApp struct {
	token   string
	expires time.Time
}

// New returns a simulator with opts, defaults filled in.
func New(opts Options) *Server {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.AppID, DefaultAppID)
	def(&opts.AppSecret, DefaultAppSecret)
	def(&opts.HelpdeskID, DefaultHelpdeskID)
	def(&opts.HelpdeskToken, DefaultHelpdeskToken)
	if opts.AppTokenTTL == 0 {
		opts.AppTokenTTL = 2 * time.Hour
	}
	if opts.UserTokenTTL == 0 {
		opts.UserTokenTTL = 2 * time.Hour
	}
	if opts.RefreshTokenTTL == 0 {
		opts.RefreshTokenTTL = 30 * 24 * time.Hour
	}
	if opts.ExecuteSendPerMinute == 0 {
		opts.ExecuteSendPerMinute = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts, refresh: map[string]*refreshToken{}, appTok: map[string]issuedApp{},
		pending: set(opts.NotApproved),
	}
	if opts.Notifications != nil {
		s.exists = set(opts.Notifications)
	}
	s.Kit = simkit.New[Record](simkit.Config{
		Route:   route,
		Handler: http.HandlerFunc(s.serve),
		FaultReply: func(w http.ResponseWriter, r *http.Request, status int) {
			s.fail(w, r, status, codeForStatus(status), http.StatusText(status))
		},
		Now:        opts.Now,
		Limits:     map[Endpoint]simkit.Limit{ExecuteSend: {N: opts.ExecuteSendPerMinute, Per: time.Minute}},
		MaxRecords: opts.MaxRecords,
		MintToken:  func() string { return "t-g" + simkit.RandomHex(20) },
	})
	return s
}

func set(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

var notificationPath = regexp.MustCompile(`^/open-apis/helpdesk/v1/notifications/([^/]+)/execute_send$`)

func route(r *http.Request) Endpoint {
	switch p := r.URL.Path; {
	case p == "/open-apis/auth/v3/app_access_token/internal":
		return AppToken
	case p == "/open-apis/auth/v3/tenant_access_token/internal":
		return TenantToken
	case p == "/open-apis/authen/v1/oidc/refresh_access_token":
		return Refresh
	case notificationPath.MatchString(p):
		return ExecuteSend
	}
	return ""
}

// serve answers one call the way Feishu would, once the Kit has applied
// any fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.control(w, r)
		return
	}
	ep := route(r)
	if ep == "" {
		// The gateway's answer to an unknown path [U].
		s.fail(w, r, http.StatusNotFound, 404, "404 page not found")
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, r, http.StatusMethodNotAllowed, 405, "method not allowed")
		return
	}
	switch ep {
	case AppToken:
		s.appToken(w, r, subjectApp, "app_access_token")
	case TenantToken:
		s.appToken(w, r, subjectTenant, "tenant_access_token")
	case Refresh:
		s.refreshToken(w, r)
	case ExecuteSend:
		s.executeSend(w, r, notificationPath.FindStringSubmatch(r.URL.Path)[1])
	}
}

// reply writes Feishu's envelope. Every reply carries a log id, which
// Feishu's support asks for.
func (s *Server) reply(w http.ResponseWriter, status int, body any) {
	s.mu.Lock()
	s.requestNo++
	n := s.requestNo
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("X-Tt-Logid") == "" { // an injected fault may bring its own
		w.Header().Set("X-Tt-Logid", s.Now().UTC().Format("20060102150405")+simkit.RandomHex(6)+"-"+itoa(n))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// fail answers {code, msg, error:{log_id}} with status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code int, msg string) {
	simkit.Note(r, itoa(code))
	s.reply(w, status, map[string]any{"code": code, "msg": msg, "error": map[string]string{"log_id": simkit.RandomHex(8)}})
}

// codeForStatus is the documented code for an injected status fault.
func codeForStatus(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 154000
	case http.StatusUnauthorized:
		return 154001
	case http.StatusForbidden:
		return 154003
	case http.StatusNotFound:
		return 154004
	case http.StatusMethodNotAllowed:
		return 154005
	case http.StatusTooManyRequests:
		return 99991400
	}
	return 155000
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
