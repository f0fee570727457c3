// Package enossim is a stand-in for the EnOS API gateway and the application
// portal's notice-message API, faithful to their documentation (seed 003 and
// providers.md section D) rather than to Herald's client: it parses requests
// with its own types and checks every signature over the bytes it received,
// so a client that signs something other than what it sends fails a test.
//
// It issues apim access tokens (token/get returns the same token while it
// is valid, token/refresh replaces it), verifies apim-signature over the
// access token, the sorted query, the exact body bytes, the timestamp and
// the app secret, refuses a reused apim-timestamp with 1001, validates
// messages as documented, applies each call all or nothing, and keeps every
// message it created: an existing messageId is only sent (content changes
// ignored) and never pushed twice to the same user. Unknown or foreign user
// ids are dropped silently, as EnOS does. Every push to a user is recorded
// (Record), so a test can assert that each user got each message once.
//
// What every simulator shares comes from simkit, embedded in Server: fault
// injection per endpoint (latency, statuses, hangs, drops, drops after
// processing), the record of calls, limits, token issuing and expiry, an
// injectable clock, the lifecycle and the /_sim/ control endpoints.
//
//	sim := enossim.New(enossim.Options{})
//	baseURL, err := sim.Start("127.0.0.1:0")
//	defer sim.Close()
//	// point a client at baseURL with app key DefaultAppKey, secret
//	// DefaultAppSecret and orgId DefaultOrgID.
//
// What the documentation leaves open is marked [U] and is configurable
// where a test might care: the HTTP status of error replies, and the code
// and envelope of the gateway's own refusals (bad signature, expired token).
package enossim

import (
	"net/http"
	"sync"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Defaults for Options left zero: obviously fake credentials.
const (
	DefaultAppKey    = "demo-app-key"
	DefaultAppSecret = "demo-app-secret"
	DefaultOrgID     = "o-herald-demo"
)

// Endpoint names one API call, for limits, faults and records.
type Endpoint = simkit.Endpoint

// The simulated endpoints.
const (
	TokenGet     Endpoint = "token.get"      // POST /apim-token-service/v2.0/token/get
	TokenRefresh Endpoint = "token.refresh"  // POST /apim-token-service/v2.0/token/refresh
	Produce      Endpoint = "notice.produce" // POST /app-portal/api/v3/notice-message/produce?orgId=
)

// Paths of the endpoints.
const (
	TokenGetPath     = "/apim-token-service/v2.0/token/get"
	TokenRefreshPath = "/apim-token-service/v2.0/token/refresh"
	ProducePath      = "/app-portal/api/v3/notice-message/produce"
)

// MaxMessages is the most messages one produce call takes.
const MaxMessages = 100

// Options configure a Server. The zero value simulates one app
// (DefaultAppKey) in one OU (DefaultOrgID) where every user id exists.
type Options struct {
	AppKey    string // default DefaultAppKey
	AppSecret string // default DefaultAppSecret
	// OrgID is the OU the app may send to; another orgId is refused with
	// 31403.
	OrgID string // default DefaultOrgID

	// TokenTTL is an access token's lifetime. Zero means 7200 s, as
	// documented.
	TokenTTL time.Duration

	// Users are the OU's users. Nil means every user id is a user of the
	// OU except those in ForeignUsers; a message for all users (targetType
	// 0) is then recorded once with an empty User.
	Users []string
	// ForeignUsers are ids that do not exist or belong to another OU: they
	// are dropped from targets silently.
	ForeignUsers []string

	// ErrorStatus gives the HTTP status of a reply carrying an error code.
	// EnOS does not document it [U]; nil answers every error with HTTP 200
	// and the code in the body. StatusFor maps codes to their HTTP
	// meaning (31401 -> 401, 99500 -> 500, …).
	ErrorStatus func(code int) int

	// QPS limits produce calls per sliding second; refused calls get HTTP
	// 429 with code 99429 [U]. Zero or negative means no limit: EnOS
	// documents none.
	QPS int

	// Now is the clock for token expiry and limits. Nil means time.Now.
	Now func() time.Time
	// MaxRecords bounds the records and calls kept (see simkit.Log).
	MaxRecords int
}

// Server is a simulated EnOS gateway and application portal. The embedded
// Kit gives it Start, Serve, URL, Shutdown, Close, Inject, Calls, Records,
// RevokeTokens, TokensIssued, Reset and the control endpoints.
type Server struct {
	*simkit.Kit[Record]

	opts    Options
	users   map[string]bool // nil: every id not foreign
	foreign map[string]bool

	mu         sync.Mutex
	current    string                    // the app's current access token
	currentExp time.Time                 // and its expiry
	stamps     map[string]map[int64]bool // timestamps used, by access token or "get:"/"refresh:"
	messages   map[string]*message       // by messageId, in OrgID
	order      []string                  // messageIds in creation order
}

// New returns a simulator with opts, defaults filled in.
func New(opts Options) *Server {
	if opts.AppKey == "" {
		opts.AppKey = DefaultAppKey
	}
	if opts.AppSecret == "" {
		opts.AppSecret = DefaultAppSecret
	}
	if opts.OrgID == "" {
		opts.OrgID = DefaultOrgID
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 7200 * time.Second
	}
	s := &Server{opts: opts, foreign: set(opts.ForeignUsers)}
	if opts.Users != nil {
		s.users = set(opts.Users)
	}
	limits := map[Endpoint]simkit.Limit{}
	if opts.QPS > 0 {
		limits[Produce] = simkit.Limit{N: opts.QPS, Per: time.Second}
	}
	s.Kit = simkit.New[Record](simkit.Config{
		Route:      route,
		Handler:    http.HandlerFunc(s.serve),
		FaultReply: s.faultReply,
		OnReset:    s.reset,
		Now:        opts.Now,
		Limits:     limits,
		MaxRecords: opts.MaxRecords,
	})
	s.reset()
	return s
}

func (s *Server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stamps = map[string]map[int64]bool{}
	s.messages = map[string]*message{}
	s.order = nil
}

// route names the endpoint of a request by its path.
func route(r *http.Request) Endpoint {
	switch r.URL.Path {
	case TokenGetPath:
		return TokenGet
	case TokenRefreshPath:
		return TokenRefresh
	case ProducePath:
		return Produce
	}
	return ""
}

// serve answers one call the way EnOS would, once the Kit has applied any
// fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ep := route(r)
	if ep == "" {
		s.fail(w, r, ep, CodeNotFound, "no such API: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, r, ep, CodeNotFound, "method "+r.Method+" not supported")
		return
	}
	body, ok := s.readBody(w, r, ep)
	if !ok {
		return
	}
	switch ep {
	case TokenGet:
		s.tokenGet(w, r, body)
	case TokenRefresh:
		s.tokenRefresh(w, r, body)
	case Produce:
		s.produce(w, r, body)
	}
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
